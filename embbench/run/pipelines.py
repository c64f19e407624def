"""Pipelines, run after the models: hybrids fused and first stages reranked from the stored rankings (nothing is
re-encoded or searched again), each written as a normal result (model = the pipeline's name) with its lift."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embbench import categories
from embbench.categories import fusion
from embbench.categories._splits import SplitsData, combine_splits
from embbench.categories.reranking import TOP_K as RERANKING_TOP_K
from embbench.categories.retrieval import RUN_TOP_K, Run
from embbench.encode.backends.cross_encoder import CrossEncoderReranker
from embbench.encode.cache import DiskCache
from embbench.errors import ModelLoadError, ModelUnavailable, UserError
from embbench.results import TaskResult, result_path, write_result
from embbench.run.rankings import CATEGORIES, ranking_path, read_ranking, take_run, write_ranking
from embbench.run.record import describe, make_record, stale_reason
from embbench.run.summary import ALL_TASKS, Failure, Progress, RunSummary, Sink, Unavailable, stderr_sink
from embbench.spec import PipelineSpec, TaskSpec, resolve_params

VERSION = 1  # pipeline protocol version (fusion, candidates, scoring): bump it so stored pipeline results recompute
Stages = dict[str, tuple[TaskResult, Run]]


@dataclass
class _Context:
    """What every pipeline of one run shares; `optional` grows with the pipelines skipped as optional."""

    tasks: list[TaskSpec]
    data: dict[str, Any]
    output: Path
    cache: DiskCache | None
    force: bool
    sink: Sink
    optional: set[str] = field(default_factory=set)


def run_pipelines(
    pipelines: list[PipelineSpec],
    tasks: list[TaskSpec],
    data: dict[str, Any],
    output: Path,
    *,
    cache: DiskCache | None = None,
    force: bool = False,
    log: Sink | None = None,
    optional: frozenset[str] = frozenset(),  # the optional models: a pipeline over a missing one is skipped quietly
) -> RunSummary:
    """Each pipeline (stages first, as spec.parse_pipelines orders them) on each task whose data was loaded."""
    ctx = _Context([t for t in tasks if t.name in data], data, output, cache, force, log or stderr_sink, set(optional))
    summary = RunSummary()
    for i, spec in enumerate(pipelines, 1):
        ctx.sink(Progress(f"[pipeline {i}/{len(pipelines)}] {spec.name}: {_title(spec)}", 0, spec.name))
        one = _run_pipeline(ctx, spec)
        if any(u.optional for u in one.unavailable):
            ctx.optional.add(spec.name)
        summary.merge([one])
    return summary


def _title(spec: PipelineSpec) -> str:
    if spec.hybrid:
        return f"{spec.fusion} fusion of {', '.join(spec.hybrid)}"
    assert spec.reranker is not None
    return f"{spec.first_stage} top {spec.top_k} reranked by {spec.reranker.model}"


def _run_pipeline(ctx: _Context, spec: PipelineSpec) -> RunSummary:
    summary = RunSummary()
    reranker: CrossEncoderReranker | None = None
    for task in ctx.tasks:
        data = ctx.data[task.name]
        if task.category not in CATEGORIES:
            _write_na(ctx, spec, task, data, summary)
            continue
        stages = _stages(ctx, spec, task)
        if isinstance(stages, str):
            optional = spec.optional or any(s in ctx.optional for s in spec.stages)
            ctx.sink(Progress(f"{task.name}: skipped{' (optional)' if optional else ''}: {stages}", 1, spec.name))
            summary.unavailable.append(Unavailable(spec.name, f"{task.name}: {stages}", optional))
            continue
        if spec.reranker is not None and reranker is None:
            try:
                reranker = CrossEncoderReranker(spec.reranker, ctx.cache, spec.name, lambda m: _log(ctx, spec, m))
            except ModelUnavailable as exc:
                ctx.sink(Progress(f"{'skipped (optional)' if spec.optional else 'FAILED'}: {exc}", 1, spec.name))
                summary.unavailable.append(Unavailable(spec.name, str(exc), spec.optional))
                return summary
        key = pipeline_key(spec, task, data, stages, reranker)
        path = result_path(ctx.output, spec.name, task.name)
        fresh = path.is_file() and stale_reason(path, key) is None
        if not ctx.force and fresh and ranking_path(ctx.output, spec.name, task.name).is_file():
            summary.skipped.append((spec.name, task.name))
            continue
        ctx.sink(Progress(f"{task.name} [{task.category}]", 1, spec.name))
        try:
            record = evaluate_pipeline(spec, task, data, stages, reranker, ctx.output)
        except (ModelLoadError, UserError) as exc:
            user = isinstance(exc, UserError)
            ctx.sink(Progress(f"FAILED: {exc}", 2, spec.name))
            summary.failed.append(Failure(spec.name, task.name if user else ALL_TASKS, str(exc), user))
            if not user:
                return summary
            continue
        write_result(ctx.output, dataclasses.replace(record, request_key=key))
        summary.written.append((spec.name, task.name))
        ctx.sink(Progress(describe(record) + _lift_text(record), 2, spec.name))
    return summary


def _log(ctx: _Context, spec: PipelineSpec, msg: str) -> None:
    ctx.sink(Progress(msg, 2, spec.name))


def _write_na(ctx: _Context, spec: PipelineSpec, task: TaskSpec, data: Any, summary: RunSummary) -> None:
    """A pipeline on a category that is not a ranking: an n/a result, as a ranking baseline gets."""
    key = pipeline_key(spec, task, data, {}, None)
    path = result_path(ctx.output, spec.name, task.name)
    if not ctx.force and path.is_file() and stale_reason(path, key) is None:
        summary.skipped.append((spec.name, task.name))
        return
    record = make_record(task, data, spec.name, None, resolve_params(task), 0.0, spec.describe())
    write_result(ctx.output, dataclasses.replace(record, request_key=key))
    summary.written.append((spec.name, task.name))


def _stages(ctx: _Context, spec: PipelineSpec, task: TaskSpec) -> Stages | str:
    """Each stage's result and stored ranking on the task, or why they are not there."""
    out: Stages = {}
    for stage in spec.stages:
        path = result_path(ctx.output, stage, task.name)
        if not path.is_file():
            return f"stage '{stage}' has no result on {task.name}"
        result = TaskResult.from_json(json.loads(path.read_text(encoding="utf-8")), path)
        ranking = ranking_path(ctx.output, stage, task.name)
        if not result.applicable or not ranking.is_file():
            return f"stage '{stage}' has no stored ranking on {task.name}"
        out[stage] = (result, read_ranking(ranking))
    return out


def evaluate_pipeline(
    spec: PipelineSpec,
    task: TaskSpec,
    data: Any,
    stages: Stages,
    reranker: CrossEncoderReranker | None,
    output: Path,
) -> TaskResult:
    """The pipeline's run on one task (fused, or reranked), scored with the category's metrics; its ranking is
    stored (a later pipeline may rerank it) and the result records the lift over each stage."""
    keep = RERANKING_TOP_K if task.category == "reranking" else RUN_TOP_K
    t0 = time.perf_counter()
    info: dict[str, Any] = {"kind": "hybrid" if spec.hybrid else "rerank"}
    runs = [run for _, run in stages.values()]
    if spec.hybrid and spec.fusion == "rrf":
        run = fusion.rrf(runs, spec.k, keep)
    elif spec.hybrid:
        run = fusion.score_fusion(runs, spec.weights, keep)
    else:
        assert reranker is not None
        run, info["scoring"] = _rerank(runs[0], spec.top_k, data, reranker)
    metrics, items = score(data, run, keep)
    seconds = time.perf_counter() - t0
    write_ranking(output, spec.name, task.name, take_run(items) or run)
    main_metric = task.main_metric or categories.get(task.category).MAIN_METRIC
    info["stages"] = {
        name: {"main_score": r.main_score, "lift": _lift(metrics.get(main_metric), r.main_score)}
        for name, (r, _) in stages.items()
    }
    model_info = spec.describe()
    if reranker is not None:
        model_info["reranker"] = reranker.provenance()
    return make_record(
        task, data, spec.name, metrics, resolve_params(task), seconds, model_info, items=items, pipeline=info
    )


def _lift(score: float | None, base: float | None) -> float | None:
    return None if score is None or base is None else round(score - base, 6)


def _lift_text(record: TaskResult) -> str:
    stages = (record.pipeline or {}).get("stages", {})
    return "".join(f"; {v['lift']:+.4f} over {k}" for k, v in stages.items() if v.get("lift") is not None)


def _rerank(first: Run, top_k: int, data: Any, reranker: CrossEncoderReranker) -> tuple[Run, dict[str, Any]]:
    """The first stage's top_k documents of each query, rescored by the cross-encoder (cached pairs cost nothing)."""
    cands = fusion.candidates(first, top_k)
    queries, documents = [], []
    for qid, docs in cands.items():
        q_text, corpus = _texts(data, qid)
        queries += [q_text] * len(docs)
        documents += [corpus[d] for d in docs]
    before = dataclasses.replace(reranker.stats)
    scores = reranker.score(queries, documents).tolist()
    by_query, at = {}, 0
    for qid, docs in cands.items():
        by_query[qid], at = scores[at : at + len(docs)], at + len(docs)
    s = reranker.stats
    scoring = {
        "pairs": s.pairs - before.pairs,
        "unique": s.unique - before.unique,
        "from_cache": s.from_cache - before.from_cache,
        "scored": s.scored - before.scored,
        "score_seconds": round(s.score_seconds - before.score_seconds, 3),
        "top_k": top_k,
    }
    return fusion.reranked(cands, by_query), scoring


def _texts(data: Any, qid: str) -> tuple[str, dict[str, str]]:
    """A stored query id's text and its corpus (a multi-split task's ids are '<split>/<id>')."""
    if isinstance(data, SplitsData):
        split, _, qid = qid.partition("/")
        data = data.parts[split]
    return data.queries[qid], data.corpus


def score(data: Any, run: Run, keep: int = RUN_TOP_K) -> tuple[dict[str, float], dict[str, Any]]:
    """The run scored against the task's judgements; a multi-split task per split, then the split means."""
    if not isinstance(data, SplitsData):
        return fusion.score(data.qrels, run, keep)
    results = {}
    for split, part in data.parts.items():
        mine = {q.partition("/")[2]: docs for q, docs in run.items() if q.partition("/")[0] == split}
        results[split] = fusion.score(part.qrels, mine, keep)
    return combine_splits(results, {s: p.n_items for s, p in data.parts.items()})


def pipeline_key(
    spec: PipelineSpec, task: TaskSpec, data: Any, stages: Stages, reranker: CrossEncoderReranker | None
) -> str:
    """sha256 of what a pipeline result depends on: its settings, the reranker's identity, each stage's request key
    (a recomputed stage makes the pipeline stale), the task's category version and the data's fingerprint."""
    described = spec.describe()
    if isinstance(described.get("reranker"), dict):  # batch size and device do not change a score
        described["reranker"] = {k: v for k, v in described["reranker"].items() if k not in ("batch_size", "device")}
    blob = {
        "version": VERSION,
        "pipeline": described,
        "reranker": reranker.identity() if reranker is not None else None,
        "stages": {name: r.request_key for name, (r, _) in stages.items()},
        "task": {"category": task.category, "version": categories.get(task.category).VERSION},
        "main_metric": task.main_metric,
        "data": data.fingerprint,
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode("utf-8")).hexdigest()
