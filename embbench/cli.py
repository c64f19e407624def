"""The `embbench` command: run, report, diff, ls, cache, speed, init, export (the grammar: cli_parser.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from embbench.cli_parser import build_parser
from embbench.errors import UserError
from embbench.questions import cli as questions  # embbench questions: generate a questions file (#18)
from embbench.run.executor import Executor, LocalExecutor
from embbench.run.summary import ALL_TASKS, RunSummary, stderr_sink


def check_writable(output: Path) -> None:
    """Fail before any model is loaded when the output folder cannot take files (read-only, not a folder, full)."""
    import tempfile

    folder = output / "results" if (output / "results").is_dir() else output
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".embbench-probe-", suffix=".tmp")
        try:
            os.write(fd, b"embbench write probe\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise UserError(
            output,
            f"cannot write results here ({exc.strerror or exc})",
            fix="pass a writable folder with --output, or free disk space",
        ) from None


def say(line: str) -> None:
    """A line of the CLI's own (headers, the final summary) to stderr."""
    print(line, file=sys.stderr, flush=True)


def set_verbosity(verbose: bool) -> None:
    """-v: the libraries' INFO log lines (mteb, sentence-transformers, datasets) and every warning."""
    if verbose:
        import logging
        import warnings

        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
        warnings.simplefilter("default")


def run_models(args: argparse.Namespace) -> list[Any]:
    """-m refs, else the --models file; --batch-size and --device override every entry."""
    import dataclasses

    from embbench.spec import load_models, models_from_refs

    models = models_from_refs(args.model) if args.model else load_models(args.models)
    for flag in ("batch_size", "limit"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UserError(f"--{flag.replace('_', '-')}", "must be a positive integer")
    overrides = {k: getattr(args, k) for k in ("batch_size", "device") if getattr(args, k) is not None}
    return [dataclasses.replace(m, **overrides) for m in models] if overrides else models


def limited(tasks: list[Any], limit: int | None) -> list[Any]:
    """--limit N: every task cut to its first N items (a smoke run; the results say so)."""
    import dataclasses

    if limit is None:
        return tasks
    say(f"--limit {limit}: a smoke run on the first {limit} items of each task (partial results)")
    return [dataclasses.replace(t, limit=limit) for t in tasks]


def make_executor(args: argparse.Namespace) -> Executor:
    """LocalExecutor, or RayExecutor with --executor ray (its flags are refused without it)."""
    if args.executor != "ray" and (args.address is not None or args.workers is not None):
        raise UserError("--address/--workers", "only used with --executor ray", fix="add --executor ray")
    if args.workers is not None and args.workers < 1:
        raise UserError("--workers", "must be a positive integer")
    if args.executor == "ray":
        from embbench.run.ray import RayExecutor  # imports Ray: only under --executor ray

        return RayExecutor(args.address, args.workers)
    return LocalExecutor()


def report_failures(summary: RunSummary) -> None:
    for u in summary.unavailable:
        if not u.optional:  # optional ones were reported in their one progress line
            say(f"FAILED: model '{u.model}': {u.reason}")
    for f in summary.failed:
        say(
            f"FAILED: model '{f.model}': {f.reason}"
            if f.task == ALL_TASKS
            else f"FAILED: {f.model} / {f.task}: {f.reason}"
        )


def decision_options(args: argparse.Namespace, models_file: Path | None = None) -> dict[str, Any]:
    """write_reports' uses, budgets and GPU price: the flags, over models.yaml's `report:` block for a run."""
    from embbench.report.uses import parse_budget, parse_report_block, parse_use
    from embbench.spec._yaml import read_yaml

    block = parse_report_block(None, "")
    if models_file is not None:
        raw = read_yaml(models_file)
        block = parse_report_block(raw.get("report") if isinstance(raw, dict) else None, str(models_file))
    if args.gpu_hour_usd is not None and not args.gpu_hour_usd >= 0:
        raise UserError("--gpu-hour-usd", "must be a non-negative number", fix="e.g. --gpu-hour-usd 2.5")
    return {
        "uses": [parse_use(u) for u in args.use] or (list(block.uses) if block.uses else None),
        "budgets": [*block.budgets, *(parse_budget(b) for b in args.budget)],
        "gpu_hour_usd": args.gpu_hour_usd if args.gpu_hour_usd is not None else block.gpu_hour_usd,
    }


def write_not_evaluated(output: Path, summary: RunSummary) -> None:
    """<output>/not_evaluated.json (report/rag.py reads it): the models this run could not evaluate, and why."""
    from embbench.results import write_json_atomic

    rows = [{"model": u.model, "reason": u.reason} for u in summary.unavailable]
    rows += [{"model": f.model, "reason": f.reason} for f in summary.failed if f.task == ALL_TASKS]
    write_json_atomic(output / "not_evaluated.json", rows)


def cmd_run(args: argparse.Namespace) -> int:
    from embbench.data.documents.build import build_documents, notes  # your own documents: BEIR folders
    from embbench.encode.cache import DiskCache
    from embbench.progress import View
    from embbench.report.write import write_reports
    from embbench.run.runner import run
    from embbench.spec import load_pipelines, load_tasks

    models = run_models(args)
    pipelines = [] if args.model else load_pipelines(args.models)  # models.yaml `pipelines:`, run after the models
    tasks = limited(load_tasks(task_paths(args)), args.limit)
    decision = decision_options(
        args, args.models if not args.model else None
    )  # a bad report: block stops the run before any work
    check_writable(args.output)
    tasks = build_documents(tasks, args.output, say)
    say(f"embbench: {len(models)} model(s) x {len(tasks)} task(s) -> {args.output}")
    cache = None if args.no_cache else DiskCache(args.cache_dir)
    executor = make_executor(args)
    set_verbosity(args.verbose)
    # live bars on a terminal, periodic lines in a log; with several models at once, lines prefixed by model
    view = View(sys.stderr, by_model=args.executor == "ray" and len(models) > 1)
    with view.capture():  # library warnings and log records: shown once each, above the bars
        summary = run(
            models,
            tasks,
            args.output,
            force=args.force,
            cache=cache,
            speed=not args.no_speed,
            log=(lambda event: None) if args.quiet else view,  # -q: failures and the summary only
            executor=executor,
            compression=not args.no_compression,
            pipelines=pipelines,
        )
    write_not_evaluated(args.output, summary)
    if (args.output / "results").is_dir():
        paths = write_reports(args.output, generated_by="embbench run", **decision)
        say("leaderboards: " + ", ".join(map(str, paths)))
    report_failures(summary)
    for line in notes(tasks):  # your own documents: unmatched questions, files skipped
        say(line)
    if summary.unavailable_tasks:  # hub data that could not be loaded (the reasons were given above)
        names = ", ".join(t for t, _ in summary.unavailable_tasks)
        say(f"not evaluated (data unavailable): {names}; the other tasks ran")
    say(
        f"done: {len(summary.written)} written, {len(summary.skipped)} already present, "
        f"{len(summary.failed)} failed, {len(summary.unavailable)} model(s) unavailable"
        + (f", {len(summary.unavailable_tasks)} task(s) unavailable" if summary.unavailable_tasks else "")
    )
    return summary.exit_code


def cmd_speed(args: argparse.Namespace) -> int:
    from embbench.encode.cache import DiskCache
    from embbench.run.probes import run_speed
    from embbench.spec import load_models
    from embbench.speed.store import ProbeStore

    for flag in ("passages", "queries"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UserError(f"--{flag}", "must be a positive integer")
    models = load_models(args.models)
    say(f"embbench speed: {len(models)} model(s) -> {args.output / 'speed'}")
    store = None if args.no_cache else ProbeStore(DiskCache(args.cache_dir).root)  # kept probes: reused unless --force
    summary = run_speed(
        models,
        args.output,
        force=args.force,
        n_passages=args.passages,
        n_queries=args.queries,
        log=stderr_sink,
        store=store,
    )
    for u in summary.unavailable:
        if not u.optional:  # optional ones were reported in their one progress line
            say(f"FAILED: model '{u.model}': {u.reason}")
    for f in summary.failed:
        say(f"FAILED: {f.model}: {f.reason}")
    say(f"done: {len(summary.speed)} speed file(s) written, {len(summary.skipped)} already present")
    return summary.exit_code


def cmd_report(args: argparse.Namespace) -> int:
    from embbench.report.write import write_reports

    if not (args.output / "results").is_dir():
        raise UserError(args.output / "results", "no results folder", fix="run `embbench run` first or pass --output")
    if args.resamples < 1:
        raise UserError("--resamples", "must be at least 1")
    paths = write_reports(
        args.output,
        n_resamples=args.resamples,
        seed=args.seed,
        charts=not args.no_charts,
        html=not args.no_html,
        **decision_options(args),
    )
    for p in paths:
        print(p)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from embbench.report.diff import diff_runs, render
    from embbench.results import write_json_atomic

    if args.resamples < 1:
        raise UserError("--resamples", "must be at least 1")
    d = diff_runs(args.run_a, args.run_b, n_resamples=args.resamples, seed=args.seed)
    print(render(d), end="")
    if args.json is not None:
        write_json_atomic(args.json, d)
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from embbench.encode.cache import DiskCache

    cache = DiskCache(args.cache_dir)
    if args.action == "clear":
        n = cache.clear(args.model)
        print(f"removed {n} model configuration(s) from {cache.root}")
        return 0
    rows = cache.info()
    print(f"cache: {cache.root}")
    print(f"{'model name(s)':32} {'entries':>9} {'segments':>9} {'MiB':>9}  model")
    for r in rows:
        print(
            f"{','.join(r['names']):32} {r['entries']:>9} {r['segments']:>9} {r['bytes'] / 2**20:>9.1f}  {r['model']}"
        )
    total = sum(r["bytes"] for r in rows) / 2**20
    print(f"{len(rows)} configuration(s), {sum(r['entries'] for r in rows)} vectors, {total:.1f} MiB")
    return 0


def task_paths(args: argparse.Namespace) -> list[Path]:
    """--tasks (files, folders or task names) plus the folders of the --suite names; when neither is given,
    ./tasks if it holds task files, else the built-in demo suite."""
    from embbench.spec import default_task_paths, find_suite, find_task

    paths = [find_task(t) for t in args.tasks or []] + [find_suite(name) for name in args.suite]
    if paths:
        return paths
    paths, line = default_task_paths()
    if line and args.command == "run":
        say(line)
    return paths


def cmd_ls(args: argparse.Namespace) -> int:
    from embbench.spec import listing, load_models, load_tasks

    if args.what == "suites":
        lines = listing.suite_lines()
    elif args.what == "presets":
        lines = listing.preset_lines()
    elif args.what == "models":
        lines = listing.model_lines(load_models(args.models), args.models)
    else:
        lines = listing.task_lines(load_tasks(task_paths(args)))
    print("\n".join(lines))
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from embbench.spec.scaffold import write_scaffold

    written, kept = write_scaffold(args.folder)
    for p in written:
        print(f"wrote {p}")
    for p in kept:
        print(f"kept {p} (already there)")
    here = "" if args.folder == Path(".") else f"cd {args.folder} && "
    print(f"next: {here}embbench run --models models.yaml   (your tasks in tasks/; --suite demo for the built-in one)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from embbench.report.mteb_export import export_mteb

    if not (args.output / "results").is_dir():
        raise UserError(args.output / "results", "no results folder", fix="run `embbench run` first or pass --output")
    written = export_mteb(args.output, args.mteb)
    n = sum(p.name != "model_meta.json" for p in written)
    print(f"{n} hub-task result(s) in mteb's layout under {args.mteb}" + ("" if n else " (no hub-task results)"))
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    handlers = {
        "run": cmd_run,
        "report": cmd_report,
        "ls": cmd_ls,
        "cache": cmd_cache,
        "speed": cmd_speed,
        "diff": cmd_diff,
        "questions": questions.run,
        "init": cmd_init,
        "export": cmd_export,
    }
    try:
        return handlers[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: results written so far are kept; re-run to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
