"""Public ruMTEB scores as result records, so reports show them as rows marked "(published)" beside the user's models.

The scores (``embbench/resources/published_rumteb.json``) are the main score per task of reference models,
recomputed from embeddings-benchmark/results the way mteb's leaderboard aggregates them by
scripts/refresh_published.py (the JSON names the commit, the method and each score's result file; a score the
results lack is null and gives no row).
A published record is a TaskResult (model, task, category, main_metric, main_score, applicable, items, ...) with
``published=True`` and no per-item detail, so it gets no confidence interval and takes no part in
ties with the best model.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

from embbench.results import TaskResult

SUFFIX = " (published)"
DATA_FILE = "published_rumteb.json"


@functools.lru_cache(maxsize=1)
def load_published() -> dict[str, Any]:
    """The published-scores document (package data)."""
    return json.loads(resources.files("embbench").joinpath("resources", DATA_FILE).read_text(encoding="utf-8"))


def published_records(tasks: Iterable[str] | None = None, models: Iterable[str] | None = None) -> list[TaskResult]:
    """One record per (reference model, task) for the given task names (all when None), main score in 0..1."""
    doc = load_published()
    src = doc["source"]
    results = f"{src['repository'].removeprefix('https://github.com/')}@{src['commit']}"
    wanted = None if tasks is None else set(tasks)
    only = None if models is None else set(models)
    out = []
    for m in doc["models"]:
        if only is not None and m["name"] not in only:
            continue
        for task, value in m["scores"].items():
            if value is None or (wanted is not None and task not in wanted):
                continue
            info = doc["tasks"][task]
            out.append(
                TaskResult(
                    model=m["name"] + SUFFIX,
                    task=task,
                    category=info["category"],
                    main_metric=info["main_metric"],
                    main_score=value / 100.0,
                    applicable=True,
                    metrics={info["main_metric"]: value / 100.0},
                    n_items=None,
                    items=None,
                    published=True,
                    source=results,
                    note=(m.get("flags") or {}).get(task),
                    model_info={
                        "backend": "published",
                        "source": f"{m['model']} (published: {results})",
                        "model": m["model"],
                        "revision": m["result_revision"],
                    },
                    task_info={"source": results, "data_fingerprint": None},
                )
            )
    return out


def with_published(records: list[TaskResult]) -> list[TaskResult]:
    """The records plus the published rows of the ruMTEB tasks they contain (placed first, so the user's own records
    describe each task); a task matches by name, category and main metric. Idempotent."""
    doc = load_published()
    present = {(r.task, r.category, r.main_metric) for r in records if not r.published}
    tasks = {name for name, info in doc["tasks"].items() if (name, info["category"], info["main_metric"]) in present}
    if not tasks:
        return records
    have = {(r.model, r.task) for r in records}
    extra = [r for r in published_records(tasks) if (r.model, r.task) not in have]
    return extra + records
