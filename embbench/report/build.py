"""build_report: result files and speed files -> a Report, every number rounded once (scores: main metric x 100)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from embbench.categories import LABELS
from embbench.report import cost, decision, facts, leakage, rag, sections, stats
from embbench.report.board import Leaderboard, build
from embbench.report.model import ALPHA, DECIMALS, NA, Report, rnd
from embbench.report.pipelines import pipeline_rows
from embbench.report.published import load_published, with_published  # ruMTEB rows "<model> (published)"
from embbench.report.uses import DEFAULT_USES, Budget, Use
from embbench.results import TaskResult, load_results

# a Hugging Face dataset id, the check spec/subset.py makes when it loads a task file (the report layer reads only
# result files, which may have been edited since)
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
HUB_DATASETS = "https://huggingface.co/datasets/"
Ties = dict[tuple[str, str], tuple[bool | None, float | None]]  # (model, task) -> (tied with the best?, p)


def is_partial(r: TaskResult) -> bool:
    """A smoke run's result (`embbench run --limit N`): scored on the first N items only."""
    return (r.task_info or {}).get("limit") is not None


def full_or_partial(records: list[TaskResult]) -> tuple[list[TaskResult], list[str]]:
    """A leaderboard never mixes smoke-run results with full ones: with any full result the partial ones are left
    out (and named in a warning); a folder of partial results only gets a board marked as such."""
    partial = [r for r in records if is_partial(r)]
    if not partial:
        return records, []
    if len(partial) == len(records):
        limits = sorted({int(r.task_info["limit"]) for r in partial})
        return records, [
            f"every result is a smoke run (--limit {', '.join(map(str, limits))}): partial scores on the first items"
            " of each task, not comparable with full runs"
        ]
    names = ", ".join(sorted({f"{r.model}/{r.task}" for r in partial}))
    return [r for r in records if not is_partial(r)], [f"smoke-run results (--limit) left out: {names}"]


def build_report(
    output: Path,
    records: list[TaskResult] | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    uses: Sequence[Use] | None = None,
    budgets: Sequence[Budget] = (),
    gpu_hour_usd: float | None = None,
    generated_by: str = "embbench report",
) -> Report:
    """Everything the documents show: ``data`` (leaderboard.json) and the table sections rendered from it.

    ``uses`` (default: rag, overall) and ``budgets`` shape the decision (report/decision.py); ``gpu_hour_usd``
    prices local models' hours (report/cost.py); ``generated_by`` is the command the page says made it."""
    records = load_results(output) if records is None else records
    records, partial_warnings = full_or_partial(records)
    records = with_published(records)  # + published rows for the ruMTEB tasks the results contain
    board = build(records)
    by_key = {(r.model, r.task): r for r in records}
    resampler = stats.Resampler(n_resamples, seed)  # one bootstrap distribution per result, shared by CI and tests
    best_of, ties, warnings = _ties(board, by_key, resampler, n_resamples=n_resamples, seed=seed)
    results = _results(board, by_key, resampler, best_of, ties)
    speed, hardware, speed_warnings = facts.speed_section(output, board)
    common, mixed = facts.software([r for r in records if not r.published])
    rows = board.rows()
    front = facts.pareto(speed, rows)
    timed = {s["model"] for s in speed}
    for row in rows:
        row["pareto"] = row["model"] in front if row["model"] in timed else None
    dates = sorted(str(r.date) for r in records if r.date)
    trunc = facts.truncation_rows(records, board)
    tasks = _tasks(board, records, best_of)
    data = {
        "schema": 2,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "n_results": len(records),
        "results_dated": [dates[0], dates[-1]] if dates else None,
        "settings": _settings(n_resamples, seed),
        "software": common,
        "software_mixed": mixed,
        "hardware": hardware,
        "warnings": partial_warnings
        + warnings
        + speed_warnings
        + facts.software_warning(mixed)
        + leakage.notes(records)
        + subset_warnings(tasks),
        "categories": [{"category": c, "label": LABELS.get(c, c)} for c in board.categories()],
        "tasks": tasks,
        "models": facts.model_info(records, board.ranked_models()),
        "rows": rows,
        "results": results,
        "speed": speed,
        "truncation": trunc,
        "truncation_by_model": facts.truncation_table(trunc),
        "pipelines": pipeline_rows(records, resampler),  # each pipeline's lift over its stages (report/pipelines.py)
        "charts": [],
        "generated_by": generated_by,
        "speed_folder": str(output / "speed"),
    }
    data.update(_decision_parts(output, records, board, by_key, resampler, data, uses, budgets, gpu_hour_usd))
    return Report(data, sections.tables(data))


def _decision_parts(
    output: Path,
    records: list[TaskResult],
    board: Leaderboard,
    by_key: dict[tuple[str, str], TaskResult],
    resampler: stats.Resampler,
    data: dict[str, Any],
    uses: Sequence[Use] | None,
    budgets: Sequence[Budget],
    gpu_hour_usd: float | None,
) -> dict[str, Any]:
    """decision, cost, not_evaluated, compression and the RAG view (their warnings join data["warnings"])."""
    infos = {r.model: r.model_info or {} for r in reversed(records)}
    costs = cost.cost_rows(data["speed"], data["truncation_by_model"], data["models"], infos, gpu_hour_usd)
    known: dict[str, dict[str, Any]] = {s["model"]: dict(s) for s in data["speed"]}
    for c in costs:
        known.setdefault(c["model"], {}).update(c)
    not_evaluated, ne_warnings = rag.load_not_evaluated(output)
    compression, c_warnings = rag.compression_rows(records, board)
    data["warnings"] += ne_warnings + c_warnings
    return {
        "uses": [{"use": u.name, "categories": list(u.categories or []) or "all"} for u in (uses or DEFAULT_USES)],
        "budgets": [b.text() for b in budgets],
        "gpu_hour_usd": gpu_hour_usd,
        "decision": decision.decide(board, by_key, resampler, known, uses, budgets),
        "cost": costs,
        "cost_notes": [n for n in (cost.truncation_note(c) for c in costs) if n],
        "cost_by_task": cost.task_rows(records, data["speed"], gpu_hour_usd),
        "not_evaluated": not_evaluated,
        "compression": compression,
        "rag": rag.rag_rows(records, board),
    }


def _ties(
    board: Leaderboard,
    by_key: dict[tuple[str, str], TaskResult],
    resampler: stats.Resampler,
    *,
    n_resamples: int,
    seed: int,
) -> tuple[dict[str, str | None], Ties, list[str]]:
    """Per task: the best model, and per (model, task) whether it ties with the best; warnings about tasks whose
    results come from different data versions (those are not compared)."""
    best_of: dict[str, str | None] = {}
    ties: Ties = {}
    warnings: list[str] = []
    for t, _, _ in board.tasks:
        present = {
            m: board.scores[(m, t)]
            for m in board.models
            if (m, t) in board.scores and not by_key[(m, t)].published  # published rows: no items, no ties
        }
        fps = {m: (by_key[(m, t)].task_info or {}).get("data_fingerprint") for m in present}
        if len(set(fps.values())) > 1:
            warnings.append(f"task {t}: results come from different data versions (fingerprints differ)")
        best, tied = stats.ties_with_best(
            present,
            {m: by_key[(m, t)].items for m in present},
            n_resamples=n_resamples,
            seed=seed,
            alpha=ALPHA,
            groups=fps,
            resampler=resampler,
        )
        best_of[t] = best
        for m, v in tied.items():
            ties[(m, t)] = v
    return best_of, ties, warnings


def _results(
    board: Leaderboard,
    by_key: dict[tuple[str, str], TaskResult],
    resampler: stats.Resampler,
    best_of: dict[str, str | None],
    ties: Ties,
) -> list[dict[str, Any]]:
    """A row per (model, task) with a result, ranked models first: value, interval, tie, p-value vs the best."""
    out: list[dict[str, Any]] = []
    for m in board.ranked_models():
        for t, c, metric in board.tasks:
            r = by_key.get((m, t))
            if r is None:
                continue
            ci = resampler.ci(r.items, ALPHA)
            score = r.main_score
            tied, p = ties.get((m, t), (None, None))
            out.append(
                {
                    "model": m,
                    "task": t,
                    "category": c,
                    "metric": metric,
                    "value": NA if score is None else rnd(100 * score),
                    "ci_low": rnd(100 * ci[0]) if ci and score is not None else None,
                    "ci_high": rnd(100 * ci[1]) if ci and score is not None else None,
                    "tied_with_best": tied if score is not None else None,
                    "best": score is not None and best_of.get(t) == m,
                    "p_vs_best": rnd(p, 4),
                    "n_items": r.n_items,
                    "small_sample": r.n_items is not None and r.n_items < decision.SMALL_SAMPLE,
                    "main_score": score,
                    "data_fingerprint": (r.task_info or {}).get("data_fingerprint"),
                }
            )
    return out


def _settings(n_resamples: int, seed: int) -> dict[str, Any]:
    return {
        "scale": "main metric x 100",
        "decimals": DECIMALS,
        "interval": f"{100 * (1 - ALPHA):.0f}% percentile bootstrap over the task's items "
        "(clustering: over the protocol's own runs)",
        "tie": f"p >= {ALPHA} in a paired bootstrap test against the best model on the same items; "
        "clustering: Welch's t-test on the runs",
        "n_resamples": n_resamples,
        "seed": seed,
        "alpha": ALPHA,
    }


def _tasks(board: Leaderboard, records: list[TaskResult], best_of: dict[str, str | None]) -> list[dict[str, Any]]:
    """Per task: category, main metric, items, description, source, license, data fingerprint and best model
    (described by the last record of the task: the user's own, as published rows come first)."""
    info = {r.task: r for r in records}
    out = []
    for t, c, metric in board.tasks:
        ti = info[t].task_info or {}
        out.append(
            {
                "task": t,
                "category": c,
                "label": LABELS.get(c, c),
                "main_metric": metric,
                "n_items": info[t].n_items,
                "description": ti.get("description"),
                "source": ti.get("source"),
                "license": ti.get("license"),
                "data_fingerprint": ti.get("data_fingerprint"),
                "best": best_of.get(t),
                "subset_of": subset_info(ti.get("subset_of"), info[t].n_items),
            }
        )
    return out


def subset_info(raw: Any, n_items: int | None) -> dict[str, Any] | None:
    """A task's task_info.subset_of as the report shows it: "subset: N of M items" and the comparable mteb task,
    linked to its dataset's hub page (the link is rebuilt from a checked dataset id, never taken from the file)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("full_size"), int):
        return None
    full = raw["full_size"]
    out: dict[str, Any] = {
        "items": n_items,
        "full_size": full,
        "text": f"subset: {'?' if n_items is None else n_items} of {full} items",
        "note": str(raw.get("note") or ""),
    }
    task, dataset = raw.get("mteb_task"), raw.get("dataset")
    if isinstance(task, str) and task:
        rumteb = {t for names in load_published()["benchmarks"].values() for t in names}
        ok = isinstance(dataset, str) and HUB_ID.match(dataset) is not None
        out.update(
            mteb_task=task,
            dataset=dataset,
            revision=raw.get("revision"),
            url=f"{HUB_DATASETS}{dataset}" if ok else None,
            in_rumteb=task in rumteb,
        )
    return out


def subset_warnings(tasks: list[dict[str, Any]]) -> list[str]:
    """A subset that claims more items than its public split has: the task file's figure is wrong."""
    return [
        f"task {t['task']}: subset_of.full_size {s['full_size']} is smaller than its {s['items']} items "
        "(correct the task file)"
        for t in tasks
        if (s := t.get("subset_of")) and s["items"] is not None and s["items"] > s["full_size"]
    ]
