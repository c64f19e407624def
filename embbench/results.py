"""Result files: one JSON per (model, task), written atomically; the source of truth for every report."""

from __future__ import annotations

import json
import platform
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


def versions() -> dict[str, str]:
    """embbench, Python and library versions for provenance."""
    out = {"embbench": _version("embbench"), "python": platform.python_version()}
    for lib in LIBRARIES:
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


def load_results(output: Path) -> list[dict[str, Any]]:
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
        for key in ("model", "task", "category", "main_metric", "main_score"):
            if key not in record:
                raise UserError(path, "not an embbench result", field=key, fix="delete it and re-run")
        out.append(record)
    return out
