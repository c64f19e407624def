"""run.record.make_record -> results.TaskResult: the file a result becomes keeps the keys and order of schema 1."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from embbench.encode.embedder import BadVectors
from embbench.results import result_path, write_result
from embbench.run.record import describe, make_record, stale_reason
from embbench.spec import LocalSource, TaskSpec

HEAD = ["schema", "model", "task", "category", "main_metric", "main_score", "applicable", "metrics", "n_items"]
TAIL = ["params", "task_info", "items", "model_info", "versions", "date", "request_key"]
EMBEDDING = ["timing", "embedding", "prompts", "truncation"]


def task(tmp_path: Path, category: str = "sts") -> TaskSpec:
    return TaskSpec(name="tiny", category=category, source=LocalSource(tmp_path / "tiny"), file=tmp_path / "tiny.yaml")


DATA = SimpleNamespace(n_items=3, fingerprint="abc")


def written(tmp_path: Path, record) -> dict:
    path = write_result(tmp_path, dataclasses.replace(record, request_key="k"))
    assert path == result_path(tmp_path, "m", "tiny")
    return json.loads(path.read_text(encoding="utf-8"))


def test_encoder_result_has_every_key_in_order_truncation_null(tmp_path: Path) -> None:
    metrics = {"cosine_spearman": 0.5, "cosine_pearson": float("nan")}
    embedding = {"texts": 6, "unique": 6, "from_cache": 0, "encoded": 6}
    timing = {"encode_seconds": 0.1, "cache_seconds": 0.0, "evaluate_seconds": 0.0}
    rec = make_record(
        task(tmp_path), DATA, "m", metrics, {"similarity_fn": "cosine"}, 0.12345, {"dim": 3},
        timing=timing, embedding=embedding, prompts={}, truncation=None, items=None,
    )  # fmt: skip
    raw = written(tmp_path, rec)
    assert list(raw) == [*HEAD, "seconds", *EMBEDDING, *TAIL]
    assert raw["truncation"] is None and raw["items"] is None and raw["prompts"] == {}
    assert raw["metrics"] == {"cosine_spearman": 0.5, "cosine_pearson": None}  # NaN is recorded as null
    assert raw["seconds"] == 0.123 and raw["main_score"] == 0.5 and raw["applicable"] is True
    assert stale_reason(result_path(tmp_path, "m", "tiny"), "k") is None
    assert "changed" in (stale_reason(result_path(tmp_path, "m", "tiny"), "other") or "")
    assert describe(rec) == "cosine_spearman = 0.5000  (0.1s; 6 texts, 6 encoded, 0 from cache)"


def test_not_applicable_result_says_so(tmp_path: Path) -> None:
    rec = make_record(task(tmp_path), DATA, "m", None, {}, 0.0, {"backend": "bm25"})
    raw = written(tmp_path, rec)
    assert list(raw) == [*HEAD, "seconds", *TAIL]  # a ranker's result has no embedding keys
    assert raw["applicable"] is False and raw["main_score"] is None and raw["metrics"] == {}
    assert describe(rec) == "n/a: sts does not apply to this model"


def test_undefined_main_score_is_bad_vectors(tmp_path: Path) -> None:
    with pytest.raises(BadVectors, match="undefined"):
        make_record(task(tmp_path), DATA, "m", {"cosine_spearman": float("nan")}, {}, 0.0, {})
