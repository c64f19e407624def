"""The decision: per use, the recommended model and its runners-up, with reasons in numbers (JSON "decision").

For each use (report/uses.py) the models with a score on every task of the use are ranked by their use score (the
mean of those task scores, x 100). Its interval and the test between two models come from the same seeded bootstrap
as the per-task cells (stats.Resampler): a resample of the use score is the mean of the tasks' resampled scores;
two models are compared on the same resampled items of every task (paired; clustering's runs are resampled
independently, as they are not paired), p = (1 + #{|d* - d| >= |d|}) / (1 + resamples).

Budgets drop the models that break a limit (a fact the model lacks, e.g. BM25's latency, breaks nothing: it is
unknown, and said so). Among the models within budget, the best-scoring one and every model not significantly
worse than it are tied; of a tie the cheapest is recommended (lower USD, then hours per 1M documents, then index
size, then p95 latency: the first fact every tied model has), and the reasons say so. A test where a task has fewer
than SMALL_SAMPLE items carries a small-sample warning instead of a bare "significant".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from embbench.errors import UserError
from embbench.report import stats
from embbench.report.board import Leaderboard
from embbench.report.charts import pareto_front
from embbench.report.model import ALPHA, rnd
from embbench.report.uses import DEFAULT_USES, Budget, Use, use_tasks
from embbench.results import TaskResult

SMALL_SAMPLE = 30  # fewer items than this on a task: a test's "significant" is not trusted
CHEAPER = ("usd_per_1m_docs", "hours_per_1m_docs", "index_mb_per_1m", "latency_ms_p95")  # tie-break order
RUNNERS_UP = 3


def score_rule(use: Use, tasks: Sequence[str]) -> str:
    return (
        f"Use score ({use.name}: {use.label()}) = the mean of the model's main scores (x 100) over the use's "
        f"{len(tasks)} task(s) ({', '.join(tasks)}); only a model with a score on every one of them is ranked."
    )


class UseScorer:
    """Use scores, their intervals and paired tests, from one Resampler (the per-task cells' bootstrap)."""

    def __init__(self, by_key: Mapping[tuple[str, str], TaskResult], resampler: stats.Resampler) -> None:
        self.by_key = by_key
        self.resampler = resampler
        self._runs: dict[tuple[str, str], np.ndarray] = {}

    def _dist(self, model: str, task: str, items: stats.Items | None) -> np.ndarray | None:
        if not items:
            return None
        if items["kind"] != "runs":
            return self.resampler.distribution(items)
        hit = self._runs.get((model, task))
        if hit is None:  # the protocol's own runs, bootstrapped to the same number of resamples
            runs = np.asarray(items["values"], dtype=np.float64)
            rng = np.random.default_rng(self.resampler.seed)
            hit = rng.choice(runs, size=(self.resampler.n_resamples, runs.size)).mean(axis=1)
            self._runs[(model, task)] = hit
        return hit

    def ci(self, model: str, tasks: Sequence[str]) -> tuple[float, float] | None:
        dists = [self._dist(model, t, self.by_key[(model, t)].items) for t in tasks]
        if any(d is None for d in dists):
            return None
        mean = np.mean(np.vstack([d for d in dists if d is not None]), axis=0)
        mean = mean[np.isfinite(mean)]
        if mean.size == 0:
            return None
        lo, hi = np.percentile(mean, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
        return 100 * float(lo), 100 * float(hi)

    def paired(self, a: str, b: str, tasks: Sequence[str]) -> float | None:
        """p-value that a and b have the same use score (None: some task's items are not comparable)."""
        diffs, observed = [], 0.0
        for t in tasks:
            ra, rb = self.by_key[(a, t)], self.by_key[(b, t)]
            if ra.items and ra.items.get("kind") == "runs":
                da, db = self._dist(a, t, ra.items), self._dist(b, t, rb.items)
                if db is None or da is None:
                    return None
            else:
                pair = stats.aligned(ra.items, rb.items)
                if pair is None:
                    return None
                da, db = self.resampler.distribution(pair[0]), self.resampler.distribution(pair[1])
            diffs.append(da - db)
            observed += float(ra.main_score or 0.0) - float(rb.main_score or 0.0)
        d = observed / len(tasks)
        ds = np.mean(np.vstack(diffs), axis=0)
        extreme = int(np.count_nonzero(np.abs(ds - d) >= abs(d)))
        return (1 + extreme) / (1 + ds.size)

    def min_items(self, model: str, tasks: Sequence[str]) -> int | None:
        ns = [self.by_key[(model, t)].n_items for t in tasks]
        return None if any(n is None for n in ns) else min(n for n in ns if n is not None)


def _candidates(
    use: Use, board: Leaderboard, scorer: UseScorer, facts: Mapping[str, dict[str, Any]], tasks: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(ranked candidates with score and interval, models left unranked with the tasks they lack)."""
    ranked: list[dict[str, Any]] = []
    unranked: list[dict[str, Any]] = []
    for m in board.models:
        if any(scorer.by_key.get((m, t)) is not None and scorer.by_key[(m, t)].published for t in tasks):
            continue  # published reference rows are not candidates (no items, not run here)
        na = [t for t in tasks if (m, t) in board.not_applicable]
        missing = [t for t in tasks if (m, t) not in board.scores and t not in na]
        if na or missing:
            if len(na) + len(missing) < len(tasks):
                unranked.append({"model": m, "na": na, "missing": missing})
            continue
        score = sum(board.scores[(m, t)] for t in tasks) / len(tasks)
        ci = scorer.ci(m, tasks)
        f = facts.get(m, {})
        ranked.append(
            {
                "model": m,
                "score": rnd(score),
                "_score": score,
                "ci_low": rnd(ci[0]) if ci else None,
                "ci_high": rnd(ci[1]) if ci else None,
                "n_items_min": scorer.min_items(m, tasks),
                **{k: f.get(k) for k in ("texts_per_s", "latency_ms_p95", "peak_rss_mb", "index_mb_per_1m")},
                **{k: f.get(k) for k in ("hours_per_1m_docs", "usd_per_1m_docs", "busy")},
            }
        )
    ranked.sort(key=lambda c: (-float(c["_score"]), str(c["model"])))
    return ranked, unranked


def _pareto(ranked: list[dict[str, Any]]) -> None:
    """Flag the models on the quality-vs-throughput and quality-vs-index-size fronts (among the ranked ones)."""
    speed = [(c["model"], float(c["texts_per_s"]), c["_score"]) for c in ranked if c["texts_per_s"]]
    size = [(c["model"], -float(c["index_mb_per_1m"]), c["_score"]) for c in ranked if c["index_mb_per_1m"]]
    fs, fz = set(pareto_front(speed)), set(pareto_front(size))
    for c in ranked:
        c["pareto_throughput"] = c["model"] in fs if c["texts_per_s"] else None
        c["pareto_index_size"] = c["model"] in fz if c["index_mb_per_1m"] else None


def _cheapest(tied: list[dict[str, Any]]) -> tuple[dict[str, Any], str | None]:
    """The cheapest of tied candidates by the first CHEAPER fact they all have (the best one when none)."""
    for key in CHEAPER:
        if all(isinstance(c.get(key), (int, float)) for c in tied):
            return min(tied, key=lambda c: (c[key], -c["_score"])), key
    return tied[0], None


def _significance(p: float | None, n: int | None) -> tuple[bool | None, bool]:
    """(significant?, small sample?) of a test; None when no test could be run."""
    small = n is not None and n < SMALL_SAMPLE
    if p is None:
        return None, small
    return p < ALPHA, small


def decide_use(
    use: Use,
    board: Leaderboard,
    scorer: UseScorer,
    facts: Mapping[str, dict[str, Any]],
    budgets: Sequence[Budget],
) -> dict[str, Any]:
    """The decision for one use (see the module docstring)."""
    from embbench.report import reasons

    tasks = use_tasks(use, board.tasks)
    ranked, unranked = _candidates(use, board, scorer, facts, tasks) if tasks else ([], [])
    _pareto(ranked)
    for c in ranked:
        c["breaks"] = [b for b in (bud.check(facts.get(c["model"], {})) for bud in budgets) if b]
        known = facts.get(c["model"], {})
        c["unknown"] = [b.key for b in budgets if not isinstance(known.get(b.spec.fact), (int, float))]
    eligible = [c for c in ranked if not c["breaks"]]
    best = eligible[0] if eligible else None
    for c in ranked:
        p = None if best is None or c is best else scorer.paired(best["model"], c["model"], tasks)
        c["p_vs_best"] = 1.0 if c is best else rnd(p, 4)
        c["significant"], c["small_sample"] = _significance(p, _min_n(best, c))
    tied = [c for c in eligible if c is best or c["significant"] is False]  # not shown to be worse than the best
    rec, by = _cheapest(tied) if len(tied) > 1 else (best, None)
    runners = [c for c in eligible if c is not rec][:RUNNERS_UP]
    for c in ranked:
        c["role"] = (
            "recommended" if c is rec else "runner_up" if c in runners else "over_budget" if c["breaks"] else "ranked"
        )
        c["reason"] = reasons.candidate(c, best)
    out = {
        "use": use.name,
        "label": use.label(),
        "categories": list(use.categories) if use.categories else "all",
        "tasks": tasks,
        "recommended": rec["model"] if rec else None,
        "runners_up": [c["model"] for c in runners],
        "best_score": best["model"] if best else None,
        "tie": len(tied) > 1,
        "tie_break": by,
        "budgets": [b.text() for b in budgets],
        "score_rule": score_rule(use, tasks),
        "candidates": [{k: v for k, v in c.items() if not k.startswith("_")} for c in ranked],
        "unranked": unranked,
    }
    out["reasons"] = reasons.for_use(out, rec, best, tied, ranked)
    return out


def _min_n(a: dict[str, Any] | None, b: dict[str, Any]) -> int | None:
    ns = [n for n in (a and a.get("n_items_min"), b.get("n_items_min")) if isinstance(n, int)]
    return min(ns) if ns else None


def decide(
    board: Leaderboard,
    by_key: Mapping[tuple[str, str], TaskResult],
    resampler: stats.Resampler,
    facts: Mapping[str, dict[str, Any]],
    uses: Sequence[Use] | None = None,
    budgets: Sequence[Budget] = (),
) -> dict[str, dict[str, Any]]:
    """leaderboard.json's "decision": {use: {recommended, runners_up, reasons, tasks, candidates, ...}}."""
    chosen = list(uses or DEFAULT_USES)
    names = [u.name for u in chosen]
    for name in names:
        if names.count(name) > 1:
            raise UserError("--use", f"use {name!r} is given twice", field="use", fix="give each use one NAME=cats")
    scorer = UseScorer(by_key, resampler)
    return {u.name: decide_use(u, board, scorer, facts, budgets) for u in chosen}
