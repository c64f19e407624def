"""How the CLI shows a run's progress events: live bars on a terminal, a plain line every few seconds in a log.

On a terminal each encode of new texts gets a tqdm bar (texts, rate, ETA) per model and task, and every other line
is written above the bars. Elsewhere (CI, a log file) an encode says how far it is at most every
$EMBBENCH_PROGRESS_SECONDS (default 30) seconds, without bar characters. Warnings and library log records are
shown once each, as lines of the run, instead of breaking into its output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from embbench.encode.embedder import Encoded
from embbench.run.summary import Progress, render

PERIOD_ENV = "EMBBENCH_PROGRESS_SECONDS"
DEFAULT_PERIOD = 30.0


def period_default() -> float:
    """$EMBBENCH_PROGRESS_SECONDS (seconds between two progress lines in a log), else 30."""
    try:
        value = float(os.environ.get(PERIOD_ENV, ""))
    except ValueError:
        return DEFAULT_PERIOD
    return value if value >= 0 else DEFAULT_PERIOD


class View:
    """The sink the CLI hands to the run: renders Progress events (and the CLI's own lines, through say)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        by_model: bool = False,
        period: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stream = stream or sys.stderr
        self.tty = _isatty(self.stream) if tty is None else tty
        self.by_model = by_model
        self.period = period_default() if period is None else period
        self.clock = clock
        self.bars: dict[tuple[str, str], Any] = {}  # (model, task) -> tqdm bar (terminal)
        self.last: dict[tuple[str, str], float] = {}  # (model, task) -> when its last line was printed (log)
        self.shown: set[str] = set()  # warnings and library records already shown

    def __call__(self, event: Progress) -> None:
        e = getattr(event, "encoded", None)
        if e is None:
            self.say(render(event, self.by_model))
        elif self.tty:
            self._bar(e)
        else:
            self._periodic(event, e)

    def say(self, line: str) -> None:
        """One line, written above the live bars."""
        if self.bars:
            from tqdm import tqdm

            tqdm.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def _bar(self, e: Encoded) -> None:
        key = (e.model, e.task)
        bar = self.bars.get(key)
        if bar is None:
            if e.done >= e.total:
                return
            from tqdm import tqdm

            sized = _sized(self.stream)  # a terminal that reports 0 columns or rows (some ptys) hides tqdm's bars
            bar = self.bars[key] = tqdm(
                total=e.total,
                desc=f"{e.model} / {e.task}",
                unit="texts",
                file=self.stream,
                leave=False,
                ncols=None if sized else 100,
                nrows=None if sized else 20,
                dynamic_ncols=sized,
            )
        bar.update(e.done - bar.n)
        if e.done >= e.total:
            bar.close()
            del self.bars[key]

    def _periodic(self, event: Progress, e: Encoded) -> None:
        key, now = (e.model, e.task), self.clock()
        if e.done == 0 or key not in self.last:
            self.last[key] = now  # an encode starts: its first line comes one period later
        if e.done >= e.total:
            self.last.pop(key, None)  # the task's result line follows
            return
        if e.done and now - self.last[key] >= self.period:
            self.last[key] = now
            depth = "" if self.by_model else "  " * event.depth
            prefix = f"[{event.model}] " if self.by_model and event.model else ""
            self.say(depth + prefix + e.line())

    def once(self, text: str) -> None:
        """A warning or a library record, the first time its text is seen."""
        text = text.strip()
        if text and text not in self.shown:
            self.shown.add(text)
            self.say(f"warning: {text}")

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()

    @contextlib.contextmanager
    def capture(self) -> Iterator[View]:
        """While the run lasts: warnings and library WARNING records as `warning:` lines, each shown once."""
        root = logging.getLogger()
        shown, root_handlers = warnings.showwarning, list(root.handlers)
        warnings.showwarning = lambda message, category, *_a, **_k: self.once(f"{category.__name__}: {message}")
        if not root.handlers:  # where Python would print a record raw (logging.lastResort); a configured app keeps its
            root.addHandler(_OnceHandler(self))
        try:
            yield self
        finally:
            warnings.showwarning = shown
            root.handlers = root_handlers
            self.close()


class _OnceHandler(logging.Handler):
    """Library log records (WARNING and above) through View.once."""

    def __init__(self, view: View):
        super().__init__(logging.WARNING)
        self.view = view

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.view.once(record.getMessage())
        except Exception:  # a record that cannot be formatted must not stop a run
            self.handleError(record)


def _sized(stream: TextIO) -> bool:
    """Whether the terminal reports its size (columns and rows)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return size.columns > 0 and size.lines > 0


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
