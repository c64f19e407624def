"""The report's table model (Report, Table, HeaderCell, Cell), its constants and the one rounding every document uses.

`report.build.build_report` turns the result files into a Report: ``data``, the JSON document (leaderboard.json)
whose numbers are rounded once by `rnd`, and ``sections``, the tables built from it. The Markdown, CSV and HTML
renderers each render the same Table sections, so the numbers agree everywhere and a column is added in one place.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

DECIMALS = 2  # scores (x100), means and interval bounds
ALPHA = 0.05
TIE = "≈"  # marks a model not significantly worse than the best one on a task
NA = "n/a"

# model_info fields that describe the model's configuration (shown in the header, compared by `embbench diff`)
CONFIG_FIELDS = (
    "backend",
    "model",
    "revision",
    "dtype",
    "max_seq_length",
    "normalize",
    "truncate_dim",
    "pooling",
    "similarity_fn",
    "model_kwargs",
    "tokenizer_kwargs",
)

SPEED_COLUMNS = [  # (key, header, decimals)
    ("texts_per_s", "Texts/s", 1),
    ("tokens_per_s", "Tokens/s", 0),
    ("batch_size", "Batch", 0),
    ("latency_ms_p50", "p50 ms", 1),
    ("latency_ms_p95", "p95 ms", 1),
    ("peak_rss_mb", "Peak RSS MB", 0),
    ("peak_gpu_mb", "Peak GPU MB", 0),
    ("params_m", "Params (M)", 1),
    ("dim", "Dim", 0),
    ("index_mb_per_1m", "Index MB / 1M docs", 0),
    ("load_s", "Load s", 1),
]

BORDA_NOTE = (
    "Borda rank: on each task a model earns (number of models - its rank) points; 1 = most points "
    "(mteb's leaderboard ranking; a missing or n/a task earns nothing)."
)

DECISION_NOTE = (
    "Role: the recommended model is the best-scoring one within budget, or, when the best ones are not "
    "distinguishable (paired bootstrap p >= 0.05), the cheapest of them; vs best: the paired test of the model "
    "against the best-scoring one within budget (small sample: a task has fewer than 30 items); Pareto: on the "
    "quality-vs-throughput (speed) or quality-vs-index-size (size) front of the ranked models."
)
RAG_NOTE = (
    "Retrieval and reranking tasks: nDCG@10, Recall@10, Recall@100 and MRR@10 (x 100) of each model, best first "
    "(the main metric is the task's, as in Per task)."
)
COMPRESSION_NOTE = (
    "The same vectors stored smaller: the first dim dimensions renormalised (as Matryoshka models are used), "
    "float16, int8, binary (Hamming search) and binary + float rescoring of the top candidates; score: the task's "
    "main metric x 100; vs full float32: the change against the model's own score."
)


def rnd(x: float | None, decimals: int = DECIMALS) -> float | None:
    """The one rounding every document uses."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), decimals)


def fmt(v: float | int | str | None, decimals: int = DECIMALS) -> str:
    """A rounded number as text ('' for missing, strings such as 'n/a' as they are)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    return f"{v:.{decimals}f}"


def legend(settings: dict[str, Any]) -> str:
    """What a per-task cell shows (the report's settings: interval, tie test, resamples, seed)."""
    s = settings
    return (
        f"Each cell: score [{s['interval']}]. Best per task in bold; {TIE} = not significantly different from the "
        f"best ({s['tie']}; {s['n_resamples']} resamples, seed {s['seed']}, no correction for multiple "
        "comparisons: it means 'not shown to be worse', not 'equal'). n/a: the category does not apply to the model."
    )


# ------------------------------------------------------------------------------------------ the table model


@dataclass(frozen=True)
class HeaderCell:
    """A column: its header text (``sub``: a second line, e.g. the task's category), the machine name CSV uses."""

    value: str
    key: str = ""  # the CSV column name ('' = the header text)
    sub: str = ""
    sub_small: bool = False  # HTML shows the second line smaller
    numeric: bool = True  # right-aligned in Markdown

    @property
    def name(self) -> str:
        return self.key or self.value


@dataclass(frozen=True)
class Cell:
    """A table cell: ``value`` is what it sorts by (None: blank, sorts last), ``display`` the text every document
    shows; a per-task score carries its interval and tie mark in ``detail`` and is marked ``best`` or ``tie``."""

    value: Any
    display: str
    style: str = ""  # "num" (a number), "text" (long free text that wraps), "" (a name)
    detail: str | None = None  # shown after display, in smaller type in HTML (None: no detail part)
    best: bool = False
    tie: bool = False
    na: bool = False  # the category does not apply to the model
    title: str | None = None  # the full text when display is shortened (HTML shows it on hover)
    link: str | None = None  # display links here (Markdown and HTML); only a SAFE_URL is ever set

    @property
    def is_number(self) -> bool:
        return isinstance(self.value, (int, float)) and not isinstance(self.value, bool)


def text_cell(text: Any, style: str = "") -> Cell:
    """A free-text cell (a name, a source, a license), sorted by its text."""
    display = "" if text is None else str(text)
    return Cell(display, display, style)


HEX_RUN = re.compile(r"[0-9a-f]{16,}")
SHORT_HEX = 12


def short_cell(text: Any, style: str = "text") -> Cell:
    """Free text with every long hex run (a commit or content hash) cut to its first 12 digits + '…'; the full
    text stays in ``title`` (and in the JSON)."""
    full = "" if text is None else str(text)
    short = HEX_RUN.sub(lambda m: m.group(0)[:SHORT_HEX] + "…", full)
    return Cell(full, short, style, title=full if short != full else None)


# an https URL of plain characters: no quotes, spaces, brackets or parentheses that could end the link's markup
SAFE_URL = re.compile(r"^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._~%/+-]*)?$")


def link_cell(text: Any, url: str | None, detail: str | None = None, title: str | None = None) -> Cell:
    """A name linked to a page (no link when the URL is not a plain https one); detail follows, unlinked."""
    display = "" if text is None else str(text)
    safe = url if isinstance(url, str) and SAFE_URL.match(url) else None
    return Cell(display, display, "", detail=detail, link=safe, title=title)


def subset_note(tasks: list[dict[str, Any]]) -> str:
    """The paragraph under the task list when some tasks are subsets of public data (plain text)."""
    subsets = [t for t in tasks if t.get("subset_of")]
    if not subsets:
        return ""
    notes = " ".join(f"{t['task']}: {t['subset_of']['note']}." for t in subsets if t["subset_of"]["note"])
    return (
        "Subset: the task holds N of the M items of the public split it was drawn from, so its scores are not the "
        "public task's and not comparable with published ones. Comparable mteb task: the public task on the same or "
        "the closest data (ruMTEB: in MTEB(rus)), linked to its Hugging Face dataset." + (f" {notes}" if notes else "")
    )


def num_cell(v: float | int | str | None, decimals: int = DECIMALS) -> Cell:
    """A rounded number (n/a: not applicable, None: missing)."""
    if v == NA:
        return Cell(None, NA, "num", na=True)
    return Cell(v, fmt(v, decimals), "num")


@dataclass(frozen=True)
class Table:
    """One section of the report: a title, a header row and rows of cells (HELM's table shape)."""

    name: str  # a stable id: "summary", "pertask", "speed", ...
    title: str
    header: list[HeaderCell]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class Report:
    """``data``: the JSON document (leaderboard.json); ``sections``: the tables every renderer shows."""

    data: dict[str, Any]
    sections: list[Table] = field(default_factory=list)

    def section(self, name: str) -> Table | None:
        return next((t for t in self.sections if t.name == name), None)

    def with_charts(self, charts: list[dict[str, str]]) -> Report:
        """The report with the charts that were written ([{name, title, png, svg}])."""
        return replace(self, data={**self.data, "charts": charts})
