"""Bootstrap intervals, paired tests, Borda ranks and ties (embbench.report.stats) on synthetic per-item detail."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score

from embbench.report import stats

B = 400  # resamples: enough for stable intervals, fast


def mean_items(n: int, p: float = 0.6, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"kind": "mean", "metric": "accuracy", "values": (rng.random(n) < p).astype(float).tolist()}


def spearman_items(n: int, noise: float = 1.0, seed: int = 0, gold: np.ndarray | None = None) -> dict:
    rng = np.random.default_rng(seed)
    g = np.round(rng.uniform(0, 5, n), 1) if gold is None else gold  # rounded: ties, like real gold scores
    v = g + rng.normal(0, noise, g.size)
    return {"kind": "spearman", "metric": "cosine_spearman", "gold": g.tolist(), "values": v.tolist()}


def ap_items(n: int, sep: float = 1.0, seed: int = 0, labels: np.ndarray | None = None) -> dict:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int) if labels is None else labels
    a = np.round(y * sep + rng.normal(0, 1, y.size), 2)  # rounded: tied scores
    b = -np.abs(a - 3)  # a second variant, signed like a distance
    return {
        "kind": "max_ap",
        "metric": "max_ap",
        "labels": y.tolist(),
        "variants": {"cos": a.tolist(), "l2": b.tolist()},
    }


def runs_items(center: float, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"kind": "runs", "metric": "v_measure", "values": (center + rng.normal(0, 0.005, 10)).tolist()}


MAKERS = {
    "mean": lambda n, seed=0: mean_items(n, seed=seed),
    "spearman": lambda n, seed=0: spearman_items(n, seed=seed),
    "max_ap": lambda n, seed=0: ap_items(n, seed=seed),
}


# ------------------------------------------------------------------------------------------ point estimates


def test_point_estimates_match_the_reference_implementations() -> None:
    it = spearman_items(300)
    assert stats.point_estimate(it) == pytest.approx(spearmanr(it["gold"], it["values"]).statistic, abs=1e-12)
    it = ap_items(300)
    ref = max(average_precision_score(it["labels"], v) for v in it["variants"].values())
    assert stats.point_estimate(it) == pytest.approx(ref, abs=1e-12)
    it = mean_items(50)
    assert stats.point_estimate(it) == pytest.approx(np.mean(it["values"]))


def test_resampled_statistics_equal_the_statistic_of_the_resampled_list() -> None:
    """The weighted (draw-count) formulation equals scipy/sklearn run on the duplicated items."""
    rng = np.random.default_rng(5)
    sp, ap = spearman_items(120), ap_items(120)
    for _ in range(5):
        idx = rng.integers(0, 120, 120)
        g, v = np.asarray(sp["gold"])[idx], np.asarray(sp["values"])[idx]
        assert stats._statistic(sp, idx[None])[0] == pytest.approx(spearmanr(g, v).statistic, abs=1e-12)
        y = np.asarray(ap["labels"])[idx]
        ref = max(average_precision_score(y, np.asarray(s)[idx]) for s in ap["variants"].values())
        assert stats._statistic(ap, idx[None])[0] == pytest.approx(ref, abs=1e-12)


# ------------------------------------------------------------------------------------------ intervals


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_interval_covers_the_estimate_and_shrinks_with_more_items(kind: str) -> None:
    small, large = MAKERS[kind](150, seed=1), MAKERS[kind](600, seed=2)  # 4x the items, same process
    widths = []
    for it in (small, large):
        low, high = stats.bootstrap_ci(it, n_resamples=B, seed=0)
        assert low <= stats.point_estimate(it) <= high
        widths.append(high - low)
    assert widths[1] < widths[0] * 0.75, widths  # ~1/sqrt(4) = 0.5 in theory


def test_interval_is_reproducible_and_seeded() -> None:
    it = mean_items(200)
    assert stats.bootstrap_ci(it, n_resamples=B, seed=3) == stats.bootstrap_ci(it, n_resamples=B, seed=3)
    assert stats.bootstrap_ci(it, n_resamples=B, seed=3) != stats.bootstrap_ci(it, n_resamples=B, seed=4)


def test_runs_interval_is_the_percentiles_of_the_runs() -> None:
    it = runs_items(0.3)
    low, high = stats.bootstrap_ci(it)
    assert (low, high) == pytest.approx(tuple(np.percentile(it["values"], [2.5, 97.5])))
    assert low <= stats.point_estimate(it) <= high


def test_no_items_no_interval() -> None:
    assert stats.bootstrap_ci(None) is None
    assert stats.bootstrap_ci({"kind": "mean", "metric": "accuracy", "values": []}) is None


# ------------------------------------------------------------------------------------------ paired tests


@pytest.mark.parametrize("kind", [*sorted(MAKERS), "runs"])
def test_model_against_itself_is_not_significant(kind: str) -> None:
    it = runs_items(0.3) if kind == "runs" else MAKERS[kind](200)
    assert stats.paired_test(it, it, n_resamples=B) == pytest.approx(1.0)


def test_clearly_better_model_is_significant() -> None:
    rng = np.random.default_rng(10)
    base = np.asarray(mean_items(300, p=0.5)["values"])
    better = np.where(rng.random(300) < 0.3, 1.0, base)  # fixes 30% of the items, breaks none
    a = {"kind": "mean", "metric": "accuracy", "values": better.tolist()}
    b = {"kind": "mean", "metric": "accuracy", "values": base.tolist()}
    assert stats.paired_test(a, b, n_resamples=B) < 0.01
    assert stats.paired_test(b, a, n_resamples=B) < 0.01  # two-sided

    gold = np.round(np.random.default_rng(1).uniform(0, 5, 300), 1)
    good, bad = spearman_items(300, noise=0.3, gold=gold, seed=2), spearman_items(300, noise=3.0, gold=gold, seed=3)
    assert stats.paired_test(good, bad, n_resamples=B) < 0.01

    y = (np.random.default_rng(4).random(300) < 0.4).astype(int)
    good, bad = ap_items(300, sep=3.0, labels=y, seed=5), ap_items(300, sep=0.2, labels=y, seed=6)
    assert stats.paired_test(good, bad, n_resamples=B) < 0.01

    assert stats.paired_test(runs_items(0.40), runs_items(0.30, seed=1)) < 0.01  # Welch on the runs


def test_small_noise_is_not_significant() -> None:
    base = mean_items(200, seed=0)
    other = dict(base, values=list(base["values"]))
    other["values"][0] = 1.0 - other["values"][0]  # one item of 200 differs
    assert stats.paired_test(base, other, n_resamples=B) > 0.3


def test_paired_test_needs_the_same_items() -> None:
    a = mean_items(100)
    assert stats.paired_test(a, mean_items(101)) is None  # different length
    assert stats.paired_test(a, None) is None
    assert stats.paired_test(a, spearman_items(100)) is None  # different kind
    sp = spearman_items(100)
    assert stats.paired_test(sp, dict(sp, gold=[g + 1 for g in sp["gold"]])) is None  # other gold scores
    ap = ap_items(100)
    assert stats.paired_test(ap, dict(ap, labels=[1 - y for y in ap["labels"]])) is None  # other labels
    ids = [f"q{i}" for i in range(100)]
    with_ids = dict(a, ids=ids)
    assert stats.paired_test(with_ids, dict(with_ids, ids=[f"x{i}" for i in range(100)])) is None  # other queries


def test_paired_test_aligns_items_by_id() -> None:
    a = dict(mean_items(80, seed=1), ids=[f"q{i}" for i in range(80)])
    b = dict(mean_items(80, seed=2), ids=[f"q{i}" for i in range(80)])
    order = np.random.default_rng(0).permutation(80)
    shuffled = {**b, "ids": [b["ids"][k] for k in order], "values": [b["values"][k] for k in order]}
    assert stats.paired_test(a, shuffled, n_resamples=B) == stats.paired_test(a, b, n_resamples=B)


# ------------------------------------------------------------------------------------------ ranks and ties


def test_borda_rank_hand_computed() -> None:
    # 4 models (n = 4), 3 tasks; on each task a model earns n - rank points (rank 1 = best, ties share the
    # average rank); a missing task earns 0. Then rank by points, ties sharing the best rank ("min").
    #   t1: A 0.9 (rank 1 -> 3), B 0.8 (2 -> 2), C 0.8 (2 -> 2: B and C tie for ranks 2,3 = 2.5 -> 1.5 each)
    #       so: A 3, B 1.5, C 1.5, D 0.1 (rank 4 -> 0)
    #   t2: B 0.7 (rank 1 -> 3), A 0.6 (2 -> 2), D 0.5 (3 -> 1), C missing (0)
    #   t3: C 0.9 (rank 1 -> 3), A 0.2 (2 -> 2), B None (n/a: 0), D 0.1 (3 -> 1)
    # points: A 3 + 2 + 2 = 7; B 1.5 + 3 + 0 = 4.5; C 1.5 + 0 + 3 = 4.5; D 0 + 1 + 1 = 2
    # ranks: A 1, B and C tie at 2, D 4
    scores = {
        "t1": {"A": 0.9, "B": 0.8, "C": 0.8, "D": 0.1},
        "t2": {"B": 0.7, "A": 0.6, "D": 0.5},
        "t3": {"C": 0.9, "A": 0.2, "B": None, "D": 0.1},
    }
    assert stats.borda_ranks(scores) == {"A": 1, "B": 2, "C": 2, "D": 4}


def test_borda_rank_ignores_ties_in_scale() -> None:
    assert stats.borda_ranks({"t": {"a": 1.0, "b": 1.0}}) == {"a": 1, "b": 1}
    assert stats.borda_ranks({}) == {}


def test_ties_with_the_best_model() -> None:
    rng = np.random.default_rng(10)
    best = np.asarray(mean_items(300, p=0.5, seed=1)["values"])
    close = best.copy()
    close[np.flatnonzero(best == 1)[:2]] = 0.0  # 2 items of 300 lost
    worse = np.where(rng.random(300) < 0.4, 0.0, best)
    items = {
        m: {"kind": "mean", "metric": "accuracy", "values": v.tolist()}
        for m, v in {"best": best, "close": close, "worse": worse}.items()
    }
    scores = {m: float(np.mean(it["values"])) for m, it in items.items()}
    top, ties = stats.ties_with_best(scores, items, n_resamples=B)
    assert top == "best"
    assert ties["best"] == (True, 1.0)
    assert ties["close"][0] is True and ties["close"][1] >= 0.05
    assert ties["worse"][0] is False and ties["worse"][1] < 0.05
    # unknown without items, or with items of another data version
    _, ties = stats.ties_with_best(scores, {**items, "close": None}, n_resamples=B)
    assert ties["close"] == (None, None)
    _, ties = stats.ties_with_best(scores, items, n_resamples=B, groups={"best": "x", "close": "y", "worse": "x"})
    assert ties["close"] == (None, None) and ties["worse"][0] is False
