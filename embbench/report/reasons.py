"""The decision's reasons in words and numbers: a sentence per fact (score, lead and its test, speed, budget)."""

from __future__ import annotations

from typing import Any

from embbench.report.model import fmt

FACTS = (  # (key, how it reads)
    ("texts_per_s", "{:.1f} texts/s"),
    ("latency_ms_p95", "p95 query latency {:.1f} ms"),
    ("peak_rss_mb", "peak RSS {:.0f} MB"),
    ("index_mb_per_1m", "index {:.0f} MB per 1M docs (float32)"),
    ("hours_per_1m_docs", "{:.2f} h to embed 1M docs"),
    ("usd_per_1m_docs", "{:.2f} USD per 1M docs"),
)
TIE_BREAK = {
    "usd_per_1m_docs": "the lowest cost per 1M documents",
    "hours_per_1m_docs": "the fewest hours to embed 1M documents",
    "index_mb_per_1m": "the smallest index",
    "latency_ms_p95": "the lowest p95 query latency",
}


def score_text(c: dict[str, Any]) -> str:
    ci = f" (95% CI {fmt(c['ci_low'])} to {fmt(c['ci_high'])})" if c.get("ci_low") is not None else ""
    return f"{fmt(c['score'])}{ci}"


def facts_text(c: dict[str, Any]) -> str:
    parts = [f.format(c[k]) for k, f in FACTS if isinstance(c.get(k), (int, float))]
    if not parts:
        return "no speed probe (a ranking baseline or no speed file): speed, memory, index size and cost not measured"
    busy = " (probed on a busy machine: timings include the contention)" if c.get("busy") else ""
    return ", ".join(parts) + busy


def test_text(c: dict[str, Any], best: dict[str, Any]) -> str:
    """How c compares with the best model: the gap and what the paired test says about it."""
    gap = best["score"] - c["score"]
    p = c.get("p_vs_best")
    if c.get("significant") is None:
        return f"{gap:.2f} points behind {best['model']} (no paired test: the items differ)"
    n = f", {c['n_items_min']} items" if c.get("n_items_min") else ""
    if c["significant"] and c.get("small_sample"):
        return (
            f"{gap:.2f} points behind {best['model']} (p = {p:g}{n}: small sample, fewer than 30 items; "
            "the gap is not established)"
        )
    verdict = "significant" if c["significant"] else "not significant"
    return f"{gap:.2f} points behind {best['model']} ({verdict}, paired bootstrap p = {p:g}{n})"


def candidate(c: dict[str, Any], best: dict[str, Any] | None) -> str:
    """One line for a table row: score, gap to the best and its test, the facts."""
    head = score_text(c) if best is None or c is best else f"{score_text(c)}, {test_text(c, best)}"
    out = f"{head}; {facts_text(c)}"
    if c.get("breaks"):
        out += "; over budget: " + ", ".join(c["breaks"])
    return out


def ratio_text(a: dict[str, Any], b: dict[str, Any]) -> str:
    """How a compares with b on speed and size: '4.0x faster and needs 0.5x the index memory'."""
    parts = []
    ta, tb = a.get("texts_per_s"), b.get("texts_per_s")
    if ta and tb:
        r = ta / tb
        parts.append(f"{r:.1f}x faster" if r >= 1 else f"{1 / r:.1f}x slower")
    ia, ib = a.get("index_mb_per_1m"), b.get("index_mb_per_1m")
    if ia and ib:
        parts.append(f"needs {ia / ib:.2g}x the index memory")
    ua, ub = a.get("usd_per_1m_docs"), b.get("usd_per_1m_docs")
    if ua is not None and ub:
        parts.append(f"costs {ua / ub:.2g}x as much per 1M docs")
    return " and ".join(parts) or "no speed or size figures to compare"


def _lead(rec: dict[str, Any], ranked: list[dict[str, Any]]) -> str | None:
    runner = next((c for c in ranked if c is not rec and not c["breaks"]), None)
    if runner is None:
        return "the only ranked model within budget" if len(ranked) > 1 else "the only ranked model"
    gap = rec["score"] - runner["score"]
    p, n = runner.get("p_vs_best"), runner.get("n_items_min")
    if runner.get("significant") is None:
        return f"{gap:.2f} points ahead of {runner['model']} at {score_text(runner)}; no paired test (the items differ)"
    if runner["significant"] and runner.get("small_sample"):
        return (
            f"{gap:.2f} points ahead of {runner['model']} at {score_text(runner)}, p = {p:g} but on only {n} items "
            "(small sample, fewer than 30): the lead is not established"
        )
    return (
        f"{gap:.2f} points ahead of {runner['model']} at {score_text(runner)}; the lead is significant "
        f"(paired bootstrap over the same items, p = {p:g})"
    )


def _tie(rec: dict[str, Any], best: dict[str, Any], tied: list[dict[str, Any]], by: str | None) -> str:
    models = [c["model"] for c in tied]
    names = " and ".join(models) if len(models) == 2 else ", ".join(models)
    others = [c for c in tied if c is not best]
    ps = ", ".join(f"p = {c['p_vs_best']:g}" for c in others)
    head = f"{names} are not distinguishable on these tasks ({ps} against {best['model']})"
    if by is None:
        return f"{head}; no cost figure is known for all of them, so the best-scoring {best['model']} is recommended"
    if rec is best:
        other = others[0]
        return (
            f"{head}; {rec['model']} also has {TIE_BREAK[by]}: compared with {other['model']}, it is "
            f"{ratio_text(rec, other)}"
        )
    return (
        f"{head}; {rec['model']} is recommended as it has {TIE_BREAK[by]}: compared with {best['model']}, it is "
        f"{ratio_text(rec, best)}"
    )


def for_use(
    out: dict[str, Any], rec: dict[str, Any] | None, best: dict[str, Any] | None, tied: list, ranked: list
) -> list[str]:
    """The recommendation's reasons, in the order a reader needs them."""
    if not out["tasks"]:
        return [f"no {out['label']} task in this run"]
    if rec is None or best is None:
        if ranked:
            return [
                "every ranked model breaks the budget: "
                + "; ".join(f"{c['model']} ({', '.join(c['breaks'])})" for c in ranked)
            ]
        return [f"no model has a score on every {out['label']} task"]
    reasons = [f"{rec['model']} scores {score_text(rec)} on {out['use']} ({out['label']}: {', '.join(out['tasks'])})"]
    if len(tied) > 1:
        reasons.append(_tie(rec, best, tied, out["tie_break"]))
    else:
        lead = _lead(rec, ranked)
        if lead:
            reasons.append(lead)
    reasons.append(f"{rec['model']}: {facts_text(rec)}")
    over = [c for c in ranked if c["breaks"]]
    if out["budgets"]:
        text = f"budget {', '.join(out['budgets'])}: "
        text += (
            "; ".join(f"{c['model']} is over it: {', '.join(c['breaks'])}" for c in over)
            if over
            else "every ranked model is within it"
        )
        unknown = [c["model"] for c in ranked if c["unknown"]]
        if unknown:
            text += f"; not measured, so not excluded: {', '.join(unknown)}"
        reasons.append(text)
    fronts = [
        f"{label}: {', '.join(c['model'] for c in ranked if c.get(key))}"
        for key, label in (
            ("pareto_throughput", "quality vs throughput"),
            ("pareto_index_size", "quality vs index size"),
        )
        if any(c.get(key) for c in ranked)
    ]
    if fronts:
        reasons.append("Pareto front (" + "; ".join(fronts) + ")")
    if out["unranked"]:
        reasons.append(
            "not ranked (no score on every task of the use): " + "; ".join(_unranked(u) for u in out["unranked"])
        )
    return reasons


def _unranked(u: dict[str, Any]) -> str:
    parts = []
    if u["na"]:
        parts.append(f"n/a on {', '.join(u['na'])}")
    if u["missing"]:
        parts.append(f"no result on {', '.join(u['missing'])}")
    return f"{u['model']} ({'; '.join(parts)})"
