"""Runs every (model, task) pair: loads data once, a model only when it has work, writes one result each."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from embbench import categories
from embbench.categories._splits import split_aware  # multi-split hub tasks
from embbench.data import load as load_task_data
from embbench.data.files import MissingDataFile
from embbench.data.hub import TaskUnavailable  # hub tasks (ruMTEB suite)
from embbench.encode.backends import Ranker, load_encoder
from embbench.encode.cache import DiskCache
from embbench.encode.embedder import BadVectors, Embedder
from embbench.errors import ModelLoadError, ModelUnavailable, UserError
from embbench.results import result_path, versions, write_json_atomic
from embbench.spec import HubSource, ModelSpec, TaskSpec
from embbench.spec import resolve_params as resolve_task_params
from embbench.speed.probe import probe_model, speed_path, wants_probe

Log = Callable[[str], None]
ALL_TASKS = "*"  # the task of a failure that stopped a model before or during its tasks


def stderr_log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class RunSummary:
    """What happened: results written, skipped, and failures with their reasons."""

    written: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unavailable: list[tuple[str, str, bool]] = field(default_factory=list)  # (model, reason, optional)
    failed: list[tuple[str, str, str, bool]] = field(default_factory=list)  # (model, task, reason, user_error)
    speed: list[str] = field(default_factory=list)  # models whose speed file was written (task "speed" if failed)
    unavailable_tasks: list[tuple[str, str]] = field(default_factory=list)  # (task, reason): hub data not loadable

    @property
    def exit_code(self) -> int:
        if any(user for *_, user in self.failed):
            return 2
        if self.failed or any(not optional for *_, optional in self.unavailable) or self.unavailable_tasks:
            return 1
        return 0


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


def evaluate_task(task: TaskSpec, data: Any, embedder: Embedder) -> dict[str, Any]:
    """Evaluate one task with one embedding model; returns the result record (not yet written)."""
    module = categories.get(task.category)
    params = resolve_params(task, embedder.encoder.similarity_fn)
    embed = embedder.for_task(task.name, task.category)
    t0 = time.perf_counter()
    metrics, items = split_aware(module.evaluate_items)(data, embed, params)  # split_aware: multi-split hub tasks
    seconds = time.perf_counter() - t0
    s = embed.stats
    return make_record(
        task,
        data,
        embedder.name,
        metrics,
        params,
        seconds,
        embedder.encoder.provenance(),
        timing={
            "encode_seconds": round(s.encode_seconds, 3),
            "cache_seconds": round(s.cache_seconds, 3),
            "evaluate_seconds": round(seconds - s.encode_seconds - s.cache_seconds, 3),
        },
        embedding={"texts": s.texts, "unique": s.unique, "from_cache": s.from_cache, "encoded": s.encoded},
        prompts=embed.prompts_used,
        truncation=embed.truncation(),
        items=items,
    )


def rank_task(task: TaskSpec, data: Any, name: str, ranker: Ranker) -> dict[str, Any]:
    """Evaluate one task with a ranking baseline (BM25); 'n/a' where the category has no meaning for it."""
    module = categories.get(task.category)
    params = resolve_params(task)
    if task.category not in ranker.categories or not hasattr(module, "evaluate_ranking_items"):
        return make_record(task, data, name, None, params, 0.0, ranker.provenance())
    t0 = time.perf_counter()
    metrics, items = split_aware(module.evaluate_ranking_items)(data, ranker.rank, params)  # multi-split hub tasks
    seconds = time.perf_counter() - t0
    return make_record(task, data, name, metrics, params, seconds, ranker.provenance(), items=items)


def make_record(
    task: TaskSpec,
    data: Any,
    model: str,
    metrics: dict[str, float] | None,
    params: dict[str, Any],
    seconds: float,
    model_info: dict[str, Any],
    items: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The result JSON of one (model, task); metrics None means the category does not apply to the model."""
    module = categories.get(task.category)
    main_metric = task.main_metric or module.MAIN_METRIC
    items = select_items(items, main_metric)
    if metrics is not None and main_metric in metrics and not math.isfinite(metrics[main_metric]):
        # e.g. every pair got the same similarity: the correlation is undefined
        raise BadVectors(f"{main_metric} is undefined (NaN or infinite): the similarities do not vary")
    if metrics is not None:  # a JSON result cannot hold NaN: other undefined metrics are recorded as null
        metrics = {k: (v if math.isfinite(v) else None) for k, v in metrics.items()}
    return {
        "schema": 1,
        "model": model,
        "task": task.name,
        "category": task.category,
        "main_metric": main_metric,
        "main_score": None if metrics is None else metrics[main_metric],
        "applicable": metrics is not None,
        "metrics": metrics or {},
        "n_items": data.n_items,
        "seconds": round(seconds, 3),
        **extra,
        "params": params,
        "task_info": {
            "file": str(task.file),
            "data": task.source.uri,  # a folder; a hub task: hf://<dataset>@<revision>
            "eval_split": task.eval_split,
            "description": task.description,
            "source": task.reference,
            "license": task.license,
            "data_fingerprint": data.fingerprint,
            **({"documents": task.documents.task_info()} if task.documents is not None else {}),  # own documents
        },
        "items": items,
        "model_info": model_info,
        "versions": versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def select_items(items: dict[str, Any] | None, main_metric: str) -> dict[str, Any] | None:
    """Keep the per-item detail of the main metric (None when the category cannot give it for that metric)."""
    if not items:
        return None
    if "by_metric" in items:
        values = items["by_metric"].get(main_metric)
        if values is None:
            return None
        return {"kind": items["kind"], "metric": main_metric, "ids": items.get("ids"), "values": values}
    return items if items.get("metric") == main_metric else None


# ModelSpec fields that do not change a score: labels, scheduling, and settings the embedding cache also ignores
# (batch size and device move a vector by ~1e-7 at most)
_NOT_SCORE_FIELDS = frozenset({"name", "file", "optional", "batch_size", "device", "num_gpus"})


def request_key(spec: ModelSpec, task: TaskSpec, data: Any) -> str:
    """sha256 of what a result depends on: the model's settings in models.yaml, the task's resolved protocol (the
    category's defaults with the task's overrides, and the category's protocol VERSION) and the data's fingerprint.
    An existing result with another key is stale and is recomputed."""
    module = categories.get(task.category)
    model = {f: getattr(spec, f) for f in spec.__dataclass_fields__ if f not in _NOT_SCORE_FIELDS}
    protocol = {
        "category": task.category,
        "version": module.VERSION,
        "main_metric": task.main_metric or module.MAIN_METRIC,
        # the model's own similarity function is fixed by its id and revision, hashed above
        "params": resolve_params(task, similarity_fn="<model's own>"),
        "score_range": task.score_range,
        "eval_split": task.eval_split,
        "train_split": task.train_split,
        # a hub task: dataset, revision, subset, splits, mteb task; a local folder counts by its content only
        "source": dataclasses.asdict(task.source) if isinstance(task.source, HubSource) else "local",
        "data": data.fingerprint,
    }
    # default=str: YAML scalars such as dates in model_kwargs
    blob = json.dumps({"model": model, "task": protocol}, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def stale_reason(path: Path, key: str) -> str | None:
    """Why the result at path cannot be reused (None: it is current); unreadable files count as stale."""
    try:
        old = json.loads(path.read_text(encoding="utf-8")).get("request_key")
    except (OSError, ValueError, AttributeError):
        return "unreadable result file"
    if old is None:
        return "written by an older embbench without a request key"
    return None if old == key else "the model's settings, the task or its data changed"


def describe(record: dict[str, Any]) -> str:
    """One progress line for a finished result."""
    if not record["applicable"]:
        return f"n/a: {record['category']} does not apply to this model"
    line = f"{record['main_metric']} = {record['main_score']:.4f}  ({record['seconds']:.1f}s"
    e = record.get("embedding")
    if e:
        line += f"; {e['texts']} texts, {e['encoded']} encoded, {e['from_cache']} from cache"
    return line + ")"


def run(
    models: list[ModelSpec],
    tasks: list[TaskSpec],
    output: Path,
    *,
    force: bool = False,
    cache: DiskCache | None = None,
    log: Log = stderr_log,
    speed: bool = False,
    encoder_factory: Callable[[ModelSpec], Any] | None = None,  # --executor ray (distributed.py): the pool encoder
    data: dict[str, Any] | None = None,  # --executor ray: tasks' data loaded once, shared by the models' threads
) -> RunSummary:
    """Evaluate every model on every task, writing results as they finish; with speed, then probe each model."""
    summary = RunSummary()
    data = load_data(tasks, log, summary) if data is None else data
    tasks = [t for t in tasks if t.name in data]  # hub tasks whose data could not be fetched are left out
    if not tasks:
        return summary
    for mi, spec in enumerate(models, 1):
        keys = {t.name: request_key(spec, t, data[t.name]) for t in tasks}
        todo, stale = [], []
        for t in tasks:
            path = result_path(output, spec.name, t.name)
            if force or not path.is_file():
                todo.append(t)
            elif (why := stale_reason(path, keys[t.name])) is not None:
                stale.append(f"  {spec.name}/{t.name}: recomputing the existing result ({why})")
                todo.append(t)
            else:
                summary.skipped.append((spec.name, t.name))
        probe = speed and wants_probe(spec, output, force)  # speed probe
        if not todo and not probe:
            log(f"[{mi}/{len(models)}] {spec.name}: all {len(tasks)} results exist (use --force to recompute)")
            continue
        log(f"[{mi}/{len(models)}] {spec.name}: loading {spec.model}")
        for line in stale:
            log(line)
        try:
            encoder = (encoder_factory or load_encoder)(spec)
        except ModelUnavailable as exc:
            tag = "skipped (optional)" if spec.optional else "FAILED"
            log(f"  {spec.name}: {tag}: {exc}")
            summary.unavailable.append((spec.name, str(exc), spec.optional))
            continue
        except UserError as exc:
            log(f"  {spec.name}: FAILED: {exc}")
            summary.failed.append((spec.name, ALL_TASKS, str(exc), True))
            continue
        except Exception as exc:  # a broken model folder, an incompatible architecture...
            log(f"  {spec.name}: FAILED to load: {type(exc).__name__}: {exc}")
            summary.failed.append((spec.name, ALL_TASKS, f"load failed: {exc}", False))
            continue
        ranker = encoder if isinstance(encoder, Ranker) else None
        if ranker is None:
            embedder = Embedder(encoder, spec.prompts, cache, log=lambda m: log(f"    {m}"), name=spec.name)
        for ti, task in enumerate(todo, 1):
            log(f"  ({ti}/{len(todo)}) {task.name} [{task.category}]")
            try:
                if ranker is not None:
                    record = rank_task(task, data[task.name], spec.name, ranker)
                else:
                    record = evaluate_task(task, data[task.name], embedder)
            except ModelLoadError as exc:
                log(f"    FAILED: {exc}")
                summary.failed.append((spec.name, ALL_TASKS, str(exc), False))
                probe = False
                break
            except BadVectors as exc:
                msg = f"model '{spec.name}' returned unusable vectors on task '{task.name}': {exc}"
                log(f"    FAILED: {msg}")
                summary.failed.append((spec.name, task.name, msg, True))
                continue
            except UserError as exc:
                log(f"    FAILED: {exc}")
                summary.failed.append((spec.name, task.name, str(exc), True))
                continue
            except Exception as exc:
                log(f"    FAILED: {type(exc).__name__}: {exc}")
                summary.failed.append((spec.name, task.name, f"{type(exc).__name__}: {exc}", False))
                continue
            record["request_key"] = keys[task.name]
            write_json_atomic(result_path(output, spec.name, task.name), record)
            summary.written.append((spec.name, task.name))
            log("    " + describe(record))
        if probe and ranker is None:
            log(f"  speed probe ({speed_path(output, spec.name)})")
            probe_model(spec, encoder, output, summary, log)
    return summary
