"""Result files: one JSON per (model, task), written atomically; the source of truth for every report."""

from __future__ import annotations

import json
import math
import platform
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from embbench._io import atomic_write_json, dist_version
from embbench.errors import UserError

LIBRARIES = (
    "torch",
    "sentence-transformers",
    "transformers",
    "scikit-learn",
    "numpy",
    "scipy",
    "pytrec_eval-terrier",
    "huggingface-hub",
)


SCHEMA = 1  # the result file's schema version: bump it when a field changes meaning


@dataclass(frozen=True)
class TaskResult:
    """One (model, task) result: the typed form of a result file. ``write_result`` is its one writer,
    ``TaskResult.from_json`` its one reader; published reference rows are TaskResults too (``published=True``).

    Optional fields (None) are left out of the file, so a ranking baseline's result has no ``timing``."""

    model: str
    task: str
    category: str
    main_metric: str
    main_score: float | None  # None: the category does not apply to the model (n/a)
    applicable: bool
    metrics: dict[str, float | None] = field(default_factory=dict)
    n_items: int | None = None
    seconds: float | None = None
    timing: dict[str, float] | None = None
    embedding: dict[str, int] | None = None
    prompts: dict[str, Any] | None = None
    truncation: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    # retrieval/reranking with an encoder: where and in what precision the search ran, {device, precision}
    search: dict[str, str] | None = None
    task_info: dict[str, Any] = field(default_factory=dict)
    items: dict[str, Any] | None = None  # per-item detail of the main metric (report/stats.py)
    # the compression sweep: [{dim, precision, bytes_per_vector, score (0..1), index_mb_per_1m_docs?}] (report/rag.py)
    compression: list[dict[str, Any]] | None = None
    model_info: dict[str, Any] = field(default_factory=dict)
    # a pipeline's result (run/pipelines.py): its kind, each stage's main score and the lift over it, reranker counts
    pipeline: dict[str, Any] | None = None
    versions: dict[str, str] | None = None
    date: str | None = None
    request_key: str | None = None  # run/runner.py: what the result depends on; another key means stale
    published: bool = False  # a public reference score (report/published.py), not computed here
    source: str | None = None  # published rows: where the score comes from
    note: str | None = None  # published rows: a caveat
    schema: int = SCHEMA

    # the keys a file must have, in the order every result file has them
    REQUIRED = ("model", "task", "category", "main_metric", "main_score")

    def to_json(self) -> dict[str, Any]:
        """The file's JSON object: schema first, then the fields in declaration order; None and False are left out
        except for the keys every file of its kind has (_always_written)."""
        out: dict[str, Any] = {"schema": self.schema}
        kept = self._always_written()
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "schema" or (f.name not in kept and (v is None or v is False)):
                continue
            out[f.name] = v
        return out

    def _always_written(self) -> tuple[str, ...]:
        """Keys a file has even when None or False, in their place: every computed result says whether it
        applies and has its items (null: no per-item detail), and an encoder's result (one with embedding counts)
        has its truncation figures (null without a token counter)."""
        if self.published:
            return self.REQUIRED
        return (*self.REQUIRED, "applicable", "items", *(("truncation",) if self.embedding is not None else ()))

    @classmethod
    def from_json(cls, raw: Any, where: Path | str) -> TaskResult:
        """Parse a result file's object; a missing or mistyped key is a one-line UserError naming the file."""
        if not isinstance(raw, dict):
            raise UserError(where, "not an embbench result (not a JSON object)", fix="delete it and re-run")
        for key in cls.REQUIRED:
            if key not in raw:
                raise UserError(where, "not an embbench result", field=key, fix="delete it and re-run")
        score = raw["main_score"]
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
            raise UserError(where, f"not a number: {score!r}", field="main_score", fix="delete it and re-run")
        if score is not None and not math.isfinite(score):
            raise UserError(where, f"not a finite number: {score!r}", field="main_score", fix="delete it and re-run")
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in raw.items() if k in known}
        kwargs.setdefault("applicable", score is not None)
        return cls(**kwargs)


def write_result(output: Path, result: TaskResult) -> Path:
    """The one writer of result files: atomically, at result_path(output, model, task)."""
    path = result_path(output, result.model, result.task)
    write_json_atomic(path, result.to_json())
    return path


HUB_LIBRARIES = ("mteb", "datasets")  # a hub task's data is loaded and converted by these


def versions(hub: bool = False) -> dict[str, str]:
    """embbench, Python and library versions for provenance (a hub task's result: mteb's and datasets' too)."""
    out = {"embbench": _version("embbench"), "python": platform.python_version()}
    for lib in LIBRARIES + (HUB_LIBRARIES if hub else ()):
        out[lib] = _version(lib)
    return out


def _version(dist: str) -> str:
    return dist_version(dist) or "not installed"


def result_path(output: Path, model: str, task: str) -> Path:
    """reports/results/<model>/<task>.json (names were checked to be safe file names)."""
    return output / "results" / model / f"{task}.json"


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write via a temporary file and rename, so a crash never leaves a torn file; a failed write (disk full,
    read-only folder) is a one-line UserError that stops the run, keeping the files written before."""
    try:
        atomic_write_json(path, payload, fault="result_write")  # test-only kill point (embbench/_faults.py)
    except OSError as exc:
        raise UserError(
            path,
            f"cannot write ({exc.strerror or exc})",
            fix="free disk space or make the folder writable, then re-run: results already written are kept",
        ) from None


def load_results(output: Path) -> list[TaskResult]:
    """Every result JSON under output/results (unreadable files are reported, not skipped silently)."""
    root = output / "results"
    out = []
    for path in sorted(root.glob("*/*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(
                path, f"unreadable result file ({exc})", fix="delete it and re-run that model and task"
            ) from None
        out.append(TaskResult.from_json(record, path))
    return out
