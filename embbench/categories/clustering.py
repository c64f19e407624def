"""Clustering: mteb's bootstrapped MiniBatchKMeans ("fast" clustering), V-measure."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embbench.categories._common import Columns, Embed
from embbench.errors import UserError

VERSION = 1  # protocol version: bump when DEFAULTS or the scoring change, so stored results are recomputed
MAIN_METRIC = "v_measure"
METRICS = ("v_measure", "v_measure_std", "ami", "ami_std")
DEFAULTS: dict[str, Any] = {
    "seed": 42,
    "max_document_to_embed": 2048,
    "max_fraction_of_documents_to_embed": None,
    "n_clusters": 10,  # number of bootstrap runs (mteb's name)
    "max_documents_per_cluster": 16384,
    "k_mean_batch_size": 512,
}


@dataclass(frozen=True)
class Data:
    """Texts with their gold cluster label."""

    texts: list[str]
    labels: list[str]
    fingerprint: str

    @property
    def n_items(self) -> int:
        return len(self.texts)


def to_data(columns: Columns, where: Path | str) -> Data:
    """Data from the columns text and label (the gold cluster); two labels or more."""
    v = columns.values
    labels = list(v["label"])
    if len(set(labels)) < 2:
        raise UserError(columns.where("label", where), "clustering needs at least two distinct labels", field="label")
    return Data(list(v["text"]), labels, columns.fingerprint)


def evaluate(data: Data, embed: Embed, params: dict[str, Any]) -> dict[str, float]:
    """Sample documents, embed them, then k-means on bootstrap draws (with replacement) scored by V-measure and AMI."""
    return evaluate_items(data, embed, params)[0]


def evaluate_items(data: Data, embed: Embed, params: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics and the per-item detail that confidence intervals and paired tests resample."""

    from sklearn.cluster import MiniBatchKMeans
    from sklearn.metrics import adjusted_mutual_info_score, v_measure_score

    rng = random.Random(params["seed"])
    n = len(data.texts)
    if params["max_document_to_embed"] is not None and params["max_fraction_of_documents_to_embed"] is not None:
        raise UserError("params", "set only one of max_document_to_embed and max_fraction_of_documents_to_embed")
    if params["max_fraction_of_documents_to_embed"] is not None:
        k = min(n, int(params["max_fraction_of_documents_to_embed"] * n))
        indices = rng.sample(range(n), k=k)
    elif params["max_document_to_embed"] is not None:
        indices = rng.sample(range(n), k=min(n, params["max_document_to_embed"]))
    else:
        indices = list(range(n))
    vectors = embed([data.texts[i] for i in indices], None)
    labels = np.array([data.labels[i] for i in indices])
    model = MiniBatchKMeans(
        n_clusters=np.unique(labels).size,
        batch_size=params["k_mean_batch_size"],
        init="k-means++",
        n_init=1,
        random_state=params["seed"],
    )
    v_measures, amis = [], []
    for _ in range(params["n_clusters"]):
        draw = rng.choices(range(len(vectors)), k=params["max_documents_per_cluster"])
        assigned = model.fit_predict(vectors[draw])
        v_measures.append(float(v_measure_score(labels[draw], assigned)))
        amis.append(float(adjusted_mutual_info_score(labels[draw], assigned)))
    metrics = {
        "v_measure": float(np.mean(v_measures)),
        "v_measure_std": float(np.std(v_measures)),
        "ami": float(np.mean(amis)),
        "ami_std": float(np.std(amis)),
    }
    # not decomposable over documents: the interval comes from the protocol's own bootstrap runs
    return metrics, {"kind": "runs", "metric": "v_measure", "values": v_measures}
