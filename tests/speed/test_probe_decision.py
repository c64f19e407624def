"""speed.probe.wants_probe reads the backend registry's kind: deciding imports no backend module."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from embbench.encode.backends import BACKENDS, Backend
from embbench.spec import ModelSpec
from embbench.speed.probe import speed_path, wants_probe


def test_kind_decides_without_importing_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "ghost-ranker", Backend("no.such.module:Ranker", kind="ranker"))
    monkeypatch.setitem(BACKENDS, "ghost-encoder", Backend("no.such.module:Encoder"))
    assert not wants_probe(ModelSpec(name="r", model="x", backend="ghost-ranker"), tmp_path, force=True)
    assert wants_probe(ModelSpec(name="e", model="x", backend="ghost-encoder"), tmp_path, force=True)
    assert "no.such.module" not in sys.modules


def test_an_existing_speed_file_is_kept_unless_forced(tmp_path: Path) -> None:
    spec = ModelSpec(name="e", model="x", backend="navec")
    speed_path(tmp_path, "e").parent.mkdir(parents=True)
    speed_path(tmp_path, "e").write_text("{}")
    assert not wants_probe(spec, tmp_path, force=False) and wants_probe(spec, tmp_path, force=True)
    assert wants_probe(ModelSpec(name="u", model="x", backend="typo"), tmp_path, force=False)  # loading reports it
