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
    assert busy({"load": {"load_1m": 2.0, "logical_cpus": 2}}) == {"load_1m": 2.0, "logical_cpus": 2.0, "busy": True}
    assert busy({"load": {"load_1m": 0.5, "logical_cpus": 2}}) == {"load_1m": 0.5, "logical_cpus": 2.0, "busy": False}
    assert busy({}) == {"load_1m": None, "logical_cpus": None, "busy": None}  # older speed files: unknown, not quiet


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
