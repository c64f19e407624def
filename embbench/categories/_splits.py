"""Tasks evaluated on several splits: one Data per split, scored as the mean of the splits (mteb's leaderboard).

``split_aware(evaluate_items)`` evaluates each split of a ``SplitsData`` on its own and records each split's metrics
as ``<split>_<metric>`` beside the means; a plain Data passes straight through.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SplitsData:
    """One Data per evaluated split (in the task file's order)."""

    parts: dict[str, Any]
    fingerprint: str

    @property
    def n_items(self) -> int:
        return sum(p.n_items for p in self.parts.values())


def split_aware(fn: Callable[..., tuple[dict[str, float], Any]]) -> Callable[..., tuple[dict[str, float], Any]]:
    """A category's evaluate_items that also takes SplitsData: each split is evaluated on its own, and the task's
    metrics are the means over the splits (mteb's leaderboard score of a multi-split task) plus ``<split>_<metric>``."""

    @functools.wraps(fn)
    def run(data: Any, *args: Any) -> tuple[dict[str, float], Any]:
        if not isinstance(data, SplitsData):
            return fn(data, *args)
        results = {split: fn(part, *args) for split, part in data.parts.items()}
        return combine_splits(results, {s: p.n_items for s, p in data.parts.items()})

    return run


def combine_splits(
    results: Mapping[str, tuple[dict[str, float], Any]], sizes: Mapping[str, int]
) -> tuple[dict[str, float], Any]:
    """Means over the splits, each split's own metrics, and per-item detail whose plain mean is the split mean.

    Per-item values of kind 'mean' are rescaled by N / (S * n_split) (N items in all, S splits), so that their mean
    over all items equals the mean of the split means; bootstrap intervals and paired tests then resample the items
    of both splits together. Other kinds of detail cannot be combined (None: no interval for the task).
    """
    splits = list(results)
    keys = [k for k in results[splits[0]][0] if all(k in results[s][0] for s in splits)]
    metrics = {k: float(sum(results[s][0][k] for s in splits) / len(splits)) for k in keys}
    for s in splits:
        metrics.update({f"{s}_{k}": v for k, v in results[s][0].items()})
    return metrics, _combine_items({s: results[s][1] for s in splits}, sizes)


def _combine_items(items: Mapping[str, Any], sizes: Mapping[str, int]) -> dict[str, Any] | None:
    parts = list(items.values())
    if not parts or any(not isinstance(p, dict) or p.get("kind") != "mean" for p in parts):
        return None
    total, n_splits = sum(sizes.values()), len(items)
    scale = {s: total / (n_splits * sizes[s]) for s in items}
    with_ids = all(p.get("ids") for p in parts)
    ids = [f"{s}/{i}" for s, p in items.items() for i in p["ids"]] if with_ids else None
    if all("by_metric" in p for p in parts):
        metrics = [m for m in parts[0]["by_metric"] if all(m in p["by_metric"] for p in parts)]
        by_metric = {m: [v * scale[s] for s, p in items.items() for v in p["by_metric"][m]] for m in metrics}
        out = {"kind": "mean", "ids": ids, "by_metric": by_metric}
        if all("run" in p for p in parts):  # stored rankings (retrieval, reranking): query ids as "<split>/<id>"
            out["run"] = {f"{s}/{q}": docs for s, p in items.items() for q, docs in p["run"].items()}
        return out
    if all("values" in p for p in parts) and len({p.get("metric") for p in parts}) == 1:
        values = [v * scale[s] for s, p in items.items() for v in p["values"]]
        out = {"kind": "mean", "metric": parts[0].get("metric"), "values": values}
        if ids is not None:
            out["ids"] = ids
        return out
    return None
