"""Uncertainty and ranking: bootstrap confidence intervals, paired tests, Borda ranks, ties with the best model.

Every function works on the per-item detail a result keeps of its main metric (``TaskResult.items``):

- ``{"kind": "mean", "values": [...], "ids": [...]?}``: the score is the mean of the values (classification and
  multilabel: share of experiments that got each test item right; retrieval and reranking: the metric per query);
- ``{"kind": "spearman", "gold": [...], "values": [...]}``: the score is Spearman(gold, values) over pairs;
- ``{"kind": "max_ap", "labels": [...], "variants": {name: [signed scores]}}``: the score is the best average
  precision over the similarity variants (sklearn's ``average_precision_score``, ties included);
- ``{"kind": "runs", "values": [...]}``: clustering's own bootstrap runs; the score is their mean and is not
  decomposable over documents, so the interval is the percentile interval of the runs themselves.

Scores stay in the metric's own scale (0..1). Resampling is seeded: the same input gives the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

Items = Mapping[str, Any]

CHUNK = 250  # resamples evaluated at once (bounds memory: CHUNK x n items)


# ------------------------------------------------------------------------------------------ point estimates


def point_estimate(items: Items) -> float:
    """The main score the items give (equals the result file's main_score up to float rounding)."""
    kind = items["kind"]
    if kind in ("mean", "runs"):
        return float(np.mean(np.asarray(items["values"], dtype=np.float64)))
    n = _length(items)
    return float(_statistic(items, np.arange(n)[None, :])[0])


def _length(items: Items) -> int:
    kind = items["kind"]
    if kind == "max_ap":
        return len(items["labels"])
    return len(items["values"])


def _statistic(items: Items, idx: np.ndarray) -> np.ndarray:
    """The score on each row of resampled item indices idx (shape: resamples x n)."""
    kind = items["kind"]
    if kind == "mean":
        return np.asarray(items["values"], dtype=np.float64)[idx].mean(axis=1)
    # a resample is a multiset of items: weight = how often each item was drawn (duplicates tie exactly, so a
    # weighted statistic over the original items equals the statistic over the resampled list)
    weights = _counts(idx, _length(items))
    if kind == "spearman":
        gold = np.asarray(items["gold"], dtype=np.float64)
        values = np.asarray(items["values"], dtype=np.float64)
        return _weighted_pearson(_weighted_ranks(gold, weights), _weighted_ranks(values, weights), weights)
    if kind == "max_ap":
        labels = np.asarray(items["labels"], dtype=np.float64)
        best = np.full(idx.shape[0], -np.inf)
        for scores in items["variants"].values():
            best = np.fmax(best, _weighted_ap(np.asarray(scores, dtype=np.float64), labels, weights))
        return best
    raise ValueError(f"cannot resample items of kind '{kind}'")


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """Row-wise draw counts of each item (resamples x n)."""
    b = idx.shape[0]
    flat = (idx + n * np.arange(b)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def _weighted_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each item's average rank (1-based, ties averaged) within each weighted resample."""
    order = np.argsort(values, kind="stable")
    s = values[order]
    new = np.r_[True, s[1:] != s[:-1]]
    group = np.empty(values.size, dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    per_group = np.add.reduceat(weights[:, order], np.flatnonzero(new), axis=1)
    rank = np.cumsum(per_group, axis=1) - per_group + (per_group + 1) / 2
    return rank[:, group]


def _weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    total = w.sum(axis=1, keepdims=True)
    dx = x - (w * x).sum(axis=1, keepdims=True) / total
    dy = y - (w * y).sum(axis=1, keepdims=True) / total
    den = np.sqrt((w * dx * dx).sum(axis=1) * (w * dy * dy).sum(axis=1))
    num = (w * dx * dy).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _weighted_ap(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sklearn's average_precision_score(labels, scores, sample_weight=w) for each row w of weights (integer
    counts): the sum over distinct thresholds, highest first, of recall step x precision there."""
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    w = weights[:, order]
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])  # last position of each distinct threshold
    tp = np.cumsum(w * labels[order], axis=1)[:, ends]
    seen = np.cumsum(w, axis=1)[:, ends]
    step = tp.copy()
    step[:, 1:] -= tp[:, :-1]
    total = tp[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (step * tp / np.maximum(seen, 1.0)).sum(axis=1) / total, np.nan)


def _resamples(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Chunks of bootstrap index rows (with replacement), reproducible for a seed."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_resamples:
        b = min(CHUNK, n_resamples - done)
        yield rng.integers(0, n, size=(b, n))
        done += b


class Resampler:
    """Bootstrap distributions of item-level scores, each computed once per items object.

    Every distribution of n items uses the same seeded draws, so two models' distributions over the same items
    (in the same order) are paired: the interval of each model and the paired test of two models reuse them.
    """

    def __init__(self, n_resamples: int = 1000, seed: int = 0) -> None:
        self.n_resamples = n_resamples
        self.seed = seed
        self._cache: dict[int, tuple[Items, np.ndarray]] = {}

    def distribution(self, items: Items) -> np.ndarray:
        """The score on each resample (kind runs: the runs themselves)."""
        hit = self._cache.get(id(items))
        if hit is not None and hit[0] is items:
            return hit[1]
        if items["kind"] == "runs":
            values = np.asarray(items["values"], dtype=np.float64)
        else:
            n = _length(items)
            values = np.concatenate([_statistic(items, idx) for idx in _resamples(n, self.n_resamples, self.seed)])
        self._cache[id(items)] = (items, values)  # the items are kept alive, so their id stays theirs
        return values

    def ci(self, items: Items | None, alpha: float = 0.05) -> tuple[float, float] | None:
        if not items or _length(items) == 0:
            return None
        values = self.distribution(items)
        values = values[np.isfinite(values)]
        if values.size == 0:
            return None
        low, high = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        return float(low), float(high)

    def paired(self, items_a: Items | None, items_b: Items | None) -> float | None:
        pair = aligned(items_a, items_b)
        if pair is None:
            return None
        a, b = pair
        if a["kind"] == "runs":
            return _welch(np.asarray(a["values"], dtype=np.float64), np.asarray(b["values"], dtype=np.float64))
        d = point_estimate(a) - point_estimate(b)
        ds = self.distribution(a) - self.distribution(b)
        extreme = int(np.count_nonzero(np.abs(ds - d) >= abs(d)))
        return (1 + extreme) / (1 + self.n_resamples)


# ------------------------------------------------------------------------------------------ public API


def bootstrap_ci(
    items: Items | None, n_resamples: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float] | None:
    """Percentile bootstrap interval (1 - alpha) of the main score, resampling items with replacement.

    mean: resample the values; spearman: resample (gold, value) pairs; max_ap: resample labelled pairs and take
    the best variant on each resample; runs: the percentiles of the protocol's own runs (no resampling).
    None when there is no per-item detail.
    """
    return Resampler(n_resamples, seed).ci(items, alpha)


def aligned(items_a: Items | None, items_b: Items | None) -> tuple[Items, Items] | None:
    """The two item lists in the same item order, or None when they are not the same items.

    Same kind and metric, same length; with ids, the same set of ids (b is reordered to a's order); spearman
    needs the same gold scores and max_ap the same labels and variants.
    """
    if not items_a or not items_b:
        return None
    if items_a["kind"] != items_b["kind"] or items_a.get("metric") != items_b.get("metric"):
        return None
    if _length(items_a) != _length(items_b):
        return None
    kind = items_a["kind"]
    ids_a, ids_b = items_a.get("ids"), items_b.get("ids")
    if ids_a is not None and ids_b is not None and list(ids_a) != list(ids_b):
        if len(set(ids_a)) != len(ids_a) or set(ids_a) != set(ids_b):
            return None
        where = {i: k for k, i in enumerate(ids_b)}
        order = [where[i] for i in ids_a]
        items_b = {**items_b, "ids": list(ids_a), "values": [items_b["values"][k] for k in order]}
    if kind == "spearman" and list(items_a["gold"]) != list(items_b["gold"]):
        return None
    if kind == "max_ap" and (
        list(items_a["labels"]) != list(items_b["labels"]) or set(items_a["variants"]) != set(items_b["variants"])
    ):
        return None
    return items_a, items_b


def paired_test(items_a: Items | None, items_b: Items | None, n_resamples: int = 1000, seed: int = 0) -> float | None:
    """Two-sided p-value that a and b score the same on the same items; None when they are not the same items.

    Paired bootstrap (the same resampled items score both models): with d the observed score difference and d*
    its value on each resample, p = (1 + #{|d* - d| >= |d|}) / (1 + n_resamples), i.e. the resampled
    differences are centred on d to approximate the null distribution (Berg-Kirkpatrick et al. 2012, Koehn
    2004). A model compared with itself gets p = 1.

    kind "runs" (clustering) cannot be resampled per item: Welch's t-test on the two sets of protocol runs
    (conservative: runs under the same seed use the same document draws for every model, which a paired test
    could exploit, but k-means noise is not paired).
    """
    return Resampler(n_resamples, seed).paired(items_a, items_b)


def _welch(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import ttest_ind

    if a.size < 2 or b.size < 2:
        return 1.0 if np.array_equal(a, b) else math.nan
    if np.var(a) == 0 and np.var(b) == 0:
        return 1.0 if a.mean() == b.mean() else 0.0
    return float(ttest_ind(a, b, equal_var=False).pvalue)


def borda_ranks(scores: Mapping[str, Mapping[str, float | None]]) -> dict[str, int]:
    """Borda rank per model as mteb's leaderboard computes it (mteb.benchmarks._create_table._get_borda_rank).

    n = number of models (every model that appears under any task). On each task the models with a score are
    ranked, higher is better, ties sharing the average rank; a model earns n - rank points there (0 for a
    task it lacks or where it is n/a). Points are summed and ranked again, ties sharing the best ("min") rank:
    1 = most points.
    """
    models = sorted({m for per_task in scores.values() for m in per_task})
    n = len(models)
    points = dict.fromkeys(models, 0.0)
    for per_task in scores.values():
        present = {m: float(s) for m, s in per_task.items() if s is not None and not math.isnan(float(s))}
        for m, r in _average_ranks_desc(present).items():
            points[m] += n - r
    return {m: 1 + sum(1 for o in models if points[o] > points[m]) for m in models}


def _average_ranks_desc(values: Mapping[str, float]) -> dict[str, float]:
    """1-based ranks, highest value first, ties get the mean of the ranks they span."""
    out = {}
    for m, v in values.items():
        above = sum(1 for x in values.values() if x > v)
        equal = sum(1 for x in values.values() if x == v)
        out[m] = above + (equal + 1) / 2
    return out


def ties_with_best(
    scores: Mapping[str, float],
    items: Mapping[str, Items | None],
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    groups: Mapping[str, Any] | None = None,
    resampler: Resampler | None = None,
) -> tuple[str | None, dict[str, tuple[bool | None, float | None]]]:
    """On one task: the best model and, per model, (tied with the best?, p-value vs the best).

    The best model is tied with itself (p = 1). Another model is tied when the paired test against the best is
    not significant (p >= alpha); unknown (None, None) when the test cannot be run (no items, different items,
    or a different group, e.g. another data fingerprint).
    No correction for multiple comparisons: a tie marks "not shown to be worse", not "equal".
    """
    valid = {m: s for m, s in scores.items() if s is not None and not math.isnan(s)}
    if not valid:
        return None, {}
    best = max(sorted(valid), key=lambda m: valid[m])
    resampler = resampler or Resampler(n_resamples, seed)
    out: dict[str, tuple[bool | None, float | None]] = {best: (True, 1.0)}
    for m in valid:
        if m == best:
            continue
        if groups is not None and groups.get(m) != groups.get(best):
            out[m] = (None, None)
            continue
        p = resampler.paired(items.get(best), items.get(m))
        out[m] = (None, None) if p is None or math.isnan(p) else (p >= alpha, p)
    return best, out
