"""embbench.data.load: one dispatch over a task's source; local files become the same columns the hub gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embbench import categories
from embbench.categories._common import Columns
from embbench.data import load
from embbench.data.files import MissingDataFile, fingerprint
from embbench.data.local import read_columns
from embbench.spec import HubSource, LocalSource, TaskSpec


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def local_task(folder: Path, category: str, **kw: object) -> TaskSpec:
    return TaskSpec(name="t", category=category, source=LocalSource(folder), file=folder / "t.yaml", **kw)


def test_local_rows_give_the_data_their_columns_give(tmp_path: Path) -> None:
    rows = [
        {"query": "кот", "positive": ["дом ", "лес"], "negative": ["лес", "море"]},
        {"query": "x", "positive": [], "negative": ["y"]},
    ]
    path = write_jsonl(tmp_path / "test.jsonl", rows)
    data = load(local_task(tmp_path, "reranking"))
    values = {k: [r[k] for r in rows] for k in ("query", "positive", "negative")}
    assert data == categories.get("reranking").to_data(Columns(values, fingerprint([path])), "t.yaml")
    assert data.corpus == {"d0": "дом", "d1": "лес", "d2": "море"} and data.candidates == {"q0": ["d0", "d1", "d2"]}


def test_local_beir_folder(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "corpus.jsonl", [{"_id": "d1", "title": "Кот", "text": "дома"}, {"_id": "d2", "text": "лес"}]
    )
    write_jsonl(tmp_path / "queries.jsonl", [{"_id": "q1", "text": "кот"}, {"_id": "q2", "text": "лес"}])
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n", encoding="utf-8")
    cols = read_columns(local_task(tmp_path, "retrieval"), tmp_path)
    assert cols.values["corpus"] == {"d1": "Кот дома", "d2": "лес"}  # mteb's title + " " + text
    data = load(local_task(tmp_path, "retrieval"))
    assert data.queries == {"q1": "кот"} and data.qrels == {"q1": {"d1": 1}}  # q2 has no judgement
    assert data.fingerprint == cols.fingerprint


def test_sts_range_travels_from_the_task_file(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "test.jsonl", [{"sentence1": "a", "sentence2": "b", "score": s} for s in (1, 2, 3)])
    assert load(local_task(tmp_path, "sts", score_range=(0.0, 5.0))).score_range == (0.0, 5.0)
    assert load(local_task(tmp_path, "sts")).score_range == (1.0, 3.0)


def test_missing_split_file_and_hub_dispatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingDataFile):
        load(local_task(tmp_path, "clustering", eval_split="dev"))
    seen: list[str] = []
    monkeypatch.setattr("embbench.data.hub.load", lambda task: seen.append(task.name) or "hub data")
    src = HubSource(mteb_task="TERRa", path="mteb/TERRa", revision="0" * 40, splits=("dev",))
    task = TaskSpec(name="TERRa", category="pair_classification", source=src, file=tmp_path / "t.yaml")
    assert load(task) == "hub data" and seen == ["TERRa"]
