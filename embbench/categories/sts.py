"""STS: Spearman correlation between gold scores and the cosine similarity of the two texts (mteb's protocol)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embbench.categories._common import Columns, Embed, pairwise_cosine, pairwise_similarity
from embbench.errors import UserError

VERSION = 1  # protocol version: bump when DEFAULTS or the scoring change, so stored results are recomputed
MAIN_METRIC = "cosine_spearman"
METRICS = tuple(f"{p}{m}" for p in ("cosine_", "manhattan_", "euclidean_", "") for m in ("pearson", "spearman"))
DEFAULTS: dict[str, Any] = {"similarity_fn": "cosine"}


@dataclass(frozen=True)
class Data:
    """Sentence pairs with a gold similarity score, and the score range (declared, or the data's own)."""

    sentences1: list[str]
    sentences2: list[str]
    scores: list[float]
    score_range: tuple[float, float]
    fingerprint: str

    @property
    def n_items(self) -> int:
        return len(self.scores)


def to_data(columns: Columns, where: Path | str) -> Data:
    """Data from the columns sentence1, sentence2, score and the task's score_range (None: the gold scores' own
    min and max; the normalisation is linear, so the correlations do not depend on it)."""
    v = columns.values
    scores = [float(s) for s in v["score"]]
    at = columns.where("score", where)
    score_range = v.get("score_range")
    if score_range is None:
        score_range = (min(scores), max(scores))
    lo, hi = score_range
    for i, s in enumerate(scores):
        if not lo <= s <= hi:
            raise UserError(
                f"{at} row {i + 1}",
                f"score {s} is outside score_range [{lo:g}, {hi:g}]",
                field="score",
                fix=f"correct the score or the task's score_range in {where}",
            )
    if len(set(scores)) < 2:
        raise UserError(at, "all gold scores are equal; a correlation is undefined", field="score")
    return Data(list(v["sentence1"]), list(v["sentence2"]), scores, (float(lo), float(hi)), columns.fingerprint)


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
