"""Helpers shared by category modules: the embed callable's type, neutral columns, option merging, similarities."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embbench.errors import UserError

Role = Literal["query", "document"] | None  # the one Role type (spec.prompts and encode use it too)
Embed = Callable[[Sequence[str], Role], np.ndarray]
# rank(queries, documents, candidate indices per query or None, top_k) -> per query {doc index: score}
RankFn = Callable[[list[str], list[str], "list[list[int]] | None", int], list[dict[int, float]]]


@dataclass(frozen=True)
class Columns:
    """A task's rows as plain Python values by name (the names a category's ``to_data`` documents), as the data
    layer read them from local files or converted them from the hub; a category builds its Data from them."""

    values: Mapping[str, Any]
    fingerprint: str  # sha256 of what was read: the data files' bytes, or the converted hub content
    origin: Mapping[str, str] = field(default_factory=dict)  # value name -> the file it came from (error messages)

    def where(self, name: str, default: Path | str) -> str:
        """The file a value came from, for an error message (the task file when unknown)."""
        return self.origin.get(name, str(default))


def check_value(default: Any, value: Any, where: Path | str, field_name: str) -> Any:
    """One rule for a user value against its default's type: bool only for bool, a whole or decimal number for a
    float (kept as a float), an int (not a bool) for an int, any value where the default is None."""
    if default is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        kind = type(default).__name__
        raise UserError(
            where,
            f"expected {kind}, got {value!r}",
            field=field_name,
            fix=f"give a {kind} (the default is {default!r})",
        )
    return float(value) if isinstance(default, float) else value


def merge_options(
    defaults: Mapping[str, Any],
    given: Mapping[str, Any],
    where: Path | str,
    prefix: str = "params",
    what: str = "protocol parameter",
    owner: str = "",
) -> dict[str, Any]:
    """Defaults overridden by the user's values (a task's params, a backend's options): unknown keys and wrong
    types are user errors naming ``<prefix>.<key>`` (``owner``, e.g. " for backend 'bm25'", ends the message)."""
    out = dict(defaults)
    for key, value in given.items():
        if key not in defaults:
            raise UserError(
                where,
                f"unknown {what} '{key}'{owner}",
                field=f"{prefix}.{key}",
                fix=f"use one of: {', '.join(sorted(defaults))}" if defaults else f"remove '{prefix}'",
            )
        out[key] = check_value(defaults[key], value, where, f"{prefix}.{key}")
    return out


def require_min_per_class(labels: Sequence[str], minimum: int, where: Path | str, field_name: str = "label") -> None:
    """Each class needs at least `minimum` examples for the protocol to be meaningful."""
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    few = sorted((c, lab) for lab, c in counts.items() if c < minimum)
    if few:
        c, lab = few[0]
        raise UserError(
            where,
            f"class '{lab}' has {c} example(s); the protocol needs at least {minimum} per class",
            field=field_name,
            fix="add examples of that class or remove it",
        )


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
