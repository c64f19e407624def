"""`embbench run` feeds the decision page: models.yaml's report: block and the flags, and the models not evaluated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embbench.cli import main

ROOT = Path(__file__).resolve().parents[2]


def write_models(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        "  - name: bm25\n    backend: bm25\n"
        "  - name: offline-hub-model\n    model: nobody/not-a-model-anywhere\n    optional: true\n" + extra,
        encoding="utf-8",
    )
    return path


def test_report_block_and_not_evaluated_reach_the_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBBENCH_CACHE", str(tmp_path / "cache"))
    models = write_models(tmp_path, "report:\n  budgets: {p95_ms: 50}\n  uses: {search: [retrieval]}\n")
    out = tmp_path / "out"
    args = [
        "run",
        "--models",
        str(models),
        "--tasks",
        str(ROOT / "embbench/resources/tasks/tydiqa_ru.yaml"),
        "--output",
        str(out),
    ]
    assert main([*args, "--no-speed"]) == 0  # an optional model that cannot load does not fail the run
    missing = json.loads((out / "not_evaluated.json").read_text(encoding="utf-8"))
    assert [m["model"] for m in missing] == ["offline-hub-model"] and missing[0]["reason"]
    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    assert [m["model"] for m in board["not_evaluated"]] == ["offline-hub-model"]
    assert board["decision"]["search"]["recommended"] == "bm25"
    assert any("p95_ms" in json.dumps(b) for b in board["budgets"])
    assert "offline-hub-model" in (out / "leaderboard.md").read_text(encoding="utf-8")


def test_use_flag_overrides_the_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBBENCH_CACHE", str(tmp_path / "cache"))
    models = write_models(tmp_path, "report:\n  uses: {search: [retrieval]}\n")
    out = tmp_path / "out"
    args = [
        "run",
        "--models",
        str(models),
        "--tasks",
        str(ROOT / "embbench/resources/tasks/tydiqa_ru.yaml"),
        "--output",
        str(out),
    ]
    assert main([*args, "--no-speed", "--use", "qa=retrieval"]) == 0
    assert set(json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))["decision"]) == {"qa"}


def test_a_bad_report_block_stops_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = write_models(tmp_path, "report:\n  budgets: {p95: 3}\n")
    out = tmp_path / "out"
    args = [
        "run",
        "--models",
        str(models),
        "--tasks",
        str(ROOT / "embbench/resources/tasks/tydiqa_ru.yaml"),
        "--output",
        str(out),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "models.yaml" in err[0] and "p95" in err[0] and "fix:" in err[0]
    assert not (out / "results").exists()
