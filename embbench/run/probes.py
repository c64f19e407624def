"""Speed probes as part of a run: the bookkeeping around speed.probe (reuse a kept probe, write the file, record a
failure) and the `embbench speed` command."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from embbench.encode.backends import Encoder, Ranker
from embbench.errors import ModelLoadError, UserError
from embbench.results import write_json_atomic
from embbench.run.executor import Executor, LocalExecutor, open_model
from embbench.run.summary import SPEED, Failure, Progress, RunSummary, Sink, stderr_sink
from embbench.spec import ModelSpec
from embbench.speed.probe import speed_path, wants_probe
from embbench.speed.store import ProbeStore, probe_key, reuse_note, reused_record


def probe_model(
    executor: Executor,
    spec: ModelSpec,
    encoder: Encoder,
    output: Path,
    summary: RunSummary,
    sink: Sink,
    n_passages: int | None = None,
    n_queries: int | None = None,
    *,
    store: ProbeStore | None = None,
    force: bool = False,
) -> None:
    """Probe one model and write its speed file; a failure is recorded as task 'speed', never raised.

    With a store, a kept probe of the same model, settings and machine is reused (unless force) and a fresh one
    is kept there."""

    def say(text: str) -> None:
        sink(Progress(text, 2, spec.name))

    key = None
    if store is not None:
        try:
            key = probe_key(
                spec, encoder.identity(), executor=type(executor).__name__, n_passages=n_passages, n_queries=n_queries
            )
        except UserError:  # no built-in sample: the probe below says so
            key = None
        kept = None if key is None or force else store.get(key)
        if kept is not None:
            say(reuse_note(kept))
            write_json_atomic(speed_path(output, spec.name), reused_record(kept, spec.name))
            summary.speed.append(spec.name)
            return
    try:
        result = executor.probe(spec, encoder, n_passages=n_passages, n_queries=n_queries)
    except UserError as exc:  # no built-in sample next to this installation
        say(f"speed probe skipped: {exc}")
        return
    except ModelLoadError as exc:
        say(f"speed probe FAILED: {exc}")
        summary.failed.append(Failure(spec.name, SPEED, str(exc), False))
        return
    except Exception as exc:  # out of memory, a backend error...
        say(f"speed probe FAILED: {type(exc).__name__}: {exc}")
        summary.failed.append(Failure(spec.name, SPEED, f"{type(exc).__name__}: {exc}", False))
        return
    for note in result.notes:
        say(note)
    write_json_atomic(speed_path(output, spec.name), result.record)
    if store is not None and key is not None:
        try:
            store.put(key, result.record)
        except OSError as exc:  # a read-only cache: this run's speed file is written, only the reuse is lost
            say(f"speed probe not kept in {store.folder} ({exc.strerror or exc})")
    summary.speed.append(spec.name)


def run_speed(
    models: Sequence[ModelSpec],
    output: Path,
    *,
    force: bool = False,
    log: Sink | None = None,
    n_passages: int | None = None,
    n_queries: int | None = None,
    executor: Executor | None = None,
    store: ProbeStore | None = None,
) -> RunSummary:
    """`embbench speed`: the probe alone for every model (no tasks, no embedding cache); with a store, a kept probe
    is reused unless force (which re-measures and keeps the new one)."""
    sink = log or stderr_sink
    executor = executor or LocalExecutor()
    summary = RunSummary()
    for mi, spec in enumerate(models, 1):
        head = f"[{mi}/{len(models)}] {spec.name}"
        if not wants_probe(spec, output, force):
            exists = speed_path(output, spec.name).is_file()
            sink(Progress(f"{head}: " + ("speed file exists (use --force)" if exists else "no encoder"), 0, spec.name))
            if exists:
                summary.skipped.append((spec.name, SPEED))
            continue
        sink(Progress(f"{head}: loading {spec.model}", 0, spec.name))
        with ExitStack() as stack:
            encoder = open_model(stack, executor, spec, summary, sink, SPEED)
            if isinstance(encoder, Encoder) and not isinstance(encoder, Ranker):
                probe_model(
                    executor, spec, encoder, output, summary, sink, n_passages, n_queries, store=store, force=force
                )
    return summary
