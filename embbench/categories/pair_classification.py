"""Pair classification: similarity of the two texts as a classifier score (mteb's protocol), max AP."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embbench.categories._common import Columns, Embed, pairwise_cosine, pairwise_similarity
from embbench.errors import UserError

VERSION = 1  # protocol version: bump when DEFAULTS or the scoring change, so stored results are recomputed
MAIN_METRIC = "max_ap"
_MEASURES = ("accuracy", "f1", "precision", "recall", "ap")
METRICS = tuple(f"{v}_{m}" for v in ("similarity", "cosine", "manhattan", "euclidean", "dot", "max") for m in _MEASURES)
DEFAULTS: dict[str, Any] = {"similarity_fn": "cosine"}


@dataclass(frozen=True)
class Data:
    """Sentence pairs with a 0/1 label."""

    sentences1: list[str]
    sentences2: list[str]
    labels: list[int]
    fingerprint: str

    @property
    def n_items(self) -> int:
        return len(self.labels)


def to_data(columns: Columns, where: Path | str) -> Data:
    """Data from the columns sentence1, sentence2 and label (0/1); both labels must occur."""
    v = columns.values
    labels = [int(x) for x in v["label"]]
    if len(set(labels)) < 2:
        raise UserError(columns.where("label", where), "pair classification needs both labels 0 and 1", field="label")
    return Data(list(v["sentence1"]), list(v["sentence2"]), labels, columns.fingerprint)


def best_accuracy(scores: np.ndarray, labels: np.ndarray, high_is_similar: bool) -> float:
    """Best accuracy over thresholds between distinct sorted scores (mteb's sweep)."""
    rows = sorted(zip(scores.tolist(), labels.tolist(), strict=True), key=lambda x: x[0], reverse=high_is_similar)
    best, positives, remaining_neg = 0.0, 0, int((labels == 0).sum())
    for i in range(len(rows) - 1):
        score, lab = rows[i]
        if lab == 1:
            positives += 1
        else:
            remaining_neg -= 1
        if score == rows[i + 1][0]:
            continue
        best = max(best, (positives + remaining_neg) / len(labels))
    return best


def best_f1(scores: np.ndarray, labels: np.ndarray, high_is_similar: bool) -> tuple[float, float, float]:
    """Best F1 (with its precision and recall) over thresholds between distinct sorted scores."""
    rows = sorted(zip(scores.tolist(), labels.tolist(), strict=True), key=lambda x: x[0], reverse=high_is_similar)
    best = (0.0, 0.0, 0.0)
    correct, total = 0, int(labels.sum())
    for i, (score, lab) in enumerate(rows[:-1]):
        if lab == 1:
            correct += 1
        if score == rows[i + 1][0]:
            continue
        if correct > 0:
            precision, recall = correct / (i + 1), correct / total
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best[0]:
                best = (f1, precision, recall)
    return best


def evaluate(data: Data, embed: Embed, params: dict[str, Any]) -> dict[str, float]:
    """Accuracy/F1/precision/recall/AP for five similarity variants; max_* over them."""
    return evaluate_items(data, embed, params)[0]


def evaluate_items(data: Data, embed: Embed, params: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics and the per-item detail that confidence intervals and paired tests resample."""

    from sklearn.metrics import average_precision_score
    from sklearn.metrics.pairwise import paired_euclidean_distances, paired_manhattan_distances

    e1 = embed(data.sentences1, None)
    e2 = embed(data.sentences2, None)
    labels = np.asarray(data.labels, dtype=np.int64)
    variants = [
        ("similarity", pairwise_similarity(e1, e2, params["similarity_fn"]), True),
        ("cosine", pairwise_cosine(e1, e2), True),
        ("manhattan", paired_manhattan_distances(e1, e2), False),
        ("euclidean", paired_euclidean_distances(e1, e2), False),
        ("dot", np.asarray([np.dot(e1[i], e2[i]) for i in range(len(e1))]), True),
    ]
    out: dict[str, float] = {}
    signed: dict[str, list[float]] = {}
    best: dict[str, list[float]] = {m: [] for m in ("accuracy", "f1", "precision", "recall", "ap")}
    for name, scores, high in variants:
        scores = np.asarray(scores, dtype=np.float64)
        acc = best_accuracy(scores, labels, high)
        f1, precision, recall = best_f1(scores, labels, high)
        signed[name] = (scores * (1 if high else -1)).tolist()
        ap = float(average_precision_score(labels, signed[name]))
        for metric, value in (("accuracy", acc), ("f1", f1), ("precision", precision), ("recall", recall), ("ap", ap)):
            out[f"{name}_{metric}"] = float(value)
            best[metric].append(float(value))
    out.update({f"max_{m}": max(v) for m, v in best.items()})
    return out, {"kind": "max_ap", "metric": "max_ap", "labels": labels.tolist(), "variants": signed}
