"""A speed probe taken on a busy machine: flagged in the report, and `embbench diff` does not call it "same"."""

from __future__ import annotations

import json
from pathlib import Path

from embbench.report.diff import diff_runs, render
from embbench.report.facts import busy


def _speed(output: Path, load: float | None) -> None:
    raw = {
        "model": "m",
        "throughput_texts_per_s": 100.0,
        "hardware": {"cpu": "Test CPU", "threads": 2, "hostname_hash": "h1"},
    }
    if load is not None:
        raw["load"] = {"load_1m": load, "logical_cpus": 2}
    (output / "speed").mkdir(parents=True)
    (output / "speed" / "m.json").write_text(json.dumps(raw), encoding="utf-8")
    (output / "results").mkdir()


def test_busy_reads_the_optional_load() -> None:
    old = {"others_cores": None}  # speed files from before others_cores: the load average decides
    assert busy({"load": {"load_1m": 2.0, "logical_cpus": 2}}) == {
        "load_1m": 2.0,
        "logical_cpus": 2.0,
        **old,
        "busy": True,
    }
    assert busy({"load": {"load_1m": 0.5, "logical_cpus": 2}}) == {
        "load_1m": 0.5,
        "logical_cpus": 2.0,
        **old,
        "busy": False,
    }
    assert busy({}) == {"load_1m": None, "logical_cpus": None, **old, "busy": None}  # older files: unknown, not quiet
    # the run's own encoding lifts the load average; what others used during the probe decides
    assert busy({"load": {"load_1m": 3.4, "logical_cpus": 2, "others_cores": 0.1}})["busy"] is False
    assert busy({"load": {"load_1m": 1.0, "logical_cpus": 2, "others_cores": 0.6}})["busy"] is True
    assert busy({"load": {"load_1m": 9.0, "logical_cpus": 16, "others_cores": 3.9}})["busy"] is False  # < 16 / 4


def test_diff_does_not_call_a_busy_and_a_quiet_probe_the_same(tmp_path: Path) -> None:
    _speed(tmp_path / "a", 0.3)
    _speed(tmp_path / "b", 3.9)
    sp = diff_runs(tmp_path / "a", tmp_path / "b", n_resamples=10)["speed"][0]
    assert sp["same_machine"] is True and sp["same_load"] is False
    text = render(diff_runs(tmp_path / "a", tmp_path / "b", n_resamples=10))
    assert "same host, load differs (quiet -> busy): not comparable" in text


def test_diff_of_two_quiet_probes_is_same(tmp_path: Path) -> None:
    _speed(tmp_path / "a", 0.3)
    _speed(tmp_path / "b", None)
    sp = diff_runs(tmp_path / "a", tmp_path / "b", n_resamples=10)["speed"][0]
    assert sp["same_load"] is True
