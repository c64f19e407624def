"""STS: Spearman correlation between gold scores and the cosine similarity of the two texts (mteb's protocol)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from embbench.categories._common import Embed, pairwise_cosine, pairwise_similarity
from embbench.data.files import fingerprint, number, read_split, text
from embbench.errors import UserError
from embbench.spec.config import TaskSpec

MAIN_METRIC = "cosine_spearman"
DEFAULTS: dict[str, Any] = {"similarity_fn": "cosine"}


@dataclass(frozen=True)
class Data:
    """Sentence pairs with a gold similarity score, and the declared score range."""

    sentences1: list[str]
    sentences2: list[str]
    scores: list[float]
    score_range: tuple[float, float]
    fingerprint: str

    @property
    def n_items(self) -> int:
        return len(self.scores)


def load(task: TaskSpec) -> Data:
    """Read the eval file with columns sentence1, sentence2, score; scores must lie in score_range."""
    if task.hub is not None:  # --- hub task (ruMTEB suite): the Hugging Face dataset via mteb's task class ---
        from embbench.data.hub import load as load_hub

        return load_hub(task)
    path, rows = read_split(task.data, task.eval_split, {"sentence1": text, "sentence2": text, "score": number})
    assert task.score_range is not None  # config.load_task requires it for sts
    lo, hi = task.score_range
    for i, r in enumerate(rows):
        if not lo <= r["score"] <= hi:
            raise UserError(
                f"{path} row {i + 1}",
                f"score {r['score']} is outside score_range [{lo:g}, {hi:g}]",
                field="score",
                fix=f"correct the score or the task's score_range in {task.file}",
            )
    if len({r["score"] for r in rows}) < 2:
        raise UserError(path, "all gold scores are equal; a correlation is undefined", field="score")
    return Data(
        [r["sentence1"] for r in rows],
        [r["sentence2"] for r in rows],
        [r["score"] for r in rows],
        task.score_range,
        fingerprint([path]),
    )


def evaluate(data: Data, embed: Embed, params: dict[str, Any]) -> dict[str, float]:
    """Pearson and Spearman of gold vs cosine, negated Manhattan/Euclidean and the model's similarity."""
    return evaluate_items(data, embed, params)[0]


def evaluate_items(data: Data, embed: Embed, params: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics and the per-item detail that confidence intervals and paired tests resample."""

    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics.pairwise import paired_euclidean_distances, paired_manhattan_distances

    e1 = embed(data.sentences1, None)
    e2 = embed(data.sentences2, None)
    lo, hi = data.score_range
    gold = [(s - lo) / (hi - lo) for s in data.scores]
    variants = {
        "cosine": pairwise_cosine(e1, e2),
        "manhattan": -paired_manhattan_distances(e1, e2),
        "euclidean": -paired_euclidean_distances(e1, e2),
        "": pairwise_similarity(e1, e2, params["similarity_fn"]),
    }
    out: dict[str, float] = {}
    for name, sims in variants.items():
        prefix = f"{name}_" if name else ""
        sims = np.asarray(sims, dtype=np.float64)
        out[f"{prefix}pearson"] = float(pearsonr(gold, sims)[0])
        out[f"{prefix}spearman"] = float(spearmanr(gold, sims)[0])
    items = {"kind": "spearman", "metric": "cosine_spearman", "gold": gold, "values": variants["cosine"].tolist()}
    return out, items
