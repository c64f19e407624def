"""Markdown and CSV renderings of the report dict that report.build_report makes (cells, tables, tidy/wide CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from embbench.report.model import NA, SPEED_COLUMNS, TIE, fmt

# ------------------------------------------------------------------------------------------ cells


def cell_value(res: dict[str, Any] | None, *, bold: Callable[[str], str] = lambda s: s) -> str:
    """A per-task cell: '57.09 [55.30, 58.90]', the best one emphasised, a tie marked '≈', 'n/a' or ''."""
    if res is None:
        return ""
    if res["value"] == NA:
        return NA
    text = fmt(res["value"])
    if res.get("best"):
        text = bold(text)
    if res.get("ci_low") is not None:
        text += f" [{fmt(res['ci_low'])}, {fmt(res['ci_high'])}]"
    if res.get("tied_with_best") and not res.get("best"):
        text += f" {TIE}"
    return text


def legend(report: dict[str, Any]) -> str:
    s = report["settings"]
    return (
        f"Each cell: score [{s['interval']}]. Best per task in bold; {TIE} = not significantly different from the "
        f"best ({s['tie']}; {s['n_resamples']} resamples, seed {s['seed']}, no correction for multiple "
        "comparisons: it means 'not shown to be worse', not 'equal'). n/a: the category does not apply to the model."
    )


def prompts_text(prompts: dict[str, list[str]]) -> str:
    return "; ".join(f"{role}: {json.dumps(p, ensure_ascii=False)}" for role, ps in prompts.items() for p in ps)


def revision_text(m: dict[str, Any]) -> str:
    """The hub commit, else the model identity the backend recorded (e.g. local:<content hash>)."""
    return str(m.get("revision") or m["config"].get("model") or "")


# ------------------------------------------------------------------------------------------ Markdown


def _md(text: Any) -> str:
    return "" if text is None else str(text).replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list[str]], align: list[str] | None = None) -> list[str]:
    align = align or ["---"] + ["---:"] * (len(head) - 1)
    return [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(align) + "|",
        *("| " + " | ".join(_md(c) if c else "" for c in row) + " |" for row in rows),
    ]


def markdown(report: dict[str, Any]) -> str:
    """The wiki page: setup, models, tasks, summary, per-task scores with intervals, speed, truncation, charts."""
    cats = report["categories"]
    tasks = report["tasks"]
    lines = [
        "# embbench leaderboard",
        "",
        f"Generated {report['generated']} from {report['n_results']} result files by `embbench report`. Scores are "
        "each task's main metric x 100. A mean is blank when the model lacks a task it covers or the task is "
        "n/a for it (never a mean over what it has).",
        "",
    ]
    if report["results_dated"]:
        lo, hi = report["results_dated"]
        lines.append(f"- Results dated: {lo[:10]}" + ("" if lo[:10] == hi[:10] else f" to {hi[:10]}"))
    sw = report["software"]
    if sw:
        lines.append("- Software: " + ", ".join(f"{k} {v}" for k, v in sw.items()))
    for lib, seen in report["software_mixed"].items():
        lines.append(f"- Software ({lib} differs): " + "; ".join(f"{v}: {', '.join(ms)}" for v, ms in seen.items()))
    for hw in report["hardware"]:
        desc = ", ".join(f"{k} {v}" for k, v in hw.items() if k not in ("machine", "models") and v not in (None, ""))
        lines.append(f"- Hardware (speed of {', '.join(hw['models'])}): {desc}")
    if not report["hardware"]:
        lines.append("- Hardware: no speed files (`reports/speed/<model>.json`)")
    for w in report["warnings"]:
        lines += ["", f"> **Warning:** {_md(w)}"]
    lines += ["", "### Models", ""]
    lines += _table(
        ["Model", "Source", "Revision / content hash", "dtype", "max_seq_length", "Prompts"],
        [
            [
                m["model"],
                str(m.get("source") or ""),
                revision_text(m),
                str(m["config"].get("dtype") or ""),
                "" if m["config"].get("max_seq_length") is None else str(m["config"]["max_seq_length"]),
                prompts_text(m["prompts"]) or "none",
            ]
            for m in report["models"]
        ],
        ["---"] * 6,
    )
    lines += ["", "### Tasks", ""]
    lines += _table(
        ["Task", "Category", "Main metric", "Items", "Source", "License"],
        [
            [t["task"], t["label"], t["main_metric"], fmt(t["n_items"]), t["source"] or "", t["license"] or ""]
            for t in tasks
        ],
        ["---", "---", "---", "---:", "---", "---"],
    )
    lines += ["", "## Summary", ""]
    head = ["Model", "n/N", "Borda rank", "Mean (Task)", "Mean (Category)", *[c["label"] for c in cats]]
    lines += _table(
        head,
        [
            [
                r["model"],
                r["tasks"],
                fmt(r["borda_rank"]),
                fmt(r["mean_task"]),
                fmt(r["mean_category"]),
                *[fmt(r[f"mean_{c['category']}"]) for c in cats],
            ]
            for r in report["rows"]
        ],
    )
    lines += [
        "",
        "Borda rank: on each task a model earns (number of models - its rank) points; 1 = most points "
        "(mteb's leaderboard ranking; a missing or n/a task earns nothing).",
        "",
        "## Per task",
        "",
    ]
    res = {(r["model"], r["task"]): r for r in report["results"]}
    lines += _table(
        ["Model", *[f"{t['task']}<br>{t['label']}" for t in tasks]],
        [
            [r["model"], *[cell_value(res.get((r["model"], t["task"])), bold=lambda s: f"**{s}**") for t in tasks]]
            for r in report["rows"]
        ],
    )
    lines += ["", legend(report)]
    charts = {c["name"]: c for c in report["charts"]}
    if charts:
        lines += ["", "## Charts", ""]
        for c in charts.values():
            lines += [f"![{c['title']}]({c['png']}) ([SVG]({c['svg']}))", ""]
        lines.pop()
    if report["speed"]:
        lines += ["", "## Speed and size", ""]
        lines += _table(
            ["Model", *[h for _, h, _ in SPEED_COLUMNS], "Device", "dtype"],
            [
                [
                    s["model"],
                    *[fmt(s[k], d) for k, _, d in SPEED_COLUMNS],
                    str(s["device"] or ""),
                    str(s["dtype"] or ""),
                ]
                for s in report["speed"]
            ],
            ["---"] + ["---:"] * len(SPEED_COLUMNS) + ["---", "---"],
        )
        lines += [
            "",
            "Measured by the speed benchmark (`reports/speed/<model>.json` holds the sample and the hardware); "
            "index MB per 1M docs = bytes per 1M vectors / 10^6.",
        ]
    if report["truncation"]:
        ttasks = [t["task"] for t in tasks if any(r["task"] == t["task"] for r in report["truncation"])]
        lines += ["", "## Truncation", ""]
        lines += _table(
            ["Model", "Max tokens", "Tokens / 1000 chars", *[f"% truncated<br>{t}" for t in ttasks]],
            [
                [
                    t["model"],
                    fmt(t["max_tokens"]),
                    fmt(t["tokens_per_1000_chars"], 0),
                    *[fmt(t["pct_truncated"].get(k), 1) for k in ttasks],
                ]
                for t in report["truncation_by_model"]
            ],
        )
        lines += [
            "",
            "% of the task's texts longer than the model's token limit (cut before encoding); tokens per 1000 "
            "characters: the mean over the tasks (a tokenizer's efficiency on Russian text).",
        ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ CSV


TIDY_COLUMNS = ["model", "task", "category", "metric", "value", "ci_low", "ci_high", "tied_with_best", "n_items"]


def _csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return fmt(v)


def csv_tidy(report: dict[str, Any]) -> str:
    """A row per (model, task): value and interval (x100), tied_with_best (true/false/blank = unknown)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(TIDY_COLUMNS)
    for r in report["results"]:
        w.writerow([_csv_cell(r[c]) for c in TIDY_COLUMNS])
    return buf.getvalue()


def wide_columns(report: dict[str, Any]) -> list[str]:
    return [
        "model",
        "tasks",
        "borda_rank",
        "mean_task",
        "mean_category",
        *[f"mean_{c['category']}" for c in report["categories"]],
        *[t["task"] for t in report["tasks"]],
    ]


def csv_wide(report: dict[str, Any]) -> str:
    """A row per model: n/N, Borda rank, the means, then a column per task (x100)."""
    buf = io.StringIO()
    cols = wide_columns(report)
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for row in report["rows"]:
        w.writerow([_csv_cell(row[c]) for c in cols])
    return buf.getvalue()
