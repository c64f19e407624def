"""Hostile task metadata and model names, end to end through write_reports: no markup in leaderboard.md or .html,
no spreadsheet formula in either CSV (issue #19)."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embbench.report.write import write_reports

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
LINK = "[click me](https://evil.example/phish)"
PIXEL = "![pixel](https://evil.example/track.png)"  # an image from a task's license
FORMULA = '=HYPERLINK("http://evil.example","x")'
HOSTILE_TASK = "@SUM(1+1)"  # a task name that is a formula
HOSTILE = {
    "formula": FORMULA,  # a model name that is a formula
    "script": f"{SCRIPT}&amp;",  # a model name that is markup (and an entity)
    "plain": "plain-model",
}


def _record(model: str, task: str, score: float) -> dict:
    return {
        "schema": 1,
        "model": model,
        "task": task,
        "category": "sts",
        "main_metric": "cosine_spearman",
        "main_score": score,
        "applicable": True,
        "metrics": {"cosine_spearman": score},
        "n_items": 10,
        "prompts": {"query": f"</td>{IMG}", "document": "+SUM(A1)"},
        "task_info": {
            "description": f"line one\n| injected | row | {SCRIPT}",
            "source": f"{IMG} {LINK}",
            "license": f"MIT\n| x | y | {PIXEL}",
            "data_fingerprint": "fp",
        },
        "items": None,
        "model_info": {"backend": "x", "model": "m", "source": f"-{IMG}", "revision": f"{SCRIPT} | rev\\|x"},
        "versions": {"embbench": "0.1.0", "evil-lib": f"<b>{IMG}</b>"},
        "date": "2026-11-27T09:00:00+00:00",
    }


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "reports"
    for folder, model in HOSTILE.items():
        for file, task in (("t1", "sts_ok"), ("t2", HOSTILE_TASK)):
            score = -0.0512 if model == HOSTILE["plain"] else 0.5  # a negative score stays a number
            path = out / "results" / folder / f"{file}.json"  # file names are safe; the contents are not
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(_record(model, task, score)), encoding="utf-8")
    (out / "speed").mkdir()
    for folder, cpu in (("script", IMG), ("formula", f"cpu\n# {SCRIPT}")):  # two machines: a warning names both
        speed = {
            "model": HOSTILE[folder],
            "throughput_texts_per_s": 100.0,
            "hardware": {"cpu": cpu, "threads": 2, "device": "=cmd|' /C calc'!A0", "dtype": LINK},
        }
        (out / "speed" / f"{folder}.json").write_text(json.dumps(speed), encoding="utf-8")
    write_reports(out, n_resamples=20, charts=False)
    return out


def _read(output: Path, name: str) -> str:
    return (output / name).read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ Markdown


class _Tags(HTMLParser):
    """Every start tag and every href/src of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("href", "src")]


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def test_markdown_passes_no_raw_html(output: Path) -> None:
    md = _read(output, "leaderboard.md")
    for bad in ("<img", "<script", "<b>", "</td>"):
        assert bad not in md
    assert "&lt;img src=x onerror=alert(1)&gt;" in md  # shown as text
    assert "&amp;amp;" in md  # an entity in a name is shown as written, not decoded


def test_markdown_renders_to_no_markup(output: Path) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(_read(output, "leaderboard.md"))
    page = _tags(html)
    assert not {"img", "script", "b"} & set(page.tags), sorted(set(page.tags))
    assert not [u for u in page.urls if "evil.example" in u], page.urls  # no link or image from a task's metadata
    assert LINK in html and PIXEL in html  # the brackets are text


def test_markdown_tables_keep_their_shape(output: Path) -> None:
    """A pipe or a line break in free text neither adds a cell nor ends the row."""
    md = _read(output, "leaderboard.md")
    table: list[str] = []
    tables = []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
        elif table:
            tables.append(table)
            table = []
    assert len(tables) >= 5
    for rows in tables:
        widths = {len(re.findall(r"(?<!\\)\|", row.replace("\\\\", ""))) for row in rows}
        assert len(widths) == 1, rows
    tasks = next(t for t in tables if t[0].startswith("| Task |"))
    assert len(tasks) == 2 + 2  # header, alignment, one row per task: the license's line break stayed inside


# ------------------------------------------------------------------------------------------ CSV


def _csv(output: Path, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_read(output, name))))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def test_csv_cells_are_never_formulas(output: Path) -> None:
    for name in ("leaderboard.csv", "leaderboard_wide.csv"):
        rows = _csv(output, name)
        for row in rows:
            for cell in row:
                if cell.startswith(FORMULA_START):
                    float(cell)  # only a number may start with '-' (a negative score)
        cells = {c for row in rows for c in row}
        assert "'" + FORMULA in cells, name  # the name is kept, as text
        assert FORMULA not in cells
    wide_header = _csv(output, "leaderboard_wide.csv")[0]
    assert "'" + HOSTILE_TASK in wide_header and HOSTILE_TASK not in wide_header
    tidy = _csv(output, "leaderboard.csv")
    assert sorted({r[1] for r in tidy[1:]} - {"sts_ok"}) == ["'" + HOSTILE_TASK]


def test_csv_negative_scores_stay_numbers(output: Path) -> None:
    tidy = {(r[0], r[1]): r for r in _csv(output, "leaderboard.csv")[1:]}
    assert tidy[("plain-model", "sts_ok")][4] == "-5.12"
    wide = {r[0]: r for r in _csv(output, "leaderboard_wide.csv")[1:]}
    assert wide["plain-model"][3] == "-5.12"  # mean_task


# ------------------------------------------------------------------------------------------ HTML


def test_html_carries_only_its_own_markup(output: Path) -> None:
    html = _read(output, "leaderboard.html")
    page = _tags(html)
    assert page.tags.count("script") == 1  # the page's own sorting script
    assert "img" not in page.tags and "b" in page.tags  # charts off; <b> only in the warning's own "Warning:"
    assert html.count("<b>") == html.count("<b>Warning:</b>")
    assert not [u for u in page.urls if "evil.example" in u or u == "x"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "&amp;amp;" in html


# ------------------------------------------------------------------------------------------ any text


TOKENS = ["<a>", "<img src=x>", "</td>", "<http://e.x>", "|", "\\", "\n", "\r", "[x](y)", "![i](p.png)", "&amp;"]
MARKUP = st.one_of(  # any text, and text made of markup pieces
    st.text(),
    st.lists(st.one_of(st.sampled_from([*TOKENS, "*", "_", "`", " ", "a"]), st.text(max_size=3))).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(MARKUP)
def test_any_text_stays_one_markdown_cell_without_markup(s: str) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    from embbench.report.markdown import text

    html = markdown_it.MarkdownIt("commonmark").enable("table").render(f"| h | x |\n|---|---|\n| {text(s)} | end |\n")
    page = _tags(html)
    assert page.tags.count("td") == 2, (s, html)  # the text neither added a cell nor broke the row
    assert set(page.tags) <= {"table", "thead", "tbody", "tr", "th", "td", "em", "strong", "code"}, (s, html)
    assert "end</td>" in html


@given(MARKUP)
def test_any_text_is_no_spreadsheet_formula(s: str) -> None:
    from embbench.report.csv import safe_text

    out = safe_text(s)
    assert not out.startswith(FORMULA_START) and out.endswith(s) and len(out) - len(s) in (0, 1)
