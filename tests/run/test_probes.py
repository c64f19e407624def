"""Kept speed probes through a run (run/probes.py, speed/store.py), on the packaged MiniLM with a tiny probe: a run
into a fresh output folder reuses the probe of the same model, settings and machine; another machine, another batch
size, --force or --no-cache measures again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from embbench.speed import hardware
from embbench.speed import probe as speed
from tests.helpers import DATA, MINILM_ENTRY, MODEL, cli, read_jsonl, write_jsonl, write_models, write_task

FIGURES = ("throughput_texts_per_s", "throughput_tokens_per_s", "latency_ms_p50", "latency_ms_p95", "peak_rss_mb")


@dataclass
class Bench:
    root: Path
    models: Path
    task: Path
    cache: Path
    probes: list[str]  # the model name of every probe() call

    def run(self, output: str, *extra: str | Path, models: Path | None = None) -> str:
        res = cli("run", "--models", models or self.models, "--tasks", self.task, "--output", self.root / output,
                  "--cache-dir", self.cache, "--no-compression", *extra)  # fmt: skip
        assert res.code == 0, res.err
        return res.err

    def speed_file(self, output: str) -> dict[str, Any]:
        return json.loads((self.root / output / "speed" / f"{MODEL}.json").read_text(encoding="utf-8"))


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bench:
    monkeypatch.setattr(speed, "CPU_SIZES", (4, 3))  # a probe of seconds
    monkeypatch.setattr(speed, "GPU_SIZES", (4, 3))
    calls: list[str] = []
    real = speed.probe

    def counted(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs.get("name", "?"))
        return real(*args, **kwargs)

    monkeypatch.setattr(speed, "probe", counted)
    rows = read_jsonl(DATA / "sts" / "stsb_multi_mt_ru" / "test.jsonl")[:6]
    write_jsonl(tmp_path / "sts" / "test.jsonl", rows)
    task = write_task(tmp_path, {"name": "tiny_sts", "category": "sts", "data": "sts", "score_range": [0, 5]})
    models = write_models(tmp_path / "models.yaml", [{**MINILM_ENTRY, "batch_size": 2}])
    return Bench(tmp_path, models, task, tmp_path / "cache", calls)


def test_a_fresh_output_folder_reuses_the_kept_probe(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as busy:  # the first probe runs on a busy machine
        busy.setattr(hardware, "load", lambda *_: {"load_1m": 9.5, "logical_cpus": 2})
        bench.run("a")
    assert bench.probes == [MODEL]
    kept = list((bench.cache / "speed").glob("*.json"))
    assert len(kept) == 1
    err = bench.run("b")
    assert bench.probes == [MODEL], "the second run re-measured"
    a, b = bench.speed_file("a"), bench.speed_file("b")
    assert {k: b[k] for k in FIGURES} == {k: a[k] for k in FIGURES}
    assert b["date"] == a["date"] and b["hardware"] == a["hardware"] and b["load"] == a["load"]
    assert "reused" not in a and b["reused"]["from"] == str(kept[0]) and b["reused"]["measured"] == a["date"]
    assert f"reused the probe measured {a['date']}" in err and "on a busy machine (load 9.5" in err
    board = (bench.root / "b" / "leaderboard.md").read_text(encoding="utf-8")
    assert f"speed of {MODEL} was not measured by this run: it reuses the probe measured {a['date']}" in board
    assert f"speed of {MODEL} was probed on a busy machine (load 9.5" in board  # a reused busy probe stays busy
    assert "was not measured by this run" not in (bench.root / "a" / "leaderboard.md").read_text(encoding="utf-8")


def test_another_machine_batch_size_or_force_measures_again(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    bench.run("a")
    with monkeypatch.context() as other:
        other.setattr(hardware, "cpu_model", lambda: "Another CPU 9000")
        bench.run("b")
    assert bench.probes == [MODEL] * 2
    assert "reused" not in bench.speed_file("b")
    bigger = write_models(bench.root / "models4.yaml", [{**MINILM_ENTRY, "batch_size": 4}])
    bench.run("c", models=bigger)
    assert bench.probes == [MODEL] * 3 and bench.speed_file("c")["batch_size"] == 4
    err = bench.run("d", "--force")
    assert bench.probes == [MODEL] * 4 and "reused the probe" not in err
    forced = bench.speed_file("d")
    bench.run("e")  # the forced probe replaced the kept one
    assert bench.probes == [MODEL] * 4
    assert bench.speed_file("e")["date"] == forced["date"]
    assert {k: bench.speed_file("e")[k] for k in FIGURES} == {k: forced[k] for k in FIGURES}
    bench.run("f", "--no-cache")  # no cache: nothing kept, nothing reused
    assert bench.probes == [MODEL] * 5


def test_embbench_speed_reuses_unless_forced(bench: Bench) -> None:
    def speed_cmd(output: str, *extra: str) -> str:
        args = ("--models", bench.models, "--output", bench.root / output, "--cache-dir", bench.cache)
        res = cli("speed", *args, *extra)
        assert res.code == 0, res.err
        return res.err

    speed_cmd("a")
    assert bench.probes == [MODEL]
    assert "reused the probe" in speed_cmd("b") and bench.probes == [MODEL]
    assert bench.speed_file("b")["date"] == bench.speed_file("a")["date"]
    speed_cmd("c", "--force")
    assert bench.probes == [MODEL] * 2 and "reused" not in bench.speed_file("c")
    bench.run("d")  # `embbench run` reuses what `embbench speed` kept
    assert bench.probes == [MODEL] * 2 and bench.speed_file("d")["date"] == bench.speed_file("c")["date"]
