"""Persistent embedding cache: append-only segment files per model configuration, safe under kill and concurrency.

Layout: <root>/v<FORMAT>-<model-key>/meta.json and segments <id>.npy (float32 rows) + <id>.keys (32-byte keys, one
per row). A segment is written to temporary files, fsynced and renamed (vectors first, keys last): a reader only
sees a segment whose .keys exists, so a killed writer leaves at most ignorable temporary files and two concurrent
writers never touch the same file (no locks, no "database is locked"). Folders are created private to the user
(0700; files are 0600 from mkstemp): cached vectors reveal the texts of private corpora on a shared machine.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from embbench._faults import hit as _fault_point
from embbench._io import atomic_write

KEY_BYTES = 32
# Bump when the keys (embedder.text_key) or the layout change: each format has folders of its own, so entries of
# another format are never read (they simply miss) and `embbench cache clear` removes them.
# 1: folders <model-key>, keys sha256(model key NUL prompt NUL text); 2: v2-<model-key>, length-prefixed parts.
FORMAT = 2
PRIVATE = 0o700
EXPORTS = "exports"  # <root>/exports: models exported for the onnx/openvino backends (encode/backends/onnx_export)
PROBES = "speed"  # <root>/speed: kept speed probes (speed/store.py), reused by runs on the same machine


def default_root() -> Path:
    """$EMBBENCH_CACHE, else $XDG_CACHE_HOME/embbench, else ~/.cache/embbench."""
    env = os.environ.get("EMBBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "embbench"


def _writer(data: bytes) -> Callable[[IO[bytes]], None]:
    """What atomic_write calls to fill its temporary file with data."""

    def write(fh: IO[bytes]) -> None:
        fh.write(data)

    return write


class SegmentStore:
    """Vectors of one model configuration; get_many/put_many by 32-byte key."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.index: dict[bytes, tuple[str, int]] = {}
        self.segments: set[str] = set()
        self._arrays: dict[str, np.ndarray] = {}

    def _refresh(self) -> None:
        """Index segments written since the last look (by this or another process)."""
        if not self.folder.is_dir():
            return
        for keys_file in self.folder.glob("*.keys"):
            seg = keys_file.stem
            if seg in self.segments:
                continue
            raw = keys_file.read_bytes()
            if len(raw) % KEY_BYTES:
                continue  # cannot happen with atomic renames; ignore rather than crash
            self.segments.add(seg)
            for row in range(len(raw) // KEY_BYTES):
                self.index.setdefault(raw[row * KEY_BYTES : (row + 1) * KEY_BYTES], (seg, row))

    def _array(self, seg: str) -> np.ndarray:
        arr = self._arrays.get(seg)
        if arr is None:
            arr = self._arrays[seg] = np.load(self.folder / f"{seg}.npy", mmap_mode="r")
        return arr

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The cached vectors among keys (missing keys are absent from the result)."""
        if any(k not in self.index for k in keys):
            self._refresh()
        by_seg: dict[str, list[tuple[bytes, int]]] = {}
        for k in keys:
            hit = self.index.get(k)
            if hit is not None:
                by_seg.setdefault(hit[0], []).append((k, hit[1]))
        out: dict[bytes, np.ndarray] = {}
        for seg, items in by_seg.items():
            rows = np.asarray(self._array(seg)[[r for _, r in items]], dtype=np.float32)
            out.update(zip([k for k, _ in items], rows, strict=True))
        return out

    def put_many(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Append one segment holding these vectors."""
        if not len(keys):
            return
        self.folder.mkdir(mode=PRIVATE, parents=True, exist_ok=True)
        seg = f"{time.time_ns():x}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        atomic_write(self.folder / f"{seg}.npy", lambda fh: np.save(fh, vecs))
        _fault_point("cache_write")  # test-only kill point (embbench/_faults.py)
        atomic_write(self.folder / f"{seg}.keys", _writer(b"".join(keys)))
        self.segments.add(seg)
        for row, k in enumerate(keys):
            self.index.setdefault(k, (seg, row))


class DiskCache:
    """The cache root: one SegmentStore per model configuration, plus info and clear."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_root()

    def store(self, model_key: str, identity: dict[str, Any], name: str) -> SegmentStore:
        """The store of one model configuration; records which model names used it."""
        self.root.mkdir(mode=PRIVATE, parents=True, exist_ok=True)  # an existing root keeps the mode its owner gave
        folder = self.root / f"v{FORMAT}-{model_key[:32]}"
        folder.mkdir(mode=PRIVATE, exist_ok=True)
        meta_path = folder / "meta.json"
        meta = self._meta(folder) or {"format": FORMAT, "identity": identity, "model_key": model_key, "names": []}
        if name not in meta["names"]:
            meta["names"] = sorted({*meta["names"], name})
            atomic_write(meta_path, _writer(json.dumps(meta, indent=2, default=str).encode()))
        return SegmentStore(folder)

    @staticmethod
    def _meta(folder: Path) -> dict[str, Any] | None:
        try:
            return json.loads((folder / "meta.json").read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def info(self) -> list[dict[str, Any]]:
        """Per model configuration: names, model, entries and bytes on disk."""
        out: list[dict[str, Any]] = []
        if not self.root.is_dir():
            return out
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and p.name not in (EXPORTS, PROBES)):
            meta = self._meta(folder) or {}
            keys = list(folder.glob("*.keys"))
            entries = sum(k.stat().st_size // KEY_BYTES for k in keys)
            size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
            out.append(
                {
                    "folder": folder.name,
                    "format": meta.get("format", 1),
                    "names": meta.get("names", []),
                    "model": meta.get("identity", {}).get("model", "?"),
                    "entries": entries,
                    "segments": len(keys),
                    "bytes": size,
                }
            )
        return out

    def clear(self, model: str | None = None) -> int:
        """Delete every configuration (or those used by model name); returns how many were removed."""
        removed = 0
        for entry in self.info():
            if model is None or model in entry["names"]:
                shutil.rmtree(self.root / entry["folder"], ignore_errors=True)
                removed += 1
        return removed
