"""bootstrap_ci against an independent reference: the normal interval of a Bernoulli proportion.

For n items scored 0 or 1 with k ones, the score is p = k / n and its standard error sqrt(p (1 - p) / n); a
correct percentile bootstrap (resamples of n items, with replacement) gives about p ± 1.96 SE. The tolerance
(10% of the width, against a Monte Carlo error of about 2% with 4000 resamples) is far tighter than the √2
(41%) a resample of n/2 items would add, or the 29% narrowing of resamples of 2n.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from embbench.report.stats import bootstrap_ci


@pytest.mark.parametrize(("n", "p"), [(2000, 0.3), (1000, 0.5), (3000, 0.85)])
def test_bernoulli_interval_matches_the_normal_reference(n: int, p: float) -> None:
    k = round(n * p)
    values = np.zeros(n)
    values[np.random.default_rng(7).choice(n, size=k, replace=False)] = 1.0
    phat = k / n
    half = 1.96 * math.sqrt(phat * (1 - phat) / n)
    ci = bootstrap_ci({"kind": "mean", "values": values.tolist()}, n_resamples=4000, seed=1)
    assert ci is not None
    low, high = ci
    assert (high - low) == pytest.approx(2 * half, rel=0.10), (ci, phat, half)
    assert (low + high) / 2 == pytest.approx(phat, abs=0.15 * half)
    assert low < phat < high


def test_interval_shrinks_as_one_over_root_n() -> None:
    """Four times the items (same share of ones): half the width, as the reference says."""
    widths = []
    for n in (500, 2000):
        values = [1.0] * (n // 5) + [0.0] * (n - n // 5)
        ci = bootstrap_ci({"kind": "mean", "values": values}, n_resamples=4000, seed=3)
        assert ci is not None
        widths.append(ci[1] - ci[0])
    assert widths[0] / widths[1] == pytest.approx(2.0, rel=0.08)
