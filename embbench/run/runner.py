"""Runs every (model, task) pair: loads data once, a model only when it has work, writes one result each.

Where a model runs is the Executor's business (run.executor.LocalExecutor, or run.ray.RayExecutor): this module
holds the one model loop, the stop rule, the probe decision and the summary for both."""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embbench import categories
from embbench.categories import compression as compress
from embbench.categories._splits import split_aware  # multi-split hub tasks
from embbench.categories.search import SEARCH_CATEGORIES, Search, choose, with_search
from embbench.data import load as load_task_data
from embbench.data.files import MissingDataFile
from embbench.data.hub import TaskUnavailable  # hub tasks (ruMTEB suite)
from embbench.encode.backends import Encoder, Ranker
from embbench.encode.cache import DiskCache
from embbench.encode.embedder import BadVectors, Embedder
from embbench.errors import ModelLoadError, UserError
from embbench.results import TaskResult, result_path, write_result
from embbench.run.executor import Executor, LocalExecutor, open_model
from embbench.run.pipelines import run_pipelines
from embbench.run.probes import probe_model
from embbench.run.rankings import Keep, keep_ranking, lacks_ranking, write_ranking
from embbench.run.record import describe, make_record, request_key, stale_reason
from embbench.run.state import STATE_FILE, RunState, command_identity
from embbench.run.summary import ALL_TASKS, SPEED, Failure, Progress, RunSummary, Sink, model_sink, stderr_sink
from embbench.run.threads import bounded_blas, bounded_threads, eval_threads, load_pools
from embbench.spec import ModelSpec, PipelineSpec, TaskSpec
from embbench.spec import resolve_params as resolve_task_params
from embbench.speed.probe import speed_path, wants_probe
from embbench.speed.store import ProbeStore

Log = Callable[[str], None]


def stderr_log(msg: str) -> None:
    """A text line to stderr, as the CLI prints a progress event."""
    stderr_sink(Progress(msg))


def resolve_params(task: TaskSpec, similarity_fn: str = "cosine") -> dict[str, Any]:
    """The category's defaults, the task file's overrides (validated when the task file was loaded), and the model's
    similarity function."""
    return resolve_task_params(task, similarity_fn)


def load_data(tasks: list[TaskSpec], log: Log = stderr_log, summary: RunSummary | None = None) -> dict[str, Any]:
    """Load and validate every task's data and params up front: a user mistake stops the run before any work.

    A hub task whose data cannot be fetched is reported in one line (and in summary.unavailable_tasks) and left
    out of the result; the run goes on with the other tasks."""
    out = {}
    for t in tasks:
        resolve_params(t)
        try:
            out[t.name] = load_task_data(t)
        except TaskUnavailable as exc:  # --- hub tasks (ruMTEB suite) ---
            log(f"{t.name}: {exc}; the rest of the run goes on")
            if summary is not None:
                summary.unavailable_tasks.append((t.name, str(exc)))
        except MissingDataFile as exc:
            raise UserError(
                t.file,
                f"no {exc.split}.jsonl, {exc.split}.jsonl.gz, {exc.split}.csv or {exc.split}.parquet in {exc.folder}",
                field="data",
                fix="add the file or correct 'data' (or 'eval_split' / 'train_split')",
            ) from None
    return out


def search_for(encoder: Any, spec: ModelSpec) -> Search:
    """Where retrieval and reranking search (categories/search.py): on the encoder's CUDA device when it runs on one
    in this process (a Ray pool's workers do not: the driver searches on its CPU), else on the CPU; in the entry's
    search_precision where that applies (float32 otherwise)."""
    device = getattr(encoder, "device", None)
    device = None if device is None else str(device)
    if device is not None and device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            device = None  # `device: cuda` on a machine without one, every vector from the cache: never loaded
        elif device == "cuda":  # as the loaded model names it, so every result of the model records the same
            device = f"cuda:{torch.cuda.current_device()}"
    return choose(device, spec.search_precision, encoder.similarity_fn)


def evaluate_task(
    task: TaskSpec,
    data: Any,
    embedder: Embedder,
    compression: bool = False,
    keep: Keep | None = None,
    search: Search | None = None,
) -> TaskResult:
    """Evaluate one task with one embedding model, with compression also its compression sweep where it applies
    (runner.run turns it on unless --no-compression); returns the result record (not yet written). A retrieval or
    reranking task's ranking goes to keep (run/rankings.py); it searches with `search` (default: CPU, float32),
    which the result records; its recorded params are the protocol's alone."""
    module = categories.get(task.category)
    params = resolve_params(task, embedder.encoder.similarity_fn)
    searches = task.category in SEARCH_CATEGORIES
    search = search or Search()
    run_params = with_search(params, search) if searches else params
    embed = embedder.for_task(task.name, task.category)
    t0 = time.perf_counter()
    metrics, items = split_aware(module.evaluate_items)(data, embed, run_params)  # split_aware: multi-split hub tasks
    keep_ranking(items, keep)  # stored rankings (run/rankings.py)
    seconds = time.perf_counter() - t0
    s = embed.stats
    timing = {
        "encode_seconds": round(s.encode_seconds, 3),
        "cache_seconds": round(s.cache_seconds, 3),
        "evaluate_seconds": round(seconds - s.encode_seconds - s.cache_seconds, 3),
    }
    embedding = {"texts": s.texts, "unique": s.unique, "from_cache": s.from_cache, "encoded": s.encoded}
    if embedder.dim is not None:
        embedding["dim"] = embedder.dim  # the vectors' width (mteb's model_meta embed_dim on export)
    variants = None
    if compression and compress.applies(task.category):  # the compression sweep (categories/compression.py)
        variants = sweep_task(task, data, embedder, run_params, timing, embedding)
    return make_record(
        task,
        data,
        embedder.name,
        metrics,
        params,
        seconds,
        embedder.encoder.provenance(),
        timing=timing,
        embedding=embedding,
        prompts=embed.prompts_used,
        truncation=embed.truncation(),
        items=items,
        compression=variants,
        search=search.record() if searches else None,
    )


def sweep_task(
    task: TaskSpec,
    data: Any,
    embedder: Embedder,
    params: dict[str, Any],
    timing: dict[str, float],
    counts: dict[str, int],
) -> list[dict[str, Any]]:
    """The compression variants of a task just evaluated, through a fresh embed over the same store: its counters,
    added to the result's as compression_*, show that nothing was re-encoded; its seconds go to timing."""
    embed = embedder.for_task(task.name, task.category)
    t0 = time.perf_counter()
    main_metric = task.main_metric or categories.get(task.category).MAIN_METRIC
    variants = compress.sweep(task.category, data, embed, params, main_metric)
    timing["compression_seconds"] = round(time.perf_counter() - t0, 3)
    s = embed.stats
    counts.update(
        compression_texts=s.texts,
        compression_unique=s.unique,
        compression_from_cache=s.from_cache,
        compression_encoded=s.encoded,
    )
    return variants


def rank_task(task: TaskSpec, data: Any, name: str, ranker: Ranker, keep: Keep | None = None) -> TaskResult:
    """Evaluate one task with a ranking baseline (BM25); 'n/a' where the category has no meaning for it."""
    module = categories.get(task.category)
    params = resolve_params(task)
    if task.category not in ranker.categories or not hasattr(module, "evaluate_ranking_items"):
        return make_record(task, data, name, None, params, 0.0, ranker.provenance())
    t0 = time.perf_counter()
    metrics, items = split_aware(module.evaluate_ranking_items)(data, ranker.rank, params)  # multi-split hub tasks
    keep_ranking(items, keep)  # stored rankings (run/rankings.py)
    seconds = time.perf_counter() - t0
    return make_record(task, data, name, metrics, params, seconds, ranker.provenance(), items=items)


@dataclass(frozen=True)
class _Run:
    """What every model of one run shares."""

    executor: Executor
    output: Path
    tasks: list[TaskSpec]
    data: dict[str, Any]
    cache: DiskCache | None
    force: bool
    speed: bool
    compression: bool  # the compression sweep on dense models' retrieval/reranking tasks
    sink: Sink
    position: dict[str, str]  # model name -> "[k/n]"
    state: RunState | None  # --force: the pairs this command already finished (run.state)
    probes: ProbeStore | None  # kept speed probes beside the embedding cache (None with --no-cache)
    threads: int  # OpenMP/BLAS/torch threads per evaluating model (run/threads.py)


@dataclass(frozen=True)
class _Plan:
    """A model's work: the tasks to (re)compute, the lines saying why existing results are recomputed, and the
    request key of every task."""

    todo: list[TaskSpec]
    stale: list[str]
    keys: dict[str, str]


def _plan(run: _Run, spec: ModelSpec, summary: RunSummary) -> _Plan:
    keys = {t.name: request_key(spec, t, run.data[t.name], run.compression) for t in run.tasks}
    todo, stale = [], []
    for t in run.tasks:
        path = result_path(run.output, spec.name, t.name)
        if run.state is not None and run.state.done(spec.name, t.name) and stale_reason(path, keys[t.name]) is None:
            stale.append(f"{spec.name}/{t.name}: kept from the interrupted run of this command ({STATE_FILE})")
            summary.skipped.append((spec.name, t.name))
        elif run.force or not path.is_file():
            todo.append(t)
        elif (why := stale_reason(path, keys[t.name])) is not None:
            stale.append(f"{spec.name}/{t.name}: recomputing the existing result ({why})")
            todo.append(t)
        elif lacks_ranking(run.output, spec.name, t.name, t.category):  # written before rankings were stored
            stale.append(f"{spec.name}/{t.name}: recomputing the existing result (it has no stored ranking)")
            todo.append(t)
        else:
            summary.skipped.append((spec.name, t.name))
    return _Plan(todo, stale, keys)


def _run_model(run: _Run, spec: ModelSpec) -> RunSummary:
    """One model: its tasks, then its speed probe; what happened, in its own summary (models may run at once)."""
    summary = RunSummary()
    plan = _plan(run, spec, summary)
    probed = run.state is not None and run.state.done(spec.name, SPEED)  # by the interrupted run of this command
    probe = run.speed and wants_probe(spec, run.output, run.force and not probed)
    head = f"{run.position[spec.name]} {spec.name}"
    if not plan.todo and not probe:
        n = len(run.tasks)
        run.sink(Progress(f"{head}: all {n} results exist (use --force to recompute)", 0, spec.name))
        return summary
    run.sink(Progress(f"{head}: loading {spec.model}", 0, spec.name))
    for line in plan.stale:
        run.sink(Progress(line, 1, spec.name))
    with ExitStack() as stack:
        encoder = open_model(stack, run.executor, spec, summary, run.sink, ALL_TASKS)
        if encoder is None:
            return summary
        _run_tasks(run, spec, encoder, plan, summary)
        if probe and not summary.stopped and isinstance(encoder, Encoder) and not isinstance(encoder, Ranker):
            run.sink(Progress(f"speed probe ({speed_path(run.output, spec.name)})", 1, spec.name))
            reprobe = run.force and not probed
            probe_model(run.executor, spec, encoder, run.output, summary, run.sink, store=run.probes, force=reprobe)
            if run.state is not None and spec.name in summary.speed:
                run.state.add(spec.name, SPEED)
    return summary


def _run_tasks(run: _Run, spec: ModelSpec, encoder: Encoder | Ranker, plan: _Plan, summary: RunSummary) -> None:
    """Evaluate the model on each task of the plan, writing each result; a model failure stops the model."""
    ranker, embedder = None, None
    if isinstance(encoder, Ranker):
        ranker = encoder
    else:
        embedder = Embedder(
            encoder,
            spec.prompts,
            run.cache,
            log=model_sink(run.sink, spec.name, 2),
            name=spec.name,
            progress=lambda e: run.sink(Progress(e.line(), 2, spec.name, encoded=e)),
        )
    for ti, task in enumerate(plan.todo, 1):
        run.sink(Progress(f"({ti}/{len(plan.todo)}) {task.name} [{task.category}]", 1, spec.name))
        data = run.data[task.name]
        keep = functools.partial(write_ranking, run.output, spec.name, task.name)  # stored rankings
        try:
            # the one place every category evaluates: scikit-learn's and torch's pools capped (run/threads.py)
            with bounded_threads(run.threads):
                if ranker is not None:
                    record = rank_task(task, data, spec.name, ranker, keep)
                else:
                    assert embedder is not None
                    search = search_for(encoder, spec)  # per task: the model's own device once it has loaded
                    record = evaluate_task(task, data, embedder, run.compression, keep, search)
        except Exception as exc:
            failure = _task_failure(spec, task, exc)
            run.sink(Progress(f"FAILED: {failure.reason}", 2, spec.name))
            summary.failed.append(failure)
            if failure.task == ALL_TASKS:
                return
            continue
        record = dataclasses.replace(record, request_key=plan.keys[task.name])
        write_result(run.output, record)
        if run.state is not None:
            run.state.add(spec.name, task.name)
        summary.written.append((spec.name, task.name))
        run.sink(Progress(describe(record), 2, spec.name))


def _task_failure(spec: ModelSpec, task: TaskSpec, exc: Exception) -> Failure:
    """What an exception from one task means: a ModelLoadError stops the model (task ALL_TASKS)."""
    if isinstance(exc, ModelLoadError):
        return Failure(spec.name, ALL_TASKS, str(exc), False)
    if isinstance(exc, BadVectors):
        msg = f"model '{spec.name}' returned unusable vectors on task '{task.name}': {exc}"
        return Failure(spec.name, task.name, msg, True)
    if isinstance(exc, UserError):
        return Failure(spec.name, task.name, str(exc), True)
    return Failure(spec.name, task.name, f"{type(exc).__name__}: {exc}", False)


def run(
    models: list[ModelSpec],
    tasks: list[TaskSpec],
    output: Path,
    *,
    force: bool = False,
    cache: DiskCache | None = None,
    log: Sink | None = None,
    speed: bool = False,
    executor: Executor | None = None,
    compression: bool = True,
    pipelines: list[PipelineSpec] | None = None,
) -> RunSummary:
    """Evaluate every model on every task, writing results as they finish; with speed, then probe each model.

    log receives the Progress events (default: text lines printed to stderr); executor says where the models run
    (default: here, one after the other); compression runs the compression sweep (``--no-compression``: off). With
    force, an interrupted run of the same command is resumed: the pairs it finished are kept (run.state), and the
    state is cleared when the command ends."""
    sink = log or stderr_sink
    executor = executor or LocalExecutor()
    summary = RunSummary()
    state = RunState(output, command_identity(models, tasks, speed=speed, compression=compression)) if force else None
    if state is not None and state.resumed:
        n = len(state.finished)
        sink(Progress(f"resuming the interrupted run of this command: {n} finished step(s) kept ({state.path})"))
    with executor.session(sink):
        data = load_data(tasks, lambda m: sink(Progress(m)), summary)
        tasks = [t for t in tasks if t.name in data]  # hub tasks whose data could not be fetched are left out
        if not tasks:
            return summary
        position = {s.name: f"[{k}/{len(models)}]" for k, s in enumerate(models, 1)}
        probes = ProbeStore(cache.root) if cache is not None else None
        threads = eval_threads(executor.concurrency(len(models)))  # models evaluated at once share the cores
        shared = _Run(
            executor, output, tasks, data, cache, force, speed, compression, sink, position, state, probes, threads
        )
        load_pools()
        with bounded_blas(threads):  # BLAS pools are process-wide: capped here, OpenMP and torch per evaluation
            summary.merge(executor.map_models(lambda spec: _run_model(shared, spec), models))
        if pipelines:  # after the models, from their stored rankings (run/pipelines.py)
            optional = frozenset(s.name for s in models if s.optional)
            summary.merge(
                [run_pipelines(pipelines, tasks, data, output, cache=cache, force=force, log=sink, optional=optional)]
            )
    if state is not None:  # the command ended (an interrupted one never gets here)
        state.clear()
    return summary
