"""Helpers shared by category modules: the embed callable's type and parameter merging."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embbench.errors import UserError

Role = Literal["query", "document"] | None
Embed = Callable[[Sequence[str], Role], np.ndarray]
# rank(queries, documents, candidate indices per query or None, top_k) -> per query {doc index: score}
Ranker = Callable[[list[str], list[str], "list[list[int]] | None", int], list[dict[int, float]]]


def merge_params(defaults: Mapping[str, Any], given: Mapping[str, Any], where: Path | str) -> dict[str, Any]:
    """Defaults overridden by a task's params; unknown keys and wrong types are user errors."""
    out = dict(defaults)
    for key, value in given.items():
        if key not in defaults:
            raise UserError(
                where,
                f"unknown protocol parameter '{key}'",
                field=f"params.{key}",
                fix=f"use one of: {', '.join(sorted(defaults))}",
            )
        default = defaults[key]
        if (
            default is not None
            and not isinstance(value, type(default))
            and not (isinstance(default, float) and isinstance(value, int))
        ):
            raise UserError(where, f"expected {type(default).__name__}, got {value!r}", field=f"params.{key}")
        if isinstance(value, bool) != isinstance(default, bool) and default is not None:
            raise UserError(where, f"expected {type(default).__name__}, got {value!r}", field=f"params.{key}")
        out[key] = value
    return out


def pairwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two equally shaped matrices."""
    from sklearn.metrics.pairwise import paired_cosine_distances

    return 1 - paired_cosine_distances(a, b)


def pairwise_similarity(a: np.ndarray, b: np.ndarray, fn: str) -> np.ndarray:
    """Row-wise similarity with the model's own similarity function (as mteb's similarity_pairwise)."""
    import torch
    from sentence_transformers import util

    ta, tb = torch.from_numpy(np.asarray(a, dtype=np.float32)), torch.from_numpy(np.asarray(b, dtype=np.float32))
    funcs = {
        "cosine": util.pairwise_cos_sim,
        "dot": util.pairwise_dot_score,
        "euclidean": util.pairwise_euclidean_sim,
        "manhattan": util.pairwise_manhattan_sim,
    }
    return funcs[fn](ta, tb).numpy()
