"""Classification: logistic regression on undersampled train embeddings (mteb's protocol), accuracy."""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embbench.categories._common import Columns, Embed, require_min_per_class
from embbench.errors import UserError

VERSION = 1  # protocol version: bump when DEFAULTS or the scoring change, so stored results are recomputed
MAIN_METRIC = "accuracy"
_AVERAGED = ("f1", "precision", "recall")
METRICS = ("accuracy", *(f"{m}{a}" for m in _AVERAGED for a in ("", "_weighted")), "ap", "ap_weighted")  # ap*: binary
DEFAULTS: dict[str, Any] = {"n_experiments": 10, "samples_per_label": 8, "seed": 42, "max_iter": 100}


@dataclass(frozen=True)
class Data:
    """Train and test texts with their class names."""

    train_texts: list[str]
    train_labels: list[str]
    test_texts: list[str]
    test_labels: list[str]
    fingerprint: str

    @property
    def n_items(self) -> int:
        return len(self.test_texts)


def to_data(columns: Columns, where: Path | str) -> Data:
    """Data from the columns train_text, train_label, test_text, test_label (class names); the training data needs
    two classes or more, each with two examples or more."""
    v = columns.values
    train_labels = list(v["train_label"])
    at = columns.where("train_label", where)
    require_min_per_class(train_labels, 2, at)
    if len(set(train_labels)) < 2:
        raise UserError(at, "only one class in the training data", field="label", fix="add other classes")
    return Data(list(v["train_text"]), train_labels, list(v["test_text"]), list(v["test_label"]), columns.fingerprint)


def undersample(labels: list[int], n_experiments: int, samples_per_label: int, seed: int) -> list[list[int]]:
    """mteb's training subsets: one index list, reshuffled in place by a fresh RandomState(seed) per experiment."""
    idxs = list(range(len(labels)))
    selections = []
    for _ in range(n_experiments):
        np.random.RandomState(seed).shuffle(idxs)
        counter: dict[int, int] = defaultdict(int)
        chosen = []
        for i in idxs:
            if counter[labels[i]] < samples_per_label:
                chosen.append(i)
                counter[labels[i]] += 1
        selections.append(chosen)
    return selections


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy, macro/weighted F1, precision, recall (and AP for binary tasks), as mteb reports them."""
    from sklearn.metrics import accuracy_score, average_precision_score, f1_score, precision_score, recall_score

    out = {
        "accuracy": accuracy_score(y_true, y_pred),
        "f1": f1_score(y_true, y_pred, average="macro"),
        "f1_weighted": f1_score(y_true, y_pred, average="weighted"),
        "precision": precision_score(y_true, y_pred, average="macro", zero_division=0),
        "precision_weighted": precision_score(y_true, y_pred, average="weighted", zero_division=0),
        "recall": recall_score(y_true, y_pred, average="macro"),
        "recall_weighted": recall_score(y_true, y_pred, average="weighted"),
    }
    if len(np.unique(y_true)) == 2:
        out["ap"] = average_precision_score(y_true, y_pred, average="macro")
        out["ap_weighted"] = average_precision_score(y_true, y_pred, average="weighted")
    return {k: float(v) for k, v in out.items()}


def evaluate(data: Data, embed: Embed, params: dict[str, Any]) -> dict[str, float]:
    """Mean over experiments of the metrics of a LogisticRegression fit on each undersampled train set."""
    return evaluate_items(data, embed, params)[0]


def evaluate_items(data: Data, embed: Embed, params: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics and the per-item detail that confidence intervals and paired tests resample."""

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    names = sorted(set(data.train_labels) | set(data.test_labels))
    ids = {n: i for i, n in enumerate(names)}
    y_train = np.array([ids[v] for v in data.train_labels])
    y_test = np.array([ids[v] for v in data.test_labels])
    selections = undersample(list(y_train), params["n_experiments"], params["samples_per_label"], params["seed"])
    union = sorted(set().union(*selections))
    pos = {j: k for k, j in enumerate(union)}
    x_union = embed([data.train_texts[i] for i in union], None)
    x_test = embed(data.test_texts, None)
    per_exp = []
    correct = np.zeros(len(y_test))
    for chosen in selections:
        clf = LogisticRegression(max_iter=params["max_iter"], random_state=params["seed"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(x_union[[pos[j] for j in chosen]], y_train[chosen])
        pred = clf.predict(x_test)
        per_exp.append(scores(y_test, pred))
        correct += pred == y_test
    metrics = {k: float(np.mean([s[k] for s in per_exp])) for k in per_exp[0]}
    # accuracy = mean over items of the share of experiments that got the item right
    return metrics, {"kind": "mean", "metric": "accuracy", "values": (correct / len(selections)).tolist()}
