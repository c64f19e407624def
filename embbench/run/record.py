"""The result record of one (model, task): building it, its request key, and whether a stored one is current."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from embbench import categories
from embbench._paths import portable
from embbench.categories import compression as compress
from embbench.categories.search import SEARCH_CATEGORIES
from embbench.encode.embedder import BadVectors
from embbench.results import TaskResult, versions
from embbench.spec import HubSource, ModelSpec, TaskSpec, resolve_params


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
) -> TaskResult:
    """The result of one (model, task); metrics None means the category does not apply to the model."""
    module = categories.get(task.category)
    main_metric = task.main_metric or module.MAIN_METRIC
    items = select_items(items, main_metric)
    if metrics is not None and main_metric in metrics and not math.isfinite(metrics[main_metric]):
        # e.g. every pair got the same similarity: the correlation is undefined
        raise BadVectors(f"{main_metric} is undefined (NaN or infinite): the similarities do not vary")
    recorded: dict[str, float | None] = {}  # a JSON result cannot hold NaN: other undefined metrics are null
    if metrics is not None:
        recorded = {k: (v if math.isfinite(v) else None) for k, v in metrics.items()}
    return TaskResult(
        model=model,
        task=task.name,
        category=task.category,
        main_metric=main_metric,
        main_score=None if metrics is None else metrics[main_metric],
        applicable=metrics is not None,
        metrics=recorded,
        n_items=data.n_items,
        seconds=round(seconds, 3),
        **extra,
        params=params,
        task_info=task_info(task, data),
        items=items,
        model_info=portable_model_info(model_info),
        versions=versions(hub=isinstance(task.source, HubSource)),
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def task_info(task: TaskSpec, data: Any) -> dict[str, Any]:
    """Where the task and its data come from, with portable paths (results travel: no local absolute path)."""
    src = task.source
    info: dict[str, Any] = {
        "file": portable(task.file, Path.cwd()),
        "data": portable(src.uri, Path.cwd()),  # a folder; a hub task: hf://<dataset>@<revision>
        "eval_split": task.eval_split,
        "description": task.description,
        "source": task.reference,
        "license": task.license,
        "data_fingerprint": data.fingerprint,
    }
    if isinstance(src, HubSource):  # what `embbench export --mteb` names the mteb result by
        info["hub"] = {
            "mteb_task": src.mteb_task,
            "dataset": portable(src.path, Path.cwd()),
            "revision": src.revision,
            "subset": src.subset,
            "splits": list(src.splits),
        }
    if task.documents is not None:  # your own documents
        docs = task.documents.task_info()
        if "folder" in docs:
            docs["folder"] = portable(docs["folder"], Path.cwd())
        info["documents"] = docs
    if task.limit is not None:  # --limit N: a smoke run, partial (never mixed into a full leaderboard)
        info["limit"] = task.limit
    if task.subset_of is not None:  # a subset of public data: the report marks it and links the mteb task
        info["subset_of"] = task.subset_of.as_dict()
    return info


def portable_model_info(model_info: dict[str, Any]) -> dict[str, Any]:
    """The backend's provenance with its local paths (the model folder, a local `model:`) made portable."""
    out = dict(model_info)
    for key in ("path", "source"):
        if isinstance(out.get(key), str):
            out[key] = portable(out[key], Path.cwd())
    return out


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
# (batch size and device move a vector by ~1e-7 at most); search_precision counts for the tasks that search (below)
_NOT_SCORE_FIELDS = frozenset({"name", "file", "optional", "batch_size", "device", "num_gpus", "search_precision"})


def request_key(spec: ModelSpec, task: TaskSpec, data: Any, compression: bool = True) -> str:
    """sha256 of what a result depends on: the model's settings in models.yaml, the task's resolved protocol (the
    category's defaults with the task's overrides, and the category's protocol VERSION), the data's fingerprint and,
    where it applies, whether the compression sweep runs. An existing result with another key is stale and is
    recomputed."""
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
    if spec.search_precision not in (None, "float32") and task.category in SEARCH_CATEGORIES:
        protocol["search_precision"] = spec.search_precision  # half-precision search (categories/search.py)
    if task.subset_of is not None:  # no score depends on it, but results written without it would not show it
        protocol["subset_of"] = task.subset_of.as_dict()
    if compression and compress.applies(task.category):  # the sweep's variants are part of the result
        protocol["compression"] = compress.VERSION
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


def describe(record: TaskResult) -> str:
    """One progress line for a finished result."""
    if not record.applicable:
        return f"n/a: {record.category} does not apply to this model"
    line = f"{record.main_metric} = {record.main_score:.4f}  ({record.seconds:.1f}s"
    e = record.embedding
    if e:
        line += f"; {e['texts']} texts, {e['encoded']} encoded, {e['from_cache']} from cache"
    return line + ")"
