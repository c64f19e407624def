"""Kept speed probes: a model's probe stored beside the embedding cache (<cache root>/speed/) and reused by later runs.

A probe measures the model on this machine, not the output folder, so a run into a fresh folder (every vector from
the cache) need not spend a minute per model re-measuring it. A kept probe is reused only when everything that moves
its numbers is the same: the model's identity (the embedding cache's: content hash or hub commit, backend options),
the models.yaml settings that change speed (backend, batch size, device, dtype, threads and other options, prompts),
the executor, this machine (CPU, logical CPUs, torch threads and version, visible GPUs, hostname hash) and the probe
itself (PROBE_VERSION, the sample's sizes and source files). `embbench run --force` / `embbench speed --force`
re-measure and replace it. A reused record keeps its own date, hardware and machine load (a probe taken on a busy
machine stays flagged busy) and says where it came from (`reused`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from embbench._io import atomic_write_json
from embbench.encode.cache import PROBES
from embbench.spec import ModelSpec
from embbench.speed import hardware, probe, sample

# Bump when the probe measures differently (its passes, warm-up rule, what a record holds): older probes then miss.
PROBE_VERSION = 1
# ModelSpec fields that do not change speed: labels and where the entry came from (`model` is in the identity,
# as a content hash or a hub commit)
NOT_SPEED = frozenset({"name", "file", "optional", "preset", "model"})


def machine() -> dict[str, Any]:
    """This machine as the key of a kept probe: the probe's hardware fingerprint without the model's device and
    dtype (those are settings, keyed apart), plus the GPUs the process can see."""
    fp = hardware.fingerprint()
    for k in ("device", "dtype", "gpu"):
        fp.pop(k, None)
    return {**fp, "gpus": hardware.visible_gpus(), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}


def _plain(value: Any) -> Any:
    """value as JSON gives it back (tuples as lists, paths as strings): a key compares equal to its stored copy."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def probe_key(
    spec: ModelSpec,
    identity: dict[str, Any],
    *,
    executor: str,
    n_passages: int | None = None,
    n_queries: int | None = None,
    data_dir: Path | None = None,
) -> dict[str, Any]:
    """Everything a kept probe must share with the one about to run (see the module docstring)."""
    settings = {k: v for k, v in dataclasses.asdict(spec).items() if k not in NOT_SPEED}
    return _plain(
        {
            "probe": {
                "version": PROBE_VERSION,
                "sizes": {"cpu": probe.CPU_SIZES, "gpu": probe.GPU_SIZES, "asked": [n_passages, n_queries]},
                "warmup": [probe.CPU_WARMUP, probe.GPU_WARMUP],
                "passage_chars": sample.PASSAGE_CHARS,
                "sample": sample.sample_digest(data_dir),
            },
            "identity": identity,
            "settings": settings,
            "executor": executor,
            "machine": machine(),
        }
    )


@dataclass(frozen=True)
class Kept:
    """A kept probe: its record (as measured) and the file it is kept in."""

    record: dict[str, Any]
    path: Path


class ProbeStore:
    """<cache root>/speed/v<PROBE_VERSION>-<key hash>.json, each {"key": ..., "record": ...}."""

    def __init__(self, root: Path):
        self.folder = Path(root).absolute() / PROBES  # a reused record names where it was kept, from anywhere

    def path(self, key: dict[str, Any]) -> Path:
        digest = hashlib.sha256(json.dumps(_plain(key), sort_keys=True).encode()).hexdigest()
        return self.folder / f"v{PROBE_VERSION}-{digest[:32]}.json"

    def get(self, key: dict[str, Any]) -> Kept | None:
        """The kept probe of exactly this key, measured on this host; None when there is none (or it is unreadable)."""
        path = self.path(key)
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            not isinstance(stored, dict)
            or stored.get("key") != _plain(key)
            or not isinstance(stored.get("record"), dict)
        ):
            return None
        record: dict[str, Any] = stored["record"]
        # a probe run elsewhere (a Ray worker on another node) describes that node, not this one: not reused
        if (record.get("hardware") or {}).get("hostname_hash") != hardware.hostname_hash():
            return None
        return Kept(record, path)

    def put(self, key: dict[str, Any], record: dict[str, Any]) -> Path:
        """Keep a fresh probe (atomically, replacing an older one of the same key)."""
        self.folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # as the embedding cache's root
        self.folder.mkdir(mode=0o700, exist_ok=True)
        path = self.path(key)
        atomic_write_json(path, {"key": _plain(key), "record": record})
        return path


def reused_record(kept: Kept, name: str) -> dict[str, Any]:
    """The speed file of a reused probe: the record as measured (date, hardware, load), under this model's name,
    with `reused` saying where it was kept and when it was reused."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    reused = {"from": str(kept.path), "measured": kept.record.get("date"), "reused": now}
    if kept.record.get("model") != name:
        reused["measured_as"] = kept.record.get("model")
    return {**kept.record, "model": name, "reused": reused}


def reuse_note(kept: Kept) -> str:
    """One progress line: a probe was reused, when and where it was measured, and how to re-measure."""
    rec = kept.record
    hw = rec.get("hardware") or {}
    load = rec.get("load") or {}
    lo, cpus, others = load.get("load_1m"), load.get("logical_cpus"), load.get("others_cores")
    busy = ""
    if isinstance(cpus, (int, float)) and cpus:  # as report/facts.busy
        if isinstance(others, (int, float)):
            if others >= hardware.busy_share(int(cpus)):
                busy = f", on a busy machine (others used {others:.1f} of {cpus} logical CPUs)"
        elif isinstance(lo, (int, float)) and lo >= cpus:
            busy = f", on a busy machine (load {lo:.1f} on {cpus} logical CPUs)"
    return (
        f"speed: reused the probe measured {rec.get('date')} on host {str(hw.get('hostname_hash'))[:8]} "
        f"({hw.get('device')}, {hw.get('threads')} threads){busy}, kept in {kept.path}; --force re-measures"
    )
