"""speed/store.py: what keys a kept probe, and when a kept probe is (not) given back; no model is loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from embbench.encode.cache import DiskCache
from embbench.spec import ModelSpec
from embbench.speed import hardware, store
from embbench.speed.store import ProbeStore, probe_key, reused_record

IDENTITY = {"backend": "sentence-transformers", "model": "local:abc", "dtype": "float32"}


def key(spec: ModelSpec | None = None, identity: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    return probe_key(
        spec or ModelSpec(name="m", model="x"), identity or IDENTITY, **{"executor": "LocalExecutor", **kw}
    )


def record(name: str = "m", **kw: Any) -> dict[str, Any]:
    hw = hardware.fingerprint()
    return {"model": name, "throughput_texts_per_s": 12.5, "hardware": hw, "date": "2025-01-02T03:04:05+00:00", **kw}


def test_the_key_holds_what_changes_speed_and_not_the_name() -> None:
    base = key()
    assert key(ModelSpec(name="other-name", model="elsewhere", optional=True)) == base
    changed = [
        key(ModelSpec(name="m", model="x", batch_size=64)),
        key(ModelSpec(name="m", model="x", device="cuda:1")),
        key(ModelSpec(name="m", model="x", dtype="float16")),
        key(ModelSpec(name="m", model="x", backend="onnx")),  # the backend is in the key whatever the identity holds
        key(ModelSpec(name="m", model="x", options={"threads": 1})),
        key(ModelSpec(name="m", model="x", prompts={"query": "query: "})),
        key(identity={**IDENTITY, "model": "local:def"}),
        key(executor="RayExecutor"),
        key(n_passages=16),
    ]
    assert all(k != base for k in changed)
    assert len({json.dumps(k, sort_keys=True) for k in changed}) == len(changed)


def test_the_key_holds_the_machine_and_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    base = key()
    with monkeypatch.context() as m:
        m.setattr(hardware, "hostname_hash", lambda: "0" * 12)
        assert key() != base
    with monkeypatch.context() as m:
        m.setattr(hardware, "logical_threads", lambda: 96)
        assert key() != base
    with monkeypatch.context() as m:
        m.setattr(store, "PROBE_VERSION", store.PROBE_VERSION + 1)
        assert key() != base
    with monkeypatch.context() as m:
        m.setattr(store.sample, "sample_digest", lambda data_dir=None: "f" * 16)  # other sample texts
        assert key() != base
    assert key() == base


def test_a_kept_probe_comes_back_only_for_its_key_and_host(tmp_path: Path) -> None:
    probes = ProbeStore(tmp_path)
    k = key()
    assert probes.get(k) is None
    path = probes.put(k, record())
    assert path.parent == tmp_path / "speed" and not list(path.parent.glob(".*.tmp"))
    kept = probes.get(k)
    assert kept is not None and kept.record == record() and kept.path == path
    assert probes.get(key(ModelSpec(name="m", model="x", batch_size=8))) is None
    elsewhere = record()
    elsewhere["hardware"] = {**elsewhere["hardware"], "hostname_hash": "0" * 12}  # a Ray worker on another node
    probes.put(k, elsewhere)
    assert probes.get(k) is None  # that node's numbers, not this machine's
    probes.put(k, record())
    path.write_text("{not json", encoding="utf-8")
    assert probes.get(k) is None
    path.write_text(json.dumps({"key": {"other": 1}, "record": record()}), encoding="utf-8")
    assert probes.get(k) is None


def test_a_reused_record_says_where_it_was_kept(tmp_path: Path) -> None:
    probes = ProbeStore(tmp_path)
    probes.put(key(), record(name="e5", load={"load_1m": 3.0, "logical_cpus": 2}))
    kept = probes.get(key())
    assert kept is not None
    out = reused_record(kept, "e5-copy")
    assert out["model"] == "e5-copy" and out["date"] == kept.record["date"] and out["load"] == kept.record["load"]
    assert out["reused"]["from"] == str(kept.path) and out["reused"]["measured_as"] == "e5"
    assert out["reused"]["measured"] == "2025-01-02T03:04:05+00:00"
    note = store.reuse_note(kept)
    assert "2025-01-02T03:04:05+00:00" in note and "busy machine (load 3.0 on 2" in note and str(kept.path) in note


def test_cache_info_does_not_list_the_kept_probes(tmp_path: Path) -> None:
    ProbeStore(tmp_path).put(key(), record())
    assert DiskCache(tmp_path).info() == []
