"""Where models run: the Executor strategy (LocalExecutor here, run.ray.RayExecutor on a cluster) and the one
place a model load's failures become summary records."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from typing import Protocol, TypeVar

from embbench.encode.backends import Encoder, Ranker, load_encoder
from embbench.errors import ModelUnavailable, UserError
from embbench.run.summary import Failure, Progress, RunSummary, Sink, Unavailable
from embbench.spec import ModelSpec
from embbench.speed.probe import ProbeResult, probe_spec

T = TypeVar("T")


class Executor(Protocol):
    """How runner.run gets a model's encoder, spreads the models and probes their speed."""

    def session(self, sink: Sink) -> AbstractContextManager[None]:
        """The whole run: connect to a cluster (and leave it) around the models."""
        ...

    def encoder(self, spec: ModelSpec, sink: Sink) -> AbstractContextManager[Encoder | Ranker]:
        """The model's encoder while the block runs (a pool of workers lives exactly as long)."""
        ...

    def map_models(self, fn: Callable[[ModelSpec], T], specs: Sequence[ModelSpec]) -> list[T]:
        """fn(spec) for every model, results in model order (one after the other, or at once)."""
        ...

    def concurrency(self, n_models: int) -> int:
        """How many of n_models map_models runs at once here (their evaluations share this process's cores)."""
        ...

    def probe(
        self, spec: ModelSpec, encoder: Encoder, *, n_passages: int | None = None, n_queries: int | None = None
    ) -> ProbeResult:
        """The speed probe of an encoder from encoder(spec), on the hardware it encodes on."""
        ...


class LocalExecutor:
    """Everything in this process, one model after the other."""

    def session(self, sink: Sink) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def encoder(self, spec: ModelSpec, sink: Sink) -> Iterator[Encoder | Ranker]:
        yield load_encoder(spec)

    def map_models(self, fn: Callable[[ModelSpec], T], specs: Sequence[ModelSpec]) -> list[T]:
        return [fn(spec) for spec in specs]

    def concurrency(self, n_models: int) -> int:
        return 1

    def probe(
        self, spec: ModelSpec, encoder: Encoder, *, n_passages: int | None = None, n_queries: int | None = None
    ) -> ProbeResult:
        return probe_spec(spec, encoder, n_passages=n_passages, n_queries=n_queries)


def open_model(
    stack: ExitStack, executor: Executor, spec: ModelSpec, summary: RunSummary, sink: Sink, task: str
) -> Encoder | Ranker | None:
    """Enter executor.encoder(spec) on stack; a load that fails is one progress line and one summary record
    (`task` is the failure's task: ALL_TASKS for a run, SPEED for `embbench speed`), and None comes back."""

    def say(text: str) -> None:
        sink(Progress(text, 1, spec.name))

    try:
        return stack.enter_context(executor.encoder(spec, sink))
    except ModelUnavailable as exc:
        say(f"{spec.name}: {'skipped (optional)' if spec.optional else 'FAILED'}: {exc}")
        summary.unavailable.append(Unavailable(spec.name, str(exc), spec.optional))
    except UserError as exc:
        say(f"{spec.name}: FAILED: {exc}")
        summary.failed.append(Failure(spec.name, task, str(exc), True))
    except Exception as exc:  # a broken model folder, an incompatible architecture...
        say(f"{spec.name}: FAILED to load: {type(exc).__name__}: {exc}")
        summary.failed.append(Failure(spec.name, task, f"load failed: {exc}", False))
    return None
