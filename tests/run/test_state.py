"""The run-state file of a forced run: the same command resumes its finished pairs, another command ignores them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from embbench.run.state import STATE_FILE, RunState, command_identity

MODELS = [SimpleNamespace(name="a"), SimpleNamespace(name="b")]
TASKS = [SimpleNamespace(name="t1"), SimpleNamespace(name="t2")]


def test_the_same_command_resumes_its_finished_pairs(tmp_path: Path) -> None:
    ident = command_identity(MODELS, TASKS, speed=True)
    state = RunState(tmp_path, ident)
    assert not state.resumed
    state.add("a", "t1")
    again = RunState(tmp_path, command_identity(MODELS, TASKS, speed=True))
    assert again.resumed and again.done("a", "t1") and not again.done("a", "t2")


def test_another_command_starts_afresh(tmp_path: Path) -> None:
    RunState(tmp_path, command_identity(MODELS, TASKS, speed=True)).add("a", "t1")
    for other in (command_identity(MODELS, TASKS[:1], speed=True), command_identity(MODELS, TASKS, speed=False)):
        assert not RunState(tmp_path, other).resumed


def test_a_finished_command_clears_its_state_and_a_broken_file_is_ignored(tmp_path: Path) -> None:
    ident = command_identity(MODELS, TASKS)
    state = RunState(tmp_path, ident)
    state.add("b", "t2")
    state.clear()
    assert not (tmp_path / STATE_FILE).exists() and not RunState(tmp_path, ident).resumed
    (tmp_path / STATE_FILE).write_text("{not json", encoding="utf-8")
    assert not RunState(tmp_path, ident).resumed
