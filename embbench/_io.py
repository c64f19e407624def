"""The one atomic file writer (temp file, fsync, rename) and installed-package versions, for every layer."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from embbench._faults import hit as _fault_point


def atomic_write(path: Path, write: Callable[[IO[bytes]], object], *, fault: str | None = None) -> None:
    """Write through a temporary file in the same folder, fsync it and rename it over path, so a crash never leaves
    a torn file; fault names a test-only kill point between the fsync and the rename (embbench/_faults.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if fault:
            _fault_point(fault)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, *, fault: str | None = None) -> None:
    data = text.encode("utf-8")

    def write(fh: IO[bytes]) -> None:
        fh.write(data)

    atomic_write(path, write, fault=fault)


def atomic_write_json(path: Path, payload: Any, *, fault: str | None = None) -> None:
    """JSON with two-space indents and a final newline; NaN is refused (a result file must be valid JSON)."""
    text = json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=False, allow_nan=False) + "\n"
    atomic_write_text(path, text, fault=fault)


def dist_version(dist: str) -> str | None:
    """The installed version of a distribution, None when it is not installed."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
