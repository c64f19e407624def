"""Tasks that are small subsets of public data (a task file's `subset_of:`): the task list marks them
"subset: N of M items" and links the comparable mteb task in Markdown, HTML and leaderboard.json; the built-in demo
tasks carry the block with mteb's own dataset ids."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from embbench.report.write import write_reports
from embbench.run.record import task_info
from embbench.spec import load_task, load_tasks
from tests.helpers import cli

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "embbench" / "resources" / "tasks" / "demo"
TERRA_REV = "48312c334eb916d88481dc4a41bd0d8b2fa0d576"
URL = "https://huggingface.co/datasets/mteb/TERRa"


def _task_file(folder: Path, name: str, subset_of: dict[str, Any] | None) -> Path:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = {"name": name, "category": "pair_classification", "data": "data", "license": "MIT"}
    if subset_of is not None:
        spec["subset_of"] = subset_of
    path = folder / f"{name}.yaml"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def _record(model: str, task: str, info: dict[str, Any], n_items: int = 10) -> dict[str, Any]:
    return {
        "schema": 1,
        "model": model,
        "task": task,
        "category": "pair_classification",
        "main_metric": "max_ap",
        "main_score": 0.61 if model == "m1" else 0.55,
        "applicable": True,
        "metrics": {"max_ap": 0.6},
        "n_items": n_items,
        "task_info": info,
        "items": None,
        "model_info": {"backend": "x", "model": model},
        "versions": {"embbench": "0.1.0"},
        "date": "2026-11-27T09:00:00+00:00",
    }


def _reports(tmp_path: Path, infos: dict[str, dict[str, Any]], n_items: int = 10) -> Path:
    out = tmp_path / "reports"
    for model in ("m1", "m2"):
        for task, info in infos.items():
            path = out / "results" / model / f"{task}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(_record(model, task, info, n_items)), encoding="utf-8")
    write_reports(out, n_resamples=20, charts=False)
    return out


def _infos(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """task_info as `embbench run` records it, from task files with and without subset_of."""
    block = {"full_size": 2923, "mteb_task": "TERRa", "dataset": "mteb/TERRa", "revision": TERRA_REV, "note": "dev"}
    data = SimpleNamespace(fingerprint="fp")
    out = {}
    for name, sub in (("terra_demo", block), ("own_task", None), ("senti", {"full_size": 50})):
        out[name] = task_info(load_task(_task_file(tmp_path / "tasks", name, sub)), data)
    return out


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self.links.append((self._href, data))
            self._href = None


def test_a_subset_task_is_marked_and_linked_in_all_three_formats(tmp_path: Path) -> None:
    out = _reports(tmp_path, _infos(tmp_path))
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    row = next(line for line in md.splitlines() if line.startswith("| terra_demo |"))
    assert "| subset: 10 of 2923 items |" in row
    assert f"[TERRa]({URL}) (ruMTEB): mteb/TERRa |" in row  # TERRa is in MTEB(rus)
    own = next(line for line in md.splitlines() if line.startswith("| own_task |"))
    assert "subset" not in own and "huggingface" not in own
    senti = next(line for line in md.splitlines() if line.startswith("| senti |"))
    assert "| subset: 10 of 50 items |  |" in senti  # a subset with no comparable mteb task: no link
    assert "terra_demo: dev." in md  # the note under the task list
    markdown_it = pytest.importorskip("markdown_it")
    rendered = markdown_it.MarkdownIt("commonmark").enable("table").render(md)
    assert f'<a href="{URL}">TERRa</a>' in rendered

    page = _Links()
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    page.feed(html)
    assert (URL, "TERRa") in page.links
    assert "subset: 10 of 2923 items" in html and "subset: 10 of 50 items" in html

    data = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    tasks = {t["task"]: t for t in data["tasks"]}
    assert tasks["terra_demo"]["subset_of"] == {
        "items": 10,
        "full_size": 2923,
        "text": "subset: 10 of 2923 items",
        "note": "dev",
        "mteb_task": "TERRa",
        "dataset": "mteb/TERRa",
        "revision": TERRA_REV,
        "url": URL,
        "in_rumteb": True,
    }
    assert tasks["own_task"]["subset_of"] is None
    assert tasks["senti"]["subset_of"]["full_size"] == 50 and "url" not in tasks["senti"]["subset_of"]
    assert not data["warnings"]


def test_no_subset_no_extra_columns(tmp_path: Path) -> None:
    infos = _infos(tmp_path)
    out = _reports(tmp_path, {"own_task": infos["own_task"]})
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    header = next(line for line in md.splitlines() if line.startswith("| Task |"))
    assert "Subset" not in header and "Comparable" not in header


def test_a_hand_edited_subset_gets_no_link_and_a_wrong_size_a_warning(tmp_path: Path) -> None:
    hostile = {
        "full_size": 5,  # fewer than the 10 items scored
        "mteb_task": "<img src=x onerror=alert(1)>",
        "dataset": "evil.example/x)](javascript:alert(1)",
        "revision": "r",
    }
    out = _reports(tmp_path, {"edited": {"subset_of": hostile, "data_fingerprint": "fp"}})
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert "javascript" not in md and "evil.example" not in md and "<img" not in md
    assert "<img" not in html and 'href="' not in html.split("<h3>Tasks</h3>")[1]  # text (escaped), never a link
    page = _Links()
    page.feed(html)
    assert page.links == []
    data = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    assert data["tasks"][0]["subset_of"]["url"] is None
    assert any("subset_of.full_size 5 is smaller than its 10 items" in w for w in data["warnings"])


def test_a_bad_subset_of_is_one_clear_line(tmp_path: Path) -> None:
    path = _task_file(tmp_path / "tasks", "t", {"full_size": 2923, "mteb_task": "TERRa", "dataset": "mteb/TERRa"})
    res = cli("ls", "tasks", "--tasks", path)
    assert res.code == 2, (res.code, res.out, res.err)
    lines = (res.out + res.err).strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.err, lines
    assert str(path) in lines[0] and "field 'subset_of.revision': missing" in lines[0] and "40 hex" in lines[0]


# the built-in demo suite


def test_demo_subsets_name_mteb_s_datasets_and_honest_sizes() -> None:
    from embbench.data import load

    tasks = {t.name: t for t in load_tasks([DEMO])}
    marked = {n for n, t in tasks.items() if t.subset_of is not None}
    assert marked == set(tasks) - {"xquad_ru"}  # XQuAD ru is there whole
    for name in sorted(marked):
        s = tasks[name].subset_of
        assert s is not None and s.mteb_task and s.note
        n = load(tasks[name]).n_items
        assert n < s.full_size, name  # a subset: fewer items than the public split
        assert re.search(rf"\b{n}\b", tasks[name].description), name  # the description states the same figure
    assert tasks["terra"].subset_of.dataset == "mteb/TERRa"  # type: ignore[union-attr]


def test_demo_subsets_match_mteb_s_task_metadata() -> None:
    mteb = pytest.importorskip("mteb")
    for task in load_tasks([DEMO]):
        if task.subset_of is not None:
            meta = mteb.get_task(task.subset_of.mteb_task).metadata
            assert meta.dataset["path"] == task.subset_of.dataset, task.name
            assert meta.dataset["revision"] == task.subset_of.revision, task.name
