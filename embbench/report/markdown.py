"""leaderboard.md: the wiki page (setup, models, tasks, summary, per-task scores, charts, speed, truncation).

Every piece of free text (model and task names, sources, licenses, prompts, revisions, warnings) goes through
`text`, so the page carries no markup it was not meant to: HTML is escaped (a Markdown renderer passes raw HTML
through), and so are link brackets, backslashes, table pipes and line breaks.
"""

from __future__ import annotations

from typing import Any

from embbench.report.model import BORDA_NOTE, Cell, HeaderCell, Report, Table, legend

# (section, heading level); "charts" is the chart images, not a table
LAYOUT = [("models", 3), ("tasks", 3), ("summary", 2), ("pertask", 2), ("charts", 2), ("speed", 2), ("truncation", 2)]

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
    lines = _setup(data)
    for name, level in LAYOUT:
        if name == "charts":
            lines += _charts(data["charts"])
            continue
        table = report.section(name)
        if table is None:
            continue
        lines += ["", f"{'#' * level} {table.title}", "", *_table(table)]
        note = _note(name, data)
        if note:
            lines += ["", note]
    return "\n".join(lines) + "\n"


def _setup(data: dict[str, Any]) -> list[str]:
    """The title, what the numbers are, when and with which software and hardware they were made, the warnings."""
    lines = [
        "# embbench leaderboard",
        "",
        f"Generated {text(data['generated'])} from {data['n_results']} result files by `embbench report`. Scores "
        "are each task's main metric x 100. A mean is blank when the model lacks a task it covers or the task is "
        "n/a for it (never a mean over what it has).",
        "",
    ]
    if data["results_dated"]:
        lo, hi = data["results_dated"]
        lines.append(f"- Results dated: {text(lo[:10])}" + ("" if lo[:10] == hi[:10] else f" to {text(hi[:10])}"))
    if data["software"]:
        lines.append("- Software: " + text(", ".join(f"{k} {v}" for k, v in data["software"].items())))
    for lib, seen in data["software_mixed"].items():
        versions = "; ".join(f"{v}: {', '.join(ms)}" for v, ms in seen.items())
        lines.append(f"- Software ({text(lib)} differs): " + text(versions))
    for hw in data["hardware"]:
        desc = ", ".join(f"{k} {v}" for k, v in hw.items() if k not in ("machine", "models") and v not in (None, ""))
        lines.append(f"- Hardware (speed of {text(', '.join(hw['models']))}): {text(desc)}")
    if not data["hardware"]:
        lines.append("- Hardware: no speed files (`reports/speed/<model>.json`)")
    for w in data["warnings"]:
        lines += ["", f"> **Warning:** {text(w)}"]
    return lines


def _head(h: HeaderCell) -> str:
    return text(h.value) + (f"<br>{text(h.sub)}" if h.sub else "")


def _cell(c: Cell) -> str:
    """The cell's text; a per-task score in bold when it is the best, its interval and tie mark after it."""
    shown = text(c.display)
    if c.best and shown:
        shown = f"**{shown}**"
    return shown + (c.detail or "")


def _table(table: Table) -> list[str]:
    return [
        "| " + " | ".join(_head(h) for h in table.header) + " |",
        "|" + "|".join("---:" if h.numeric else "---" for h in table.header) + "|",
        *("| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows),
    ]


def _charts(charts: list[dict[str, str]]) -> list[str]:
    if not charts:
        return []
    lines = ["", "## Charts"]
    for c in charts:
        lines += ["", f"![{text(c['title'])}]({c['png']}) ([SVG]({c['svg']}))"]
    return lines


def _note(name: str, data: dict[str, Any]) -> str:
    """The paragraph under a table saying how to read it."""
    if name == "summary":
        return BORDA_NOTE
    if name == "pertask":
        return legend(data["settings"])
    if name == "speed":
        return (
            "Measured by the speed benchmark (`reports/speed/<model>.json` holds the sample and the hardware); "
            "index MB per 1M docs = bytes per 1M vectors / 10^6."
        )
    if name == "truncation":
        return (
            "% of the task's texts longer than the model's token limit (cut before encoding); tokens per 1000 "
            "characters: the mean over the tasks (a tokenizer's efficiency on Russian text)."
        )
    return ""
