"""`embbench export --mteb DIR`: hub-task results in mteb's results layout, which mteb's own loaders read.

mteb writes ``<org>__<model>/<revision>/<TaskName>.json`` (a TaskResult: dataset_revision, task_name,
mteb_version, scores = {split: [{hf_subset, languages, main_score, <metrics>}]}, evaluation_time) plus
``model_meta.json`` per model folder; ``mteb.TaskResult.from_disk`` and ``mteb.ResultCache`` read that layout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from embbench._io import atomic_write_json
from embbench.results import TaskResult, load_results

NO_REVISION = "no_revision_available"  # mteb's folder name for a model without a pinned revision
HF_URI = re.compile(r"^hf://(?P<path>[^@#]+)@(?P<revision>[0-9a-f]{40})(?:#(?P<subset>.+))?$")


def hub_info(result: TaskResult) -> dict[str, Any] | None:
    """mteb task, dataset revision, subset and splits of a hub-task result; None for a local task."""
    info = result.task_info or {}
    hub = info.get("hub")
    if isinstance(hub, dict) and hub.get("mteb_task"):
        return hub
    m = HF_URI.match(str(info.get("data", "")))
    if m is None:
        return None
    return {
        "mteb_task": result.task,  # the task files of the ruMTEB suites carry mteb's task names
        "revision": m["revision"],
        "subset": m["subset"] or "default",
        "splits": str(info.get("eval_split", "test")).split("+"),
    }


def model_path(result: TaskResult) -> tuple[str, str]:
    """(model folder, revision folder) as mteb names them: the hub id with '/' -> '__', else embbench's name."""
    info = result.model_info or {}
    source = str(info.get("source") or "")
    hub_id = source if source.count("/") == 1 and not source.startswith((".", "/", "~", "pkg:")) else ""
    name = (hub_id or result.model).replace("/", "__").replace(" ", "_")
    return name, str(info.get("revision") or NO_REVISION)


def _languages(mteb_task: str, subset: str) -> list[str]:
    try:
        import mteb

        langs = mteb.get_task(mteb_task).metadata.eval_langs
    except Exception:  # mteb not installed or the task unknown to it: the ruMTEB tasks are Russian
        return ["rus-Cyrl"]
    return list(langs.get(subset, ["rus-Cyrl"]) if isinstance(langs, dict) else langs)


def task_result_json(result: TaskResult, hub: dict[str, Any]) -> dict[str, Any]:
    """One mteb TaskResult object for an embbench hub-task result."""
    splits = list(hub.get("splits") or ["test"])
    subset = str(hub.get("subset") or "default")
    metrics = {k: v for k, v in (result.metrics or {}).items() if v is not None}
    main = result.main_metric
    scores: dict[str, list[dict[str, Any]]] = {}
    for split in splits:
        prefix = f"{split}_" if len(splits) > 1 else ""
        own = {k[len(prefix) :]: v for k, v in metrics.items() if k.startswith(prefix)} if prefix else dict(metrics)
        own = {k: v for k, v in own.items() if not any(k.startswith(f"{s}_") for s in splits)}
        base_main = main[len(prefix) :] if prefix and main.startswith(prefix) else main
        scores[split] = [
            {
                **own,
                "main_score": own.get(base_main, result.main_score),
                "hf_subset": subset,
                "languages": _languages(str(hub["mteb_task"]), subset),
            }
        ]
    versions = result.versions or {}
    return {
        "dataset_revision": str(hub.get("revision") or ""),
        "task_name": str(hub["mteb_task"]),
        "mteb_version": versions.get("mteb") if versions.get("mteb") not in (None, "not installed") else None,
        "scores": scores,
        "evaluation_time": result.seconds,
        "kg_co2_emissions": None,
        "date": result.date,
    }


def model_meta_json(result: TaskResult, folder: str, revision: str) -> dict[str, Any]:
    """mteb's ModelMeta for a model it knows (its own to_dict), else the fields embbench knows."""
    hub_id = folder.replace("__", "/", 1) if "__" in folder else None
    if hub_id:
        try:
            import mteb

            meta = mteb.get_model_meta(hub_id)
            out = meta.to_dict()
            out["revision"] = revision if revision != NO_REVISION else meta.revision
            return {
                k: (v if isinstance(v, (str, int, float, bool, list, dict, type(None))) else str(v))
                for k, v in out.items()
            }
        except Exception:  # not in mteb's registry (or mteb not installed)
            pass
    info = result.model_info or {}
    return {
        "name": hub_id or result.model,
        "revision": None if revision == NO_REVISION else revision,
        "embed_dim": (result.embedding or {}).get("dim") or info.get("dim"),
        "max_tokens": info.get("max_seq_length"),
        "framework": ["Sentence Transformers"] if info.get("backend") == "sentence-transformers" else [],
        "similarity_fn_name": info.get("similarity_fn"),
        "loader": None,
    }


def export_mteb(output: Path, dest: Path, results: Iterable[TaskResult] | None = None) -> list[Path]:
    """Write every hub-task result under output/results into dest in mteb's layout; returns the files written.
    A smoke run's partial result (--limit) is not a leaderboard score and is left out."""
    written: list[Path] = []
    for r in load_results(output) if results is None else results:
        hub = hub_info(r)
        if hub is None or r.main_score is None or (r.task_info or {}).get("limit") is not None:
            continue
        folder, revision = model_path(r)
        base = dest / folder / revision
        path = base / f"{hub['mteb_task']}.json"
        atomic_write_json(path, task_result_json(r, hub))
        meta = base / "model_meta.json"
        if meta not in written:
            atomic_write_json(meta, model_meta_json(r, folder, revision))
            written.append(meta)
        written.append(path)
    return written
