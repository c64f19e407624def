"""run/pipelines.py end to end on the built-in retrieval and reranking tasks: stored rankings, a hybrid whose
score a test recomputes from the two stored rankings, fusion of a model with itself, a tiny cross-encoder
reranking a first stage (finite scores, cached: a second run scores nothing), n/a elsewhere, the report's lift."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from embbench.encode.cache import DiskCache
from embbench.results import load_results
from embbench.run.runner import run
from embbench.spec import ModelSpec, PipelineSpec, RerankerSpec, load_task
from tests.conftest import TASKS as TASKS_DIR
from tests.fixtures.tiny_cross_encoder import build_tiny_cross_encoder
from tests.fixtures.tiny_models import build_tiny_st_model, russian_texts

REPO = Path(__file__).resolve().parents[2]
TASKS = ["tydiqa_ru", "xquad_ru", "terra"]  # retrieval, reranking, and a category pipelines do not apply to


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("pipelines")
    dense = build_tiny_st_model("bert", root / "dense", russian_texts())
    ce = build_tiny_cross_encoder(root / "ce")
    models = [ModelSpec(name="bm25", model="bm25", backend="bm25"), ModelSpec(name="dense", model=str(dense))]
    reranker = RerankerSpec(model=str(ce), batch_size=32, max_length=64)  # short inputs: fast on CPU
    pipelines = [
        PipelineSpec(name="bm25+dense", hybrid=("bm25", "dense")),
        PipelineSpec(name="dense+dense", hybrid=("dense", "dense")),
        PipelineSpec(name="scored", hybrid=("bm25", "dense"), fusion="score", weights=(0.3, 0.7)),
        PipelineSpec(name="bm25-rr", first_stage="bm25", reranker=reranker, top_k=5),
        PipelineSpec(name="hybrid-rr", first_stage="bm25+dense", reranker=reranker, top_k=5),
    ]
    tasks = [load_task(TASKS_DIR / f"{t}.yaml") for t in TASKS]
    out, cache = root / "out", DiskCache(root / "cache")
    lines: list[str] = []
    first = run(models, tasks, out, cache=cache, pipelines=pipelines, log=lambda e: lines.append(e.text))
    return {"out": out, "cache": cache, "models": models, "tasks": tasks, "pipelines": pipelines, "first": first}


def rankings(out: Path, model: str, task: str) -> dict[str, list[tuple[str, float]]]:
    with gzip.open(out / "rankings" / model / f"{task}.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    assert all(set(r) == {"query_id", "doc_ids", "scores"} for r in rows)
    return {r["query_id"]: list(zip(r["doc_ids"], r["scores"], strict=True)) for r in rows}


def result(out: Path, model: str, task: str) -> dict[str, Any]:
    return json.loads((out / "results" / model / f"{task}.json").read_text(encoding="utf-8"))


def qrels(task: str) -> dict[str, dict[str, int]]:
    from embbench.data import load

    return load(load_task(TASKS_DIR / f"{task}.yaml")).qrels


def test_every_ranking_result_stores_its_ranking(world: dict[str, Any]) -> None:
    out = world["out"]
    assert world["first"].failed == [] and world["first"].exit_code == 0
    for model in ("bm25", "dense", "bm25+dense", "bm25-rr", "hybrid-rr"):
        top = rankings(out, model, "tydiqa_ru")
        assert len(top) == 300 and all(len(docs) <= 100 for docs in top.values())
        assert all([s for _, s in d] == sorted((s for _, s in d), reverse=True) for d in top.values())
        assert len(rankings(out, model, "xquad_ru")) == 574
    assert not (out / "rankings" / "dense" / "terra.jsonl.gz").exists()


def test_hybrid_score_recomputed_from_the_two_stored_rankings(world: dict[str, Any]) -> None:
    import pytrec_eval

    out = world["out"]
    for task, measure in (("tydiqa_ru", "ndcg_cut_10"), ("xquad_ru", "map_cut_1000")):
        a, b = rankings(out, "bm25", task), rankings(out, "dense", task)
        fused: dict[str, dict[str, float]] = {}
        for q in a:
            scores: dict[str, float] = {}
            for ranking in (a[q], b[q]):
                for rank, (doc, _) in enumerate(ranking, start=1):
                    scores[doc] = scores.get(doc, 0.0) + 1.0 / (60 + rank)
            fused[q] = scores
        per_query = pytrec_eval.RelevanceEvaluator(qrels(task), {measure}).evaluate(fused)
        expected = round(sum(v[measure] for v in per_query.values()) / len(per_query), 5)
        reported = result(out, "bm25+dense", task)
        assert reported["main_score"] == pytest.approx(expected, abs=1e-12)
        assert reported["pipeline"]["kind"] == "hybrid"
        for stage in ("bm25", "dense"):
            lift = reported["pipeline"]["stages"][stage]["lift"]
            assert lift == pytest.approx(reported["main_score"] - result(out, stage, task)["main_score"], abs=1e-6)


def test_fusion_of_a_model_with_itself_equals_the_model(world: dict[str, Any]) -> None:
    out = world["out"]
    for task in ("tydiqa_ru", "xquad_ru"):
        model, fused = result(out, "dense", task), result(out, "dense+dense", task)
        assert fused["main_score"] == model["main_score"]
        assert fused["items"]["values"] == model["items"]["values"]
        model_top, fused_top = rankings(out, "dense", task), rankings(out, "dense+dense", task)
        assert {q: [d for d, _ in docs] for q, docs in fused_top.items()} == {
            q: [d for d, _ in docs] for q, docs in model_top.items()
        }


def test_reranker_scores_are_finite_and_a_second_run_scores_nothing(world: dict[str, Any]) -> None:
    import math

    out = world["out"]
    for task in ("tydiqa_ru", "xquad_ru"):
        rec = result(out, "bm25-rr", task)
        assert rec["applicable"] and math.isfinite(rec["main_score"])
        top = rankings(out, "bm25-rr", task)
        assert all(math.isfinite(s) for docs in top.values() for _, s in docs)
        assert all(len(docs) <= 5 for docs in top.values())
        first = {q: {d for d, _ in docs[:5]} for q, docs in rankings(out, "bm25", task).items()}
        assert all({d for d, _ in docs} == first[q] for q, docs in top.items())  # the first stage's top 5
        assert rec["pipeline"]["scoring"]["scored"] > 0
        assert rec["model_info"]["reranker"]["model"].startswith("local:")
    again = run(
        world["models"],
        world["tasks"],
        out,
        cache=world["cache"],
        pipelines=world["pipelines"],
        force=True,
        log=lambda e: None,
    )
    assert again.failed == []
    for task in ("tydiqa_ru", "xquad_ru"):
        for name in ("bm25-rr", "hybrid-rr"):
            scoring = result(out, name, task)["pipeline"]["scoring"]
            assert scoring["scored"] == 0 and scoring["from_cache"] == scoring["unique"] > 0
        assert result(out, "dense", task)["embedding"]["encoded"] == 0


def test_other_categories_are_na_and_the_report_shows_the_lift(world: dict[str, Any]) -> None:
    from embbench.report.build import build_report

    out = world["out"]
    assert result(out, "bm25+dense", "terra")["applicable"] is False
    names = {(r.model, r.task) for r in load_results(out)}
    assert {("bm25+dense", "tydiqa_ru"), ("bm25-rr", "xquad_ru"), ("hybrid-rr", "tydiqa_ru")} <= names
    report = build_report(out, n_resamples=200)
    rows = report.data["pipelines"]
    mine = next(r for r in rows if (r["pipeline"], r["task"], r["stage"]) == ("bm25-rr", "tydiqa_ru", "bm25"))
    assert mine["p"] is not None and 0 < mine["p"] <= 1
    assert report.section("pipelines") is not None
    board = {r["model"] for r in report.data["rows"]}
    assert {"bm25+dense", "bm25-rr"} <= board  # pipelines are leaderboard rows


def test_a_result_without_its_ranking_is_recomputed_and_a_current_pipeline_skipped(world: dict[str, Any]) -> None:
    out = world["out"]
    (out / "rankings" / "bm25" / "tydiqa_ru.jsonl.gz").unlink()
    summary = run(
        world["models"], world["tasks"], out, cache=world["cache"], pipelines=world["pipelines"], log=lambda e: None
    )
    assert ("bm25", "tydiqa_ru") in summary.written
    assert (out / "rankings" / "bm25" / "tydiqa_ru.jsonl.gz").is_file()
    assert ("bm25+dense", "xquad_ru") in summary.skipped and ("dense", "xquad_ru") in summary.skipped
