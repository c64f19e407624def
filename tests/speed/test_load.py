"""The speed file's `load`: what the report reads to flag a probe taken on a busy machine."""

from __future__ import annotations

import os

import pytest

from embbench.report.facts import busy
from embbench.speed import hardware


def test_load_is_the_load_average_and_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (9.14, 5.0, 3.0))
    monkeypatch.setattr(hardware, "logical_threads", lambda: 2)
    rec = hardware.load()
    assert rec == {"load_1m": 9.14, "logical_cpus": 2}
    assert busy({"load": rec})["busy"] is True  # what the report flags


def test_no_load_average_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> tuple[float, float, float]:
        raise OSError("no load average")

    monkeypatch.setattr(os, "getloadavg", missing)
    assert hardware.load() is None
    assert busy({"load": None})["busy"] is None
