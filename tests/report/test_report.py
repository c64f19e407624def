"""Leaderboards (Markdown, tidy and wide CSV, JSON, HTML, charts) and `embbench diff`, on synthetic result files.

The suite: 7 tasks (one per kind of per-item detail) and 4 models:
  alpha   the best model on most tasks;
  beta    alpha with a few items changed (statistically tied with alpha on some tasks), speed on another machine;
  bm25    a ranking baseline: n/a on everything but retrieval and reranking;
  partial alpha's results without the STS task.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from embbench.cli import main
from embbench.report import charts, sections
from embbench.report.diff import diff_runs, render
from embbench.report.model import TIE, fmt
from embbench.report.write import write_reports

ROOT = Path(__file__).resolve().parents[2]
RESAMPLES = 200
VERSIONS = {"embbench": "0.1.0", "python": "3.11.7", "torch": "2.13.0+cpu", "numpy": "2.4.6"}
TASKS = {  # task -> (category, main metric, kind)
    "cls": ("classification", "accuracy", "mean"),
    "ml": ("multilabel_classification", "accuracy", "mean"),
    "clu": ("clustering", "v_measure", "runs"),
    "pc": ("pair_classification", "max_ap", "max_ap"),
    "ret": ("retrieval", "ndcg_at_10", "mean"),
    "rer": ("reranking", "map_at_1000", "mean"),
    "sts": ("sts", "cosine_spearman", "spearman"),
}
N = 240  # items per task


def base_items(kind: str, metric: str, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    if kind == "mean":
        values = np.round(rng.uniform(0, 1, N), 1)
        out = {"kind": "mean", "metric": metric, "values": values.tolist()}
        if metric in ("ndcg_at_10", "map_at_1000"):
            out["ids"] = [f"q{i}" for i in range(N)]
        return out
    if kind == "runs":
        return {"kind": "runs", "metric": metric, "values": (0.4 + rng.normal(0, 0.01, 10)).tolist()}
    if kind == "max_ap":
        y = (rng.random(N) < 0.5).astype(int)
        cos = np.round(y + rng.normal(0, 1, N), 2)
        return {"kind": "max_ap", "metric": metric, "labels": y.tolist(), "variants": {"cosine": cos.tolist()}}
    gold = np.round(rng.uniform(0, 5, N), 1)
    return {
        "kind": "spearman",
        "metric": metric,
        "gold": gold.tolist(),
        "values": (gold + rng.normal(0, 1.5, N)).tolist(),
    }


def degrade(items: dict, share: float, seed: int) -> dict:
    """A worse copy: a share of the items made worse (mean: lower values; spearman/max_ap: noisier scores)."""
    rng = np.random.default_rng(seed)
    out = copy.deepcopy(items)
    if items["kind"] == "mean":
        v = np.asarray(out["values"])
        hit = rng.random(v.size) < share
        out["values"] = np.where(hit, 0.0, v).tolist()
    elif items["kind"] == "runs":
        out["values"] = (np.asarray(out["values"]) - share).tolist()
    elif items["kind"] == "spearman":
        v = np.asarray(out["values"])
        out["values"] = (v + rng.normal(0, 8 * share, v.size)).tolist()
    else:
        for k, v in out["variants"].items():
            out["variants"][k] = (np.asarray(v) + rng.normal(0, 4 * share, len(v))).tolist()
    return out


def score_of(items: dict) -> float:
    from embbench.report.stats import point_estimate

    return point_estimate(items)


def record(model: str, task: str, items: dict | None, *, revision: str = "rev-a", prompts=None) -> dict:
    category, metric, _ = TASKS[task]
    return {
        "schema": 1,
        "model": model,
        "task": task,
        "category": category,
        "main_metric": metric,
        "main_score": None if items is None else score_of(items),
        "applicable": items is not None,
        "metrics": {} if items is None else {metric: score_of(items)},
        "n_items": N,
        "seconds": 0.1,
        "prompts": prompts or {"query": "", "document": ""},
        "params": {"seed": 42},
        "task_info": {
            "description": f"synthetic {task}",
            "source": f"https://example.org/{task} | v1",
            "license": "CC BY 4.0",
            "eval_split": "test",
            "data_fingerprint": f"fp-{task}",
        },
        "items": items,
        "model_info": {
            "backend": "sentence-transformers",
            "model": f"hub:{model}",
            "source": f"org/{model}",
            "revision": revision,
            "dtype": "float32",
            "max_seq_length": 512,
            "device": "cpu",
        },
        "versions": VERSIONS,
        "date": "2026-11-27T09:00:00+00:00",
    }


def speed(model: str, texts: float, host: str) -> dict:
    return {
        "model": model,
        "throughput_texts_per_s": texts,
        "throughput_tokens_per_s": texts * 57.3,
        "batch_size": 32,
        "latency_ms_p50": 8.26,
        "latency_ms_p95": 12.04,
        "peak_rss_mb": 1200.4,
        "peak_gpu_mb": None,
        "load_seconds": 1.26,
        "n_params": 117_653_760,
        "dim": 384,
        "index_bytes_per_1m": 384 * 4 * 1_000_000,
        "hardware": {
            "cpu": "Test CPU",
            "threads": 8,
            "gpu": None,
            "torch": "2.13.0",
            "device": "cpu",
            "dtype": "float32",
            "hostname_hash": host,
        },
        "sample": {"n_passages": 128, "n_queries": 50, "mean_chars": 400.0},
        "date": "2026-11-27",
    }


def write(output: Path, rec: dict) -> None:
    path = output / "results" / rec["model"] / f"{rec['task']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")


def make_suite(output: Path) -> Path:
    for k, (task, (_, metric, kind)) in enumerate(TASKS.items()):
        alpha = base_items(kind, metric, seed=k)
        beta = degrade(alpha, 0.01 if task in ("cls", "ret") else 0.3, seed=100 + k)  # tied on cls and ret
        write(output, record("alpha", task, alpha))
        write(output, record("beta", task, beta, prompts={"query": "query: ", "document": "passage: "}))
        ranking = task in ("ret", "rer")
        write(output, record("bm25", task, degrade(alpha, 0.5, seed=200 + k) if ranking else None))
        if task != "sts":
            write(output, record("partial", task, alpha))
    trunc = {"max_tokens": 512, "share_truncated": 0.0123, "tokens_per_1000_chars": 301.7, "texts": 480}
    for task in TASKS:
        path = output / "results" / "alpha" / f"{task}.json"
        rec = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps({**rec, "truncation": trunc}), encoding="utf-8")
    (output / "speed").mkdir(parents=True, exist_ok=True)
    for model, texts, host in (("alpha", 310.94, "h1"), ("beta", 905.0, "h2"), ("bm25", 20000.0, "h1")):
        (output / "speed" / f"{model}.json").write_text(json.dumps(speed(model, texts, host)), encoding="utf-8")
    return output


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    output = make_suite(tmp_path_factory.mktemp("report") / "reports")
    return output, write_reports(output, n_resamples=RESAMPLES)


# ------------------------------------------------------------------------------------------ parsing back


def md_tables(md: str) -> dict[str, list[list[str]]]:
    """Each '## Heading' / '### Heading' -> the rows (cells) of the first table under it, header included."""
    out: dict[str, list[list[str]]] = {}
    heading = None
    for line in md.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("|") and heading is not None:
            if set(line) <= set("|-: "):
                continue
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            out.setdefault(heading, []).append(cells)
    return out


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts, with each <h2> before it as its name."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.heading = ""
        self.in_h2 = False
        self.cell: list[str] | None = None
        self.row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "h2":
            self.in_h2, self.heading = True, ""
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append("<br>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self.in_h2 = False
        elif tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables.setdefault(self.heading, []).append(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.in_h2:
            self.heading += data
        elif self.cell is not None:
            self.cell.append(data)


CELL = re.compile(r"^\**(?P<v>[\d.]+)\**(?: \[(?P<lo>[\d.]+), (?P<hi>[\d.]+)\])?(?P<tie> ≈)?$")


def parse_cell(text: str) -> tuple | str | None:
    if text in ("", "n/a"):
        return text or None
    m = CELL.match(text)
    assert m, text
    lo = None if m["lo"] is None else float(m["lo"])
    hi = None if m["hi"] is None else float(m["hi"])
    return float(m["v"]), lo, hi


def read(output: Path, name: str) -> str:
    return (output / name).read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ documents


def test_every_document_is_written(suite: tuple[Path, list[Path]]) -> None:
    _, paths = suite
    names = {p.name for p in paths}
    assert {
        "leaderboard.md",
        "leaderboard.csv",
        "leaderboard_wide.csv",
        "leaderboard.json",
        "leaderboard.html",
    } <= names
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)


def test_numbers_agree_across_md_csv_json_html(suite: tuple[Path, list[Path]]) -> None:
    output, _ = suite
    js = json.loads(read(output, "leaderboard.json"))
    tasks = [t["task"] for t in js["tasks"]]
    # JSON: the tidy results
    from_json = {
        (r["model"], r["task"]): "n/a" if r["value"] == "n/a" else (r["value"], r["ci_low"], r["ci_high"])
        for r in js["results"]
    }
    # tidy CSV
    rows = list(csv.DictReader(io.StringIO(read(output, "leaderboard.csv"))))
    assert list(rows[0]) == sections.TIDY_COLUMNS
    from_csv = {
        (r["model"], r["task"]): "n/a"
        if r["value"] == "n/a"
        else (float(r["value"]), float(r["ci_low"]), float(r["ci_high"]))
        for r in rows
    }
    # Markdown per-task table
    table = md_tables(read(output, "leaderboard.md"))["Per task"]
    assert [h.split(" (")[0] for h in table[0][1:]] == tasks
    from_md = {}
    for cells in table[1:]:
        for t, c in zip(tasks, cells[1:], strict=True):
            if c:
                from_md[(cells[0], t)] = parse_cell(c)
    # HTML per-task table
    page = Tables()
    page.feed(read(output, "leaderboard.html"))
    from_html = {}
    for cells in page.tables["Per task"][1:]:
        for t, c in zip(tasks, cells[1:], strict=True):
            if c:
                from_html[(cells[0], t)] = parse_cell(c)
    assert from_json == from_csv == from_md == from_html
    assert len(from_json) == 4 * 7 - 1  # partial lacks sts

    # summary means: JSON rows = wide CSV = Markdown summary = HTML summary
    wide = {r["model"]: r for r in csv.DictReader(io.StringIO(read(output, "leaderboard_wide.csv")))}
    md_sum = md_tables(read(output, "leaderboard.md"))["Summary"]
    html_sum = page.tables["Summary"]
    assert md_sum[0] == html_sum[0][: len(md_sum[0])]
    for row, md_row, html_row in zip(js["rows"], md_sum[1:], html_sum[1:], strict=True):
        m = row["model"]
        assert md_row[0] == html_row[0] == m
        expect = [
            row["tasks"],
            fmt(row["borda_rank"]),
            fmt(row["mean_task"]),
            fmt(row["mean_category"]),
        ]
        assert md_row[1:5] == html_row[1:5] == expect
        assert [wide[m][k] for k in ("tasks", "borda_rank", "mean_task", "mean_category")] == expect
        for t in tasks:
            assert wide[m][t] == fmt(row[t])
    # the value is the result file's main score x 100, rounded once
    alpha_cls = json.loads(read(output, "results/alpha/cls.json"))["main_score"]
    assert from_json[("alpha", "cls")][0] == round(100 * alpha_cls, 2)


def test_na_renders_na_and_blanks_the_means(suite: tuple[Path, list[Path]]) -> None:
    output, _ = suite
    wide = {r["model"]: r for r in csv.DictReader(io.StringIO(read(output, "leaderboard_wide.csv")))}
    bm25 = wide["bm25"]
    assert bm25["cls"] == "n/a" and bm25["sts"] == "n/a" and bm25["ret"] not in ("", "n/a")
    assert bm25["mean_task"] == "" and bm25["mean_category"] == "" and bm25["mean_classification"] == ""
    assert bm25["mean_retrieval"] == bm25["ret"]
    assert bm25["tasks"] == "2/7"
    tidy = [r for r in csv.DictReader(io.StringIO(read(output, "leaderboard.csv"))) if r["model"] == "bm25"]
    na = {r["task"]: r for r in tidy if r["value"] == "n/a"}
    assert set(na) == set(TASKS) - {"ret", "rer"}
    assert all(r["ci_low"] == r["ci_high"] == r["tied_with_best"] == "" for r in na.values())
    md = md_tables(read(output, "leaderboard.md"))
    row = next(r for r in md["Per task"] if r[0] == "bm25")
    assert row[1] == "n/a"
    summary = next(r for r in md["Summary"] if r[0] == "bm25")
    assert summary[3] == summary[4] == ""  # Mean (Task), Mean (Category)


def test_missing_task_blanks_the_means(suite: tuple[Path, list[Path]]) -> None:
    output, _ = suite
    wide = {r["model"]: r for r in csv.DictReader(io.StringIO(read(output, "leaderboard_wide.csv")))}
    p, a = wide["partial"], wide["alpha"]
    assert p["tasks"] == "6/7" and p["sts"] == "" and p["mean_sts"] == ""
    assert p["mean_task"] == "" and p["mean_category"] == ""
    assert p["mean_retrieval"] == a["mean_retrieval"] != ""
    order = list(wide)
    assert order.index("alpha") < order.index("partial") and order.index("beta") < order.index("partial")
    md_row = next(r for r in md_tables(read(output, "leaderboard.md"))["Per task"] if r[0] == "partial")
    assert md_row[-1] == ""  # sts is the last column (category order) and blank, not n/a


def test_ties_and_best_are_marked(suite: tuple[Path, list[Path]]) -> None:
    output, _ = suite
    js = json.loads(read(output, "leaderboard.json"))
    res = {(r["model"], r["task"]): r for r in js["results"]}
    # alpha and partial hold the same items: partial ties with alpha wherever alpha is best
    assert res[("alpha", "cls")]["best"] and res[("alpha", "cls")]["tied_with_best"] is True
    assert res[("beta", "cls")]["tied_with_best"] is True  # 1% of items changed
    assert res[("beta", "ml")]["tied_with_best"] is False  # 30% of items changed
    assert res[("bm25", "ret")]["tied_with_best"] is False
    tidy = {(r["model"], r["task"]): r for r in csv.DictReader(io.StringIO(read(output, "leaderboard.csv")))}
    assert tidy[("beta", "cls")]["tied_with_best"] == "true" and tidy[("beta", "ml")]["tied_with_best"] == "false"
    md = {r[0]: r for r in md_tables(read(output, "leaderboard.md"))["Per task"]}
    tasks = [t["task"] for t in js["tasks"]]
    assert md["alpha"][1 + tasks.index("cls")].startswith("**")
    assert md["beta"][1 + tasks.index("cls")].endswith(TIE)
    assert not md["beta"][1 + tasks.index("ml")].endswith(TIE)
    for r in js["results"]:  # the interval holds the value
        if r["ci_low"] is not None:
            assert r["ci_low"] <= r["value"] <= r["ci_high"], r


def test_borda_ranks_in_summary(suite: tuple[Path, list[Path]]) -> None:
    output, _ = suite
    js = json.loads(read(output, "leaderboard.json"))
    from embbench.report.stats import borda_ranks

    scores: dict[str, dict[str, float | None]] = {}
    for r in js["results"]:
        scores.setdefault(r["task"], {})[r["model"]] = r["main_score"]
    expect = borda_ranks(scores)
    assert {r["model"]: r["borda_rank"] for r in js["rows"]} == expect
    assert expect["alpha"] == 1


def test_header_speed_truncation_and_warnings(suite: tuple[Path, list[Path]]) -> None:
    output, _ = suite
    md = read(output, "leaderboard.md")
    tables = md_tables(md)
    assert "Software: embbench 0.1.0, python 3.11.7, torch 2.13.0+cpu, numpy 2.4.6" in md
    assert "Hardware (speed of alpha, bm25)" in md or "Hardware (speed of bm25, alpha)" in md
    assert "speed files come from different machines" in md  # beta was timed on another host
    models = {r[0]: r for r in tables["Models"][1:]}
    assert models["beta"][2] == "rev-a" and 'query: "query: "' in models["beta"][5] and models["alpha"][5] == "none"
    t = {r[0]: r for r in tables["Tasks"][1:]}
    assert t["cls"][4] == "https://example.org/cls | v1" and t["cls"][5] == "CC BY 4.0"  # pipes escaped
    sp = {r[0]: r for r in tables["Speed and size"][1:]}
    head = tables["Speed and size"][0]
    assert sp["alpha"][head.index("Texts/s")] == "310.9" and sp["alpha"][head.index("Params (M)")] == "117.7"
    assert sp["alpha"][head.index("Index MB / 1M docs")] == "1536" and "partial" not in sp
    js = json.loads(read(output, "leaderboard.json"))
    assert [s["texts_per_s"] for s in js["speed"] if s["model"] == "alpha"] == [310.9]
    tr = tables["Truncation"]
    assert tr[1][:4] == ["alpha", "512", "302", "1.2"]  # 301.7 -> 302; 1.23% -> 1.2
    page = Tables()
    page.feed(read(output, "leaderboard.html"))
    assert page.tables["Truncation"][1][:4] == tr[1][:4]
    assert page.tables["Speed and size"][1:] == [
        r[: len(page.tables["Speed and size"][1])] for r in tables["Speed and size"][1:]
    ]


def test_without_speed_files(tmp_path: Path) -> None:
    output = make_suite(tmp_path / "reports")
    shutil.rmtree(output / "speed")
    write_reports(output, n_resamples=50, charts=False, html=False)
    md = read(output, "leaderboard.md")
    assert "## Speed and size" not in md and "no speed files" in md and "## Charts" not in md
    assert not (output / "leaderboard.html").exists()


def test_charts_are_written_and_linked(suite: tuple[Path, list[Path]]) -> None:
    pytest.importorskip("matplotlib")
    output, paths = suite
    for name in ("quality_vs_speed", "categories"):
        for ext in ("png", "svg"):
            p = output / "charts" / f"{name}.{ext}"
            assert p in paths and p.stat().st_size > 1000
        assert f"](charts/{name}.png)" in read(output, "leaderboard.md")
    html = read(output, "leaderboard.html")
    assert html.count("data:image/svg+xml;base64,") == 2


def test_pareto_front() -> None:
    pts = [("slow-best", 10.0, 60.0), ("fast-bad", 1000.0, 40.0), ("dominated", 5.0, 50.0), ("mid", 100.0, 55.0)]
    assert charts.pareto_front(pts) == ["slow-best", "fast-bad", "mid"]


def test_charts_skipped_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setattr(charts, "_warned", False)
    output = make_suite(tmp_path / "reports")
    write_reports(output, n_resamples=20)
    write_reports(output, n_resamples=20)
    err = capsys.readouterr().err
    assert err.count("matplotlib is not installed") == 1
    assert "## Charts" not in read(output, "leaderboard.md") and not (output / "charts").exists()
    assert "data:image" not in read(output, "leaderboard.html")


def test_html_is_self_contained(suite: tuple[Path, list[Path]]) -> None:
    output, _ = suite
    html = read(output, "leaderboard.html")
    assert "<script src" not in html and "<link" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<style>" in html and "<script>" in html


def test_html_renders_in_headless_chromium(suite: tuple[Path, list[Path]], tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no chromium (apt-get install -y chromium)")
    output, _ = suite
    shot = tmp_path / "shot.png"
    res = subprocess.run(
        [
            "bash",
            str(ROOT / "scripts" / "screenshot_html.sh"),
            str(output / "leaderboard.html"),
            str(shot),
            "1200x1600",
        ],
        capture_output=True,
        text=True,
        timeout=150,
        env={"CHROMIUM": browser, "PATH": "/usr/bin:/bin"},
    )
    assert res.returncode == 0, res.stderr
    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerender_is_stable(tmp_path: Path) -> None:
    output = make_suite(tmp_path / "reports")
    write_reports(output, n_resamples=50, charts=False)
    first = {n: read(output, n) for n in ("leaderboard.csv", "leaderboard_wide.csv")}
    write_reports(output, n_resamples=50, charts=False)
    assert first == {n: read(output, n) for n in first}


# ------------------------------------------------------------------------------------------ diff


def test_diff_of_a_run_with_itself_shows_no_change(suite: tuple[Path, list[Path]]) -> None:
    output, _ = suite
    d = diff_runs(output, output, n_resamples=50)
    s = d["summary"]
    assert s == {
        "pairs_in_both": 27,
        "only_a": 0,
        "only_b": 0,
        "score_changed": 0,
        "significant": 0,
        "config_changed": 0,
    }
    for p in d["pairs"]:
        assert p["changes"] == [] and p["score_changed"] is False
        if p["score_a"] != "n/a":
            assert p["delta"] == 0 and p["p_value"] == 1.0
    assert all(sp["ratio"] == 1.0 and sp["same_machine"] for sp in d["speed"])
    assert "No change" in render(d)


def test_diff_reports_deltas_and_what_changed(suite: tuple[Path, list[Path]], tmp_path: Path) -> None:
    output, _ = suite
    other = tmp_path / "run_b"
    shutil.copytree(output / "results", other / "results")
    # beta: new revision and prompt on every task; its classification items got much worse
    for task in TASKS:
        path = other / "results" / "beta" / f"{task}.json"
        rec = json.loads(path.read_text(encoding="utf-8"))
        rec["model_info"]["revision"] = "rev-b"
        rec["prompts"]["query"] = "search_query: "
        if task == "cls":
            rec["items"] = degrade(rec["items"], 0.5, seed=9)
            rec["main_score"] = score_of(rec["items"])
        path.write_text(json.dumps(rec), encoding="utf-8")
    # alpha/ret: the data changed -> no paired test
    path = other / "results" / "alpha" / "ret.json"
    rec = json.loads(path.read_text(encoding="utf-8"))
    rec["task_info"]["data_fingerprint"] = "fp-new"
    rec["versions"] = {**VERSIONS, "torch": "2.14.0"}
    path.write_text(json.dumps(rec), encoding="utf-8")
    (other / "results" / "partial" / "cls.json").unlink()

    d = diff_runs(output, other, n_resamples=100)
    pairs = {(p["model"], p["task"]): p for p in d["pairs"]}
    cls = pairs[("beta", "cls")]
    assert cls["delta"] < 0 and cls["significant"] is True and cls["p_value"] < 0.05
    assert {c["field"] for c in cls["changes"]} == {"model.revision", "prompt.query"}
    assert pairs[("beta", "ml")]["delta"] == 0 and pairs[("beta", "ml")]["p_value"] == 1.0
    ret = pairs[("alpha", "ret")]
    assert ret["p_value"] is None and {c["field"] for c in ret["changes"]} == {"data_fingerprint", "version.torch"}
    assert pairs[("partial", "cls")]["status"] == "only_a"
    assert d["summary"]["only_a"] == 1 and d["summary"]["config_changed"] == 8
    text = render(d)
    assert "model.revision: rev-a -> rev-b (all tasks)" in text and "version.torch: 2.13.0+cpu -> 2.14.0 (ret)" in text
    assert re.search(r"\| beta \| cls \| [\d.]+ \| [\d.]+ \| -[\d.]+ \* \|", text)


def test_cli_report_and_diff(tmp_path: Path, capsys) -> None:
    output = make_suite(tmp_path / "reports")
    assert main(["report", "--output", str(output), "--resamples", "30", "--no-charts", "--no-html"]) == 0
    out = capsys.readouterr().out
    assert str(output / "leaderboard.csv") in out and str(output / "leaderboard_wide.csv") in out
    assert "leaderboard.html" not in out
    js = tmp_path / "diff.json"
    assert main(["diff", str(output), str(output), "--resamples", "30", "--json", str(js)]) == 0
    assert "No change" in capsys.readouterr().out
    assert json.loads(js.read_text(encoding="utf-8"))["summary"]["score_changed"] == 0
    assert main(["diff", str(output), str(tmp_path / "nowhere")]) == 2
    assert "no results folder" in capsys.readouterr().err
