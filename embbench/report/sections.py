"""The report's table sections, built from its JSON document: every column of every document is defined here once."""

from __future__ import annotations

import json
from typing import Any

from embbench.report import decision_sections
from embbench.report.model import (
    NA,
    SPEED_COLUMNS,
    TIE,
    Cell,
    HeaderCell,
    Table,
    fmt,
    link_cell,
    num_cell,
    short_cell,
    text_cell,
)
from embbench.report.pipelines import pipelines_table

# the tidy CSV's columns: a row per (model, task)
TIDY_COLUMNS = ["model", "task", "category", "metric", "value", "ci_low", "ci_high", "tied_with_best", "n_items"]


def tables(data: dict[str, Any]) -> list[Table]:
    """A decision table per use, Not evaluated, RAG view, Cost, Compression (report/decision_sections.py), Models,
    Tasks, Summary, Per task, Speed and size, Truncation and Pipelines (when there are any), and the two CSV
    tables: "results" (tidy: a row per model and task) and "wide" (Summary's columns, then a score column per task)."""
    summary, per_task = summary_table(data), per_task_table(data)
    out = [*decision_sections.tables(data), models_table(data), tasks_table(data), summary, per_task]
    if data["speed"]:
        out.append(speed_table(data))
    if data["truncation"]:
        out.append(truncation_table(data))
    if data.get("pipelines"):
        out.append(pipelines_table(data))
    return [*out, results_table(data), wide_table(summary, per_task)]


def prompts_text(prompts: dict[str, list[str]]) -> str:
    return "; ".join(f"{role}: {json.dumps(p, ensure_ascii=False)}" for role, ps in prompts.items() for p in ps)


def revision_text(m: dict[str, Any]) -> str:
    """The hub commit, else the model identity the backend recorded (e.g. local:<content hash>)."""
    return str(m.get("revision") or m["config"].get("model") or "")


def _heads(*names: str, numeric: bool = False) -> list[HeaderCell]:
    return [HeaderCell(n, numeric=numeric) for n in names]


def models_table(data: dict[str, Any]) -> Table:
    header = _heads("Model", "Source", "Revision / content hash", "dtype", "max_seq_length", "Prompts")
    rows = []
    for m in data["models"]:
        seq = m["config"].get("max_seq_length")
        rows.append(
            [
                text_cell(m["model"]),
                text_cell(m.get("source") or "", "text"),
                short_cell(revision_text(m)),
                text_cell(m["config"].get("dtype") or ""),
                text_cell("" if seq is None else seq),
                text_cell(prompts_text(m["prompts"]) or "none", "text"),
            ]
        )
    return Table("models", "Models", header, rows)


def tasks_table(data: dict[str, Any]) -> Table:
    """The task list; a subset of public data says so ("subset: N of M items") and links the comparable mteb task
    (the two columns appear only when some task is a subset)."""
    header = [*_heads("Task", "Category", "Main metric"), HeaderCell("Items"), *_heads("Source", "License")]
    subsets = any(t.get("subset_of") for t in data["tasks"])
    if subsets:
        header[4:4] = _heads("Subset", "Comparable mteb task")
    rows = []
    for t in data["tasks"]:
        row = [
            text_cell(t["task"]),
            text_cell(t["label"]),
            text_cell(t["main_metric"]),
            num_cell(t["n_items"], 0),
            short_cell(t["source"] or ""),
            text_cell(t["license"] or "", "text"),
        ]
        if subsets:
            row[4:4] = subset_cells(t.get("subset_of"))
        rows.append(row)
    return Table("tasks", "Tasks", header, rows)


def subset_cells(s: dict[str, Any] | None) -> list[Cell]:
    """'subset: N of M items' and the mteb task linked to its dataset page ('(ruMTEB)' when MTEB(rus) has it)."""
    if not s:
        return [text_cell(""), text_cell("")]
    mark = text_cell(s["text"])
    if not s.get("mteb_task"):
        return [mark, text_cell("")]
    where = " (ruMTEB)" if s.get("in_rumteb") else " (mteb, not in ruMTEB)"
    # the dataset id is shown only when it passed the id check (url set): Markdown prints a detail as it is
    detail = f"{where}: {s['dataset']}" if s.get("url") else where
    title = f"{s.get('dataset')}@{s.get('revision')}"
    return [mark, link_cell(s["mteb_task"], s.get("url"), detail=detail, title=title)]


def summary_table(data: dict[str, Any]) -> Table:
    """Per model: n/N, Borda rank, the two overall means and each category mean."""
    cats = data["categories"]
    header = [
        HeaderCell("Model", key="model", numeric=False),
        HeaderCell("n/N", key="tasks"),
        HeaderCell("Borda rank", key="borda_rank"),
        HeaderCell("Mean (Task)", key="mean_task"),
        HeaderCell("Mean (Category)", key="mean_category"),
        *[HeaderCell(c["label"], key=f"mean_{c['category']}") for c in cats],
    ]
    rows = [
        [
            text_cell(r["model"]),
            Cell(r["tasks"].split("/")[0], r["tasks"], "num"),  # sorts by the number of tasks
            num_cell(r["borda_rank"], 0),
            num_cell(r["mean_task"]),
            num_cell(r["mean_category"]),
            *[num_cell(r[f"mean_{c['category']}"]) for c in cats],
        ]
        for r in data["rows"]
    ]
    return Table("summary", "Summary", header, rows)


def score_cell(res: dict[str, Any] | None) -> Cell:
    """A per-task cell: '57.09' with the detail ' [55.30, 58.90]' and ' ≈' for a tie, 'n/a' or blank."""
    if res is None:
        return Cell(None, "", "num")
    if res["value"] == NA:
        return num_cell(NA)
    best = bool(res.get("best"))
    detail = ""
    if res.get("ci_low") is not None:
        detail += f" [{fmt(res['ci_low'])}, {fmt(res['ci_high'])}]"
    tie = bool(res.get("tied_with_best")) and not best
    if tie:
        detail += f" {TIE}"
    return Cell(res["value"], fmt(res["value"]), "num", detail=detail, best=best, tie=tie)


def per_task_table(data: dict[str, Any]) -> Table:
    """Per model and task: the score with its interval, the best one marked, ties marked."""
    res = {(r["model"], r["task"]): r for r in data["results"]}
    tasks = data["tasks"]
    header = [
        HeaderCell("Model", key="model", numeric=False),
        *[HeaderCell(t["task"], sub=t["label"], sub_small=True) for t in tasks],
    ]
    rows = [
        [text_cell(r["model"]), *[score_cell(res.get((r["model"], t["task"]))) for t in tasks]] for r in data["rows"]
    ]
    return Table("pertask", "Per task", header, rows)


def speed_table(data: dict[str, Any]) -> Table:
    header = [HeaderCell("Model", numeric=False), *[HeaderCell(h) for _, h, _ in SPEED_COLUMNS]]
    rows = [
        [
            text_cell(s["model"]),
            *[num_cell(s[k], d) for k, _, d in SPEED_COLUMNS],
            text_cell(s["device"] or ""),
            text_cell(s["dtype"] or ""),
            text_cell("busy" if s.get("busy") else "", "text"),
        ]
        for s in data["speed"]
    ]
    return Table("speed", "Speed and size", [*header, *_heads("Device", "dtype", "Machine load")], rows)


def truncation_table(data: dict[str, Any]) -> Table:
    """Per model: token limit, tokens per 1000 characters, % truncated on each task that recorded it."""
    ttasks = [t["task"] for t in data["tasks"] if any(r["task"] == t["task"] for r in data["truncation"])]
    header = [
        HeaderCell("Model", numeric=False),
        HeaderCell("Max tokens"),
        HeaderCell("Tokens / 1000 chars"),
        *[HeaderCell("% truncated", sub=t) for t in ttasks],
    ]
    rows = [
        [
            text_cell(t["model"]),
            text_cell(fmt(t["max_tokens"]), "num"),
            num_cell(t["tokens_per_1000_chars"], 0),
            *[num_cell(t["pct_truncated"].get(k), 1) for k in ttasks],
        ]
        for t in data["truncation_by_model"]
    ]
    return Table("truncation", "Truncation", header, rows)


def _csv_value(v: Any) -> Cell:
    """A tidy-CSV cell: numbers rounded as everywhere, booleans true/false, missing blank."""
    if isinstance(v, bool):
        return Cell(v, "true" if v else "false")
    return Cell(v, "" if v is None else fmt(v))


def results_table(data: dict[str, Any]) -> Table:
    """The tidy table: a row per (model, task) with value and interval (x100) and tied_with_best."""
    header = [HeaderCell(c, numeric=False) for c in TIDY_COLUMNS]
    rows = [[_csv_value(r[c]) for c in TIDY_COLUMNS] for r in data["results"]]
    return Table("results", "Results", header, rows)


def wide_table(summary: Table, per_task: Table) -> Table:
    """Summary's columns, then a column per task with its score (no interval): a row per model."""
    header = [*summary.header, *[HeaderCell(h.value, key=h.value) for h in per_task.header[1:]]]
    rows = [[*s, *[Cell(c.value, c.display) for c in p[1:]]] for s, p in zip(summary.rows, per_task.rows, strict=True)]
    return Table("wide", "Scores", header, rows)


def provenance_lines(data: dict[str, Any]) -> list[str]:
    """The Provenance section's items as plain text (each renderer escapes and lists them): when and with which
    software and hardware the numbers were made."""
    out = []
    if data["results_dated"]:
        lo, hi = data["results_dated"]
        out.append(f"Results dated: {lo[:10]}" + ("" if lo[:10] == hi[:10] else f" to {hi[:10]}"))
    if data["software"]:
        out.append("Software: " + ", ".join(f"{k} {v}" for k, v in data["software"].items()))
    for lib, seen in data["software_mixed"].items():
        out.append(f"Software ({lib} differs): " + "; ".join(f"{v}: {', '.join(ms)}" for v, ms in seen.items()))
    for hw in data["hardware"]:
        desc = ", ".join(f"{k} {v}" for k, v in hw.items() if k not in ("machine", "models") and v not in (None, ""))
        out.append(f"Hardware (speed of {', '.join(hw['models'])}): {desc}")
    if not data["hardware"]:
        out.append(f"Hardware: no speed files ({data['speed_folder']}/<model>.json)")
    out.append("Full revision hashes and every number unrounded: leaderboard.json next to this page")
    return out
