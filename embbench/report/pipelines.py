"""The Pipelines section: each pipeline's score beside each of its stages' on every task, the lift, the paired test."""

from __future__ import annotations

from typing import Any

from embbench.report.model import ALPHA, HeaderCell, Table, num_cell, rnd, text_cell
from embbench.report.stats import Resampler
from embbench.results import TaskResult


def pipeline_rows(records: list[TaskResult], resampler: Resampler) -> list[dict[str, Any]]:
    """A row per (pipeline, task, stage): scores x 100, the lift, and the paired bootstrap p-value of the pipeline
    against the stage on the same queries (None when their items do not pair up)."""
    by_key = {(r.model, r.task): r for r in records if not r.published}
    rows: list[dict[str, Any]] = []
    for r in records:
        if r.published or not r.pipeline or r.main_score is None:
            continue
        for stage, info in r.pipeline.get("stages", {}).items():
            base = by_key.get((stage, r.task))
            p = resampler.paired(r.items, base.items) if base is not None else None
            base_score, lift = info.get("main_score"), info.get("lift")
            scoring = r.pipeline.get("scoring") or {}
            rows.append(
                {
                    "pipeline": r.model,
                    "kind": r.pipeline.get("kind"),
                    "task": r.task,
                    "stage": stage,
                    "score": rnd(100 * r.main_score),
                    "stage_score": None if base_score is None else rnd(100 * base_score),
                    "lift": None if lift is None else rnd(100 * lift),
                    "p": rnd(p, 4),
                    "significant": None if p is None else p < ALPHA,
                    "pairs_scored": scoring.get("scored"),
                    "pairs_cached": scoring.get("from_cache"),
                }
            )
    return rows


def pipelines_table(data: dict[str, Any]) -> Table:
    """Pipeline | Kind | Task | Stage | Score | Stage score | Lift | p | Pairs scored / cached (reranks only)."""
    header = [
        HeaderCell("Pipeline", numeric=False),
        HeaderCell("Kind", numeric=False),
        HeaderCell("Task", numeric=False),
        HeaderCell("Stage", numeric=False),
        HeaderCell("Score"),
        HeaderCell("Stage score", key="stage_score"),
        HeaderCell("Lift", key="lift"),
        HeaderCell("p (paired)", key="p"),
        HeaderCell("Pairs scored", key="pairs_scored"),
        HeaderCell("Pairs cached", key="pairs_cached"),
    ]
    rows = [
        [
            text_cell(r["pipeline"]),
            text_cell(r["kind"] or ""),
            text_cell(r["task"]),
            text_cell(r["stage"]),
            num_cell(r["score"]),
            num_cell(r["stage_score"]),
            num_cell(r["lift"]),
            num_cell(r["p"], 4),
            num_cell(r["pairs_scored"], 0),
            num_cell(r["pairs_cached"], 0),
        ]
        for r in data.get("pipelines", [])
    ]
    return Table("pipelines", "Pipelines: lift over each stage (paired bootstrap test)", header, rows)
