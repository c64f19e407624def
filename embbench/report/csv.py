"""The CSV renderings of the report: tidy (a row per model and task) and wide (a row per model), from its tables."""

from __future__ import annotations

import csv
import io

from embbench.report.model import Cell, Report, Table

# a text cell starting with one of these is a formula to a spreadsheet (CSV injection): it is prefixed with a quote
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """Text a spreadsheet shows as text: a leading formula character gets a single quote before it."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _cell(cell: Cell) -> str:
    # numbers stay numbers (a negative score is not a formula); only text is neutralised
    return cell.display if cell.is_number else safe_text(cell.display)


def render(table: Table) -> str:
    """A table as CSV: the header's machine names, then the cells' text."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([safe_text(h.name) for h in table.header])
    for row in table.rows:
        w.writerow([_cell(c) for c in row])
    return buf.getvalue()


def tidy(report: Report) -> str:
    """A row per (model, task): value and interval (x100), tied_with_best (true/false/blank = unknown)."""
    return _render(report, "results")


def wide(report: Report) -> str:
    """A row per model: n/N, Borda rank, the means, then a column per task (x100)."""
    return _render(report, "wide")


def _render(report: Report, name: str) -> str:
    table = report.section(name)
    if table is None:
        raise ValueError(f"the report has no '{name}' table")
    return render(table)
