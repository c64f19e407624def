"""Parity with mteb for rerankers: a cross-encoder pipeline's score on a reranking task equals mteb's for the same
cross-encoder and the same candidates (mteb scores every candidate of each query with the cross-encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("mteb")

from embbench.run.runner import run
from embbench.spec import LocalSource, ModelSpec, PipelineSpec, RerankerSpec, TaskSpec
from tests.conftest import TASKS
from tests.fixtures.tiny_cross_encoder import build_tiny_cross_encoder
from tests.parity.mteb_reference import jsonl_lines

TOLERANCE = 1e-4
ROWS = 120  # queries of xquad_ru (10 candidates each): a minute on 2 cores


MAX_LENGTH = 64  # both sides truncate pairs to 64 tokens (fast on CPU)


def mteb_reranker_scores(folder: Path, model_path: str) -> dict:
    """mteb's own reranking of the folder's candidates with the CrossEncoder at model_path."""
    import mteb
    from mteb.models.sentence_transformer_wrapper import CrossEncoderWrapper

    from tests.parity.mteb_reference import TASK_CLASSES

    task = TASK_CLASSES["reranking"]()
    task.configure(folder, {})
    result = mteb.evaluate(
        CrossEncoderWrapper(model_path, max_length=MAX_LENGTH),
        task,  # type: ignore[arg-type]
        cache=None,
        co2_tracker=False,
        encode_kwargs={"batch_size": 32, "show_progress_bar": False},
        show_progress_bar=False,
    )
    (task_result,) = result.task_results
    (row,) = task_result.scores["test"]
    return row


def test_reranker_on_a_reranking_task_equals_mteb(tmp_path: Path) -> None:
    source = TASKS / "data" / "reranking" / "xquad_ru"
    folder = tmp_path / "xquad_ru"
    folder.mkdir()
    (folder / "test.jsonl").write_text("\n".join(jsonl_lines(source / "test.jsonl")[:ROWS]) + "\n", encoding="utf-8")
    ce = build_tiny_cross_encoder(tmp_path / "ce")
    task = TaskSpec(name="xquad_part", category="reranking", source=LocalSource(folder), file=folder / "t.yaml")
    # the first stage (BM25) stores every candidate of a reranking task: the reranker sees them all, as in mteb
    pipeline = PipelineSpec(
        name="bm25-ce", first_stage="bm25", reranker=RerankerSpec(model=str(ce), max_length=MAX_LENGTH), top_k=1000
    )
    summary = run(
        [ModelSpec(name="bm25", model="bm25", backend="bm25")], [task], tmp_path / "out", pipelines=[pipeline]
    )
    assert summary.failed == [] and ("bm25-ce", "xquad_part") in summary.written
    ours = json.loads((tmp_path / "out" / "results" / "bm25-ce" / "xquad_part.json").read_text(encoding="utf-8"))
    theirs = mteb_reranker_scores(folder, str(ce))
    assert ours["main_metric"] == "map_at_1000"
    assert abs(ours["main_score"] - theirs["main_score"]) <= TOLERANCE, (ours["main_score"], theirs["main_score"])
    for key in ("mrr_at_10", "ndcg_at_10"):
        assert abs(ours["metrics"][key] - theirs[key]) <= 1e-3, (key, ours["metrics"][key], theirs[key])
