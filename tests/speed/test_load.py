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


def test_others_cores_is_the_machines_busy_time_less_this_process() -> None:
    # 10 s of wall time, 14 busy CPU-seconds on the machine, 9 of them this process's: others kept 0.5 cores busy
    assert hardware.others_cores((100.0, 500.0, 40.0), (110.0, 514.0, 49.0)) == pytest.approx(0.5)
    assert hardware.others_cores((100.0, 500.0, 40.0), (110.0, 508.0, 49.0)) == 0.0  # never negative
    assert hardware.others_cores(None, (110.0, 514.0, 49.0)) is None
    assert hardware.others_cores((100.0, 1.0, 1.0), (100.0, 2.0, 1.0)) is None  # no time passed


def test_a_probe_records_what_others_used_not_its_own_work() -> None:
    start = hardware.cpu_snapshot()
    if start is None:
        pytest.skip("no /proc/stat")
    deadline = start[0] + 0.5
    while hardware.cpu_snapshot()[0] < deadline:  # type: ignore[index]
        sum(i * i for i in range(10_000))  # this process busy for half a second
    end = hardware.cpu_snapshot()
    assert end is not None and end[2] - start[2] >= 0.3  # our own CPU time is counted ...
    others = hardware.others_cores(start, end)
    assert others is not None and others <= hardware.logical_threads()  # ... and left out of the others' share
    assert hardware.load(others)["others_cores"] == round(others, 2)  # type: ignore[index]
