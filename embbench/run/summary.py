"""What a run did (RunSummary of written, skipped and Failure records) and its progress events for the CLI."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

ALL_TASKS = "*"  # the task of a failure that stopped a model before or during its tasks
SPEED = "speed"  # the task of a failed speed probe (or of a model that `embbench speed` could not load)


@dataclass(frozen=True)
class Failure:
    """One thing that failed: a (model, task) pair, a whole model (task ALL_TASKS) or its speed probe."""

    model: str
    task: str
    reason: str
    user_error: bool  # the user can fix it (exit code 2), as opposed to a model or machine failure (exit code 1)


@dataclass(frozen=True)
class Unavailable:
    """A model that could not be loaded here (not downloaded, an extra not installed)."""

    model: str
    reason: str
    optional: bool  # optional: true in models.yaml: reported in its progress line, not a failure


@dataclass
class RunSummary:
    """What happened: results written, skipped, and failures with their reasons."""

    written: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unavailable: list[Unavailable] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    speed: list[str] = field(default_factory=list)  # models whose speed file was written (task "speed" if failed)
    unavailable_tasks: list[tuple[str, str]] = field(default_factory=list)  # (task, reason): hub data not loadable

    @property
    def exit_code(self) -> int:
        if any(f.user_error for f in self.failed):
            return 2
        if self.failed or any(not u.optional for u in self.unavailable) or self.unavailable_tasks:
            return 1
        return 0

    @property
    def stopped(self) -> bool:
        """Whether a model of this summary never got to (or was stopped in) its tasks."""
        return bool(self.unavailable) or any(f.task == ALL_TASKS for f in self.failed)

    def merge(self, others: Iterable[RunSummary]) -> None:
        """Add the per-model summaries (in model order) to this one."""
        for o in others:
            self.written += o.written
            self.skipped += o.skipped
            self.unavailable += o.unavailable
            self.failed += o.failed
            self.speed += o.speed
            self.unavailable_tasks += o.unavailable_tasks


@dataclass(frozen=True)
class Progress:
    """One progress line. The CLI renders it: indented by depth, or prefixed with the model when several models
    run at once (--executor ray), so interleaved lines stay readable."""

    text: str
    depth: int = 0  # 0: the run and each model's header, 1: a model's steps, 2: inside a task or a worker
    model: str | None = None  # the model the line is about


Sink = Callable[[Progress], None]


def render(event: Progress, by_model: bool = False) -> str:
    """The line as printed."""
    if by_model and event.model is not None:
        return f"[{event.model}] {event.text}"
    return "  " * event.depth + event.text


def stderr_sink(event: Progress) -> None:
    """The default sink: each line to stderr, indented."""
    print(render(event), file=sys.stderr, flush=True)


def model_sink(sink: Sink, model: str, depth: int = 1) -> Callable[[str], None]:
    """A text callback for a lower layer (the embedder, a Ray pool) whose lines belong to one model."""
    return lambda text: sink(Progress(text, depth, model))
