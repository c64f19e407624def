"""The run-state file of a forced run: which (model, task) pairs this command already finished, so that running
the interrupted command again resumes it instead of recomputing everything.

`<output>/.embbench-run.json` holds the command's identity (its models, tasks and options) and the pairs it wrote.
Written atomically after each result; removed when the command ends, so the next --force recomputes again. A
pair is kept only while its result file is current (the request-key check of run.record.stale_reason).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from embbench._io import atomic_write_json

STATE_FILE = ".embbench-run.json"


def command_identity(models: Iterable[Any], tasks: Iterable[Any], **options: Any) -> str:
    """sha256 of what makes two invocations the same command: model and task names, in order, and the options."""
    blob = {"models": [m.name for m in models], "tasks": [t.name for t in tasks], "options": options}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()


class RunState:
    """The pairs a forced command finished; shared by the models of a run (which may run in threads)."""

    def __init__(self, output: Path, identity: str):
        self.path = output / STATE_FILE
        self.identity = identity
        self.lock = threading.Lock()
        self.finished: set[tuple[str, str]] = set()
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(raw, dict) and raw.get("identity") == identity:
            self.finished = {(str(m), str(t)) for m, t in raw.get("finished", [])}

    @property
    def resumed(self) -> bool:
        """Whether an interrupted run of this command left pairs behind."""
        return bool(self.finished)

    def done(self, model: str, task: str) -> bool:
        with self.lock:
            return (model, task) in self.finished

    def add(self, model: str, task: str) -> None:
        """Record a finished pair (the file is rewritten atomically: a kill leaves the old or the new one)."""
        with self.lock:
            self.finished.add((model, task))
            pairs = sorted(self.finished)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.path, {"identity": self.identity, "finished": [list(p) for p in pairs]})

    def clear(self) -> None:
        """The command ended: the next forced run of it starts afresh."""
        with self.lock:
            self.finished.clear()
            self.path.unlink(missing_ok=True)
