"""Multilabel classification: kNN (k=5) on undersampled train embeddings (mteb's protocol), exact-match accuracy."""

from __future__ import annotations

import itertools
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embbench.categories._common import Columns, Embed
from embbench.errors import UserError

VERSION = 1  # protocol version: bump when DEFAULTS or the scoring change, so stored results are recomputed
MAIN_METRIC = "accuracy"
METRICS = ("accuracy", "lrap", "f1", "hamming")
DEFAULTS: dict[str, Any] = {
    "n_experiments": 10,
    "samples_per_label": 8,
    "seed": 42,
    "n_neighbors": 5,
    "max_eval_samples": 3000,
}


@dataclass(frozen=True)
class Data:
    """Train and test texts with their label lists (a list may be empty)."""

    train_texts: list[str]
    train_labels: list[list[str]]
    test_texts: list[str]
    test_labels: list[list[str]]
    fingerprint: str

    @property
    def n_items(self) -> int:
        return len(self.test_texts)


def to_data(columns: Columns, where: Path | str) -> Data:
    """Data from the columns train_text, train_labels, test_text, test_labels (lists of class names, maybe empty);
    some training row must have a label."""
    v = columns.values
    train_labels = [list(x) for x in v["train_labels"]]
    if not any(train_labels):
        raise UserError(
            columns.where("train_labels", where),
            "no training row has any label",
            field="labels",
            fix="add labelled rows",
        )
    test_labels = [list(x) for x in v["test_labels"]]
    return Data(list(v["train_text"]), train_labels, list(v["test_text"]), test_labels, columns.fingerprint)


def undersample(labels: list[list[str]], samples_per_label: int, rng: np.random.Generator) -> list[Any]:
    """mteb's sampler: shuffle with the shared Generator, keep a row while any of its labels is under quota (the
    indices are numpy integers, as mteb's)."""
    idxs = list(np.arange(len(labels)))
    rng.shuffle(idxs)
    counter: dict[str, int] = defaultdict(int)
    chosen = []
    for i in idxs:
        if any(counter[lab] < samples_per_label for lab in labels[i]):
            chosen.append(i)
            for lab in labels[i]:
                counter[lab] += 1
    return chosen


def evaluate(data: Data, embed: Embed, params: dict[str, Any]) -> dict[str, float]:
    """Mean over experiments of subset accuracy, LRAP, macro F1 and Hamming score of a kNN classifier."""
    return evaluate_items(data, embed, params)[0]


def evaluate_items(data: Data, embed: Embed, params: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics and the per-item detail that confidence intervals and paired tests resample."""

    from sklearn.base import clone
    from sklearn.metrics import f1_score, label_ranking_average_precision_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    if params["max_eval_samples"] is not None and len(data.test_texts) > params["max_eval_samples"]:
        raise UserError(
            "params.max_eval_samples",
            f"the test split has {len(data.test_texts)} rows, more than "
            f"max_eval_samples={params['max_eval_samples']}; mteb would subsample it by iterative stratification, "
            "which embbench does not reproduce",
            fix="subsample the test file, or raise max_eval_samples",
        )
    rng = np.random.default_rng(params["seed"])
    samples = [undersample(data.train_labels, params["samples_per_label"], rng) for _ in range(params["n_experiments"])]
    unique = list(set(itertools.chain.from_iterable(samples)))
    vecs = dict(zip(unique, embed([data.train_texts[i] for i in unique], None), strict=True))
    x_test = embed(data.test_texts, None)
    binarizer = MultiLabelBinarizer()
    y_test = binarizer.fit_transform(data.test_labels)
    base = KNeighborsClassifier(n_neighbors=params["n_neighbors"])
    per_exp = []
    exact = np.zeros(len(y_test))
    for chosen in samples:
        x_train = np.stack([vecs[i] for i in chosen])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # labels seen only in train are dropped, as in mteb
            y_train = binarizer.transform([data.train_labels[i] for i in chosen])
        clf = clone(base).fit(x_train, y_train)
        y_pred = clf.predict(x_test)
        exact += (y_pred == y_test).all(axis=1)
        per_exp.append(
            {
                "accuracy": float(clf.score(x_test, y_test)),
                "lrap": float(label_ranking_average_precision_score(y_test, y_pred)),
                "f1": float(f1_score(y_test, y_pred, average="macro")),
                "hamming": hamming_score(y_test, y_pred),
            }
        )
    metrics = {k: float(np.mean([s[k] for s in per_exp])) for k in per_exp[0]}
    return metrics, {"kind": "mean", "metric": "accuracy", "values": (exact / len(samples)).tolist()}


def hamming_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Per-sample |true ∩ pred| / |true ∪ pred| averaged; 1.0 where both are empty (mteb's definition)."""
    inter = np.logical_and(y_true, y_pred).sum(axis=1)
    union = np.logical_or(y_true, y_pred).sum(axis=1)
    per = np.where(union == 0, 1.0, inter / np.maximum(union, 1))
    return float(per.mean())
