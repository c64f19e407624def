"""Where tasks come from: suites (./tasks/<name> or built in) by name or benchmark name, tasks by name or path."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from embbench.errors import UserError
from embbench.resources import tasks_root
from embbench.spec._yaml import NAME_RE, read_yaml
from embbench.spec.tasks import SUITE_FILE, find_task_files

USER_TASKS = Path("tasks")  # a team's own task files and suites, relative to the working directory
DEMO_SUITE = "demo"


@dataclass(frozen=True)
class Suite:
    """A suite folder (its suite.yaml lists the task files) and the benchmark it reproduces, if any."""

    name: str
    folder: Path
    benchmark: str = ""  # e.g. "MTEB(rus, v1.1)": --suite accepts it as well as the name
    builtin: bool = True


def _suites_in(root: Path, builtin: bool) -> list[Suite]:
    out = []
    for f in sorted(root.glob(f"*/{SUITE_FILE}")):
        raw = read_yaml(f)
        benchmark = raw.get("benchmark", "") if isinstance(raw, dict) else ""
        out.append(Suite(f.parent.name, f.parent, str(benchmark or ""), builtin))
    return out


def list_suites() -> list[Suite]:
    """./tasks/<name>/suite.yaml first (a team's own suite shadows a built-in one of that name), then built-ins."""
    local = _suites_in(USER_TASKS, builtin=False) if USER_TASKS.is_dir() else []
    names = {s.name for s in local}
    return local + [s for s in _suites_in(tasks_root(), builtin=True) if s.name not in names]


def find_suite(name: str) -> Path:
    """The folder of a suite named by its folder name (rumteb, demo) or its benchmark ("MTEB(rus, v1.1)")."""
    suites = list_suites()
    for s in suites:
        if name == s.name or (s.benchmark and name.casefold() == s.benchmark.casefold()):
            return s.folder
    known = ", ".join(s.name + (f' ("{s.benchmark}")' if s.benchmark else "") for s in suites)
    what = f"no suite '{name}'" if NAME_RE.match(name) else f"'{name}' is neither a suite nor a benchmark name"
    raise UserError("--suite", what, fix=f"use one of: {known}")


@cache
def _task_names(root: Path) -> dict[str, Path]:
    """Task name -> task file for every task file under root (suite.yaml files are not tasks)."""
    out: dict[str, Path] = {}
    for f in sorted(root.rglob("*.yaml")):
        if f.name == SUITE_FILE:
            continue
        raw = read_yaml(f)
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            out.setdefault(raw["name"], f)
    return out


def known_tasks() -> dict[str, Path]:
    """Every task by name: ./tasks first, then the built-in ones (demo tasks, ruMTEB tasks by their mteb names)."""
    local = _task_names(USER_TASKS.resolve()) if USER_TASKS.is_dir() else {}
    return {**_task_names(tasks_root()), **local}


def find_task(ref: str | Path) -> Path:
    """A task file or folder by path, else a task by name: exact (terra, TERRa), else ignoring case when that
    names one task only."""
    path = Path(ref)
    if path.exists():
        return path
    names = known_tasks()
    if str(ref) in names:
        return names[str(ref)]
    folded = [f for n, f in names.items() if n.casefold() == str(ref).casefold()]
    if len(folded) == 1:
        return folded[0]
    raise UserError(
        ref,
        "no such task file or folder, and no task of that name",
        fix="check the --tasks path, or see `embbench ls tasks` for the task names",
    )


def default_task_paths() -> tuple[list[Path], str]:
    """What a run without --tasks/--suite evaluates: ./tasks when it holds task files, else the demo suite;
    with a line saying which."""
    if USER_TASKS.is_dir() and find_task_files([USER_TASKS]):
        return [USER_TASKS], ""
    return [find_suite(DEMO_SUITE)], f"no task files in ./{USER_TASKS}: the built-in '{DEMO_SUITE}' suite"
