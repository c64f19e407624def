"""leaderboard.md: the wiki page (decision, summary, per-task scores, charts, speed, cost, ..., provenance last).

Wiki-ready: GitHub/GitLab-flavoured tables that also paste into Confluence, no raw HTML (a header's second line is
written in parentheses), long hashes shortened (the full value is in leaderboard.json), chart images referenced
relative to the page in the charts/ folder, which the text names.

Every piece of free text (model and task names, sources, licenses, prompts, revisions, warnings) goes through
`text`, so the page carries no markup it was not meant to: HTML is escaped (a Markdown renderer passes raw HTML
through), and so are link brackets, backslashes, table pipes and line breaks.
"""

from __future__ import annotations

from typing import Any

from embbench.report.cost import cost_note
from embbench.report.model import (
    BORDA_NOTE,
    COMPRESSION_NOTE,
    DECISION_NOTE,
    RAG_NOTE,
    Cell,
    HeaderCell,
    Report,
    Table,
    legend,
    subset_note,
)
from embbench.report.sections import provenance_lines

# (section, heading level) in page order: the decision and the summary first, provenance last; "decision",
# "charts" and "provenance" are not tables
LAYOUT = [
    ("decision", 2),
    ("warnings", 2),
    ("not_evaluated", 2),
    ("summary", 2),
    ("rag", 2),
    ("pertask", 2),
    ("pipelines", 2),
    ("charts", 2),
    ("speed", 2),
    ("cost", 2),
    ("cost_by_task", 3),
    ("compression", 2),
    ("truncation", 2),
    ("provenance", 2),
    ("models", 3),
    ("tasks", 3),
]

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\\": "\\\\", "[": "\\[", "]": "\\]", "|": "\\|"}


def text(value: Any) -> str:
    """Free text made inert: HTML special characters as entities, link brackets, backslashes and pipes escaped,
    line breaks as spaces (a cell or list item stays one line)."""
    s = "" if value is None else str(value)
    s = "".join(_ESCAPES.get(ch, ch) for ch in s)
    return s.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def render(report: Report) -> str:
    """The page: the same tables as leaderboard.html and the CSVs (all render the report's sections)."""
    data = report.data
    lines = _intro(data)
    for name, level in LAYOUT:
        if name in _SPECIAL:
            lines += _SPECIAL[name](report)
            continue
        table = report.section(name)
        if table is None:
            continue
        lines += ["", f"{'#' * level} {table.title}", "", *_table(table)]
        note = _note(name, data)
        if note:
            lines += ["", note]
    return "\n".join(lines) + "\n"


def _intro(data: dict[str, Any]) -> list[str]:
    return [
        "# embbench leaderboard",
        "",
        f"Generated {text(data['generated'])} from {data['n_results']} result files by "
        f"`{text(data.get('generated_by') or 'embbench report')}`. Scores are each task's main metric x 100. A mean "
        "is blank when the model lacks a task it covers or the task is n/a for it (never a mean over what it has). "
        "Provenance (software, hardware, model revisions, task sources) is at the end.",
    ]


def _decision(report: Report) -> list[str]:
    """Per use: the recommendation, the runners-up, the reasons, the table of every ranked model, the score rule."""
    lines = ["", "## Decision"]
    for d in report.data["decision"].values():
        table = report.section(f"decision_{d['use']}")
        lines += ["", f"### {text(d['use'])}: {text(d['label'])}", ""]
        rec = f"**Recommended: {text(d['recommended'])}.**" if d["recommended"] else "**No recommendation.**"
        if d["runners_up"]:
            rec += " Runners-up: " + text(", ".join(d["runners_up"])) + "."
        lines += [rec, "", *[f"- {text(r)}" for r in d["reasons"]]]
        if table is not None and table.rows:
            lines += ["", *_table(table)]
        lines += ["", text(d["score_rule"])]
    return [*lines, "", DECISION_NOTE]


def _warnings(report: Report) -> list[str]:
    lines: list[str] = []
    for w in report.data["warnings"]:
        lines += ["", f"> **Warning:** {text(w)}"]
    return lines


def _provenance(report: Report) -> list[str]:
    """When and with which software and hardware the numbers were made (sections.provenance_lines)."""
    return ["", "## Provenance", "", *(f"- {text(x)}" for x in provenance_lines(report.data))]


def _head(h: HeaderCell) -> str:
    return text(h.value) + (f" ({text(h.sub)})" if h.sub else "")


def _cell(c: Cell) -> str:
    """The cell's text; a per-task score in bold when it is the best, its interval and tie mark after it."""
    shown = text(c.display)
    if c.link and shown:  # a SAFE_URL (report/model.py): nothing in it can end the link
        shown = f"[{shown}]({c.link})"
    if c.best and shown:
        shown = f"**{shown}**"
    return shown + (c.detail or "")


def _table(table: Table) -> list[str]:
    return [
        "| " + " | ".join(_head(h) for h in table.header) + " |",
        "|" + "|".join("---:" if h.numeric else "---" for h in table.header) + "|",
        *("| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows),
    ]


def _charts(report: Report) -> list[str]:
    charts = report.data["charts"]
    if not charts:
        return []
    folder = charts[0]["png"].rsplit("/", 1)[0]
    lines = [
        "",
        "## Charts",
        "",
        f"The images are files in the `{text(folder)}/` folder next to this page (PNG, and SVG to zoom): copy that "
        "folder along with the page, or attach its files to the wiki page, and the links below keep working.",
    ]
    for c in charts:
        lines += ["", f"![{text(c['title'])}]({c['png']}) ([SVG]({c['svg']}))"]
    return lines


_SPECIAL = {"decision": _decision, "warnings": _warnings, "charts": _charts, "provenance": _provenance}


def _note(name: str, data: dict[str, Any]) -> str:
    """The paragraph under a table saying how to read it."""
    if name == "summary":
        return BORDA_NOTE
    if name == "pertask":
        return legend(data["settings"])
    if name == "speed":
        return (
            f"Measured by the speed probe (`{text(data['speed_folder'])}/<model>.json` holds the sample and the "
            "hardware); index MB per 1M docs = bytes per 1M float32 vectors / 10^6; machine load: 'busy' when other "
            "processes used a quarter of the CPUs or more during the probe (timings then include the contention)."
        )
    if name == "cost":
        return " ".join(text(n) for n in [cost_note(data["gpu_hour_usd"]), *data["cost_notes"]])
    if name == "rag":
        return RAG_NOTE
    if name == "compression":
        return COMPRESSION_NOTE
    if name == "truncation":
        return (
            "% of the task's texts longer than the model's token limit (cut before encoding); tokens per 1000 "
            "characters: the mean over the tasks (a tokenizer's efficiency on Russian text)."
        )
    if name == "tasks":
        return text(subset_note(data["tasks"]))
    return ""
