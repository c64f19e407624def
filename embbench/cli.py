"""The `embbench` command: run, report, diff, ls, cache, speed."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from embbench.errors import UserError
from embbench.questions import cli as questions  # embbench questions: generate a questions file (#18)
from embbench.run.executor import Executor, LocalExecutor
from embbench.run.summary import ALL_TASKS, RunSummary, Sink, render, stderr_sink

EPILOG = """examples:
  embbench run --models models.yaml                 # every model x every task in tasks/
  embbench run --models models.yaml --tasks tasks/terra.yaml --force
  embbench report                                   # re-render reports/leaderboard.* from reports/results
  embbench ls                                       # list tasks
  embbench diff old_reports reports                 # score deltas and what changed between two runs
  embbench speed --models models.yaml               # only the speed probe -> reports/speed/<model>.json
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="embbench",
        description="Benchmark text-embedding encoders on Russian tasks.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    _add_run(sub.add_parser("run", help="evaluate models on tasks and write results and leaderboards"))
    _add_speed(sub.add_parser("speed", help="only the speed probe: throughput, latency, memory -> <output>/speed/"))
    _add_report(sub.add_parser("report", help="re-render the leaderboards from the result files"))
    _add_diff(sub.add_parser("diff", help="score deltas and configuration changes between two output folders"))
    cache = sub.add_parser("cache", help="inspect or clear the embedding cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--model", help="with clear: only the configurations used by this model name")
    cache.add_argument("--cache-dir", type=Path, default=None)
    ls = sub.add_parser("ls", help="list tasks")
    ls.add_argument("--tasks", type=Path, nargs="+", default=None, help="task files or folders (default: tasks)")
    ls.add_argument("--suite", action="append", default=[], metavar="NAME", help="a task suite: tasks/NAME")
    questions.add_parser(sub)
    return p


def _add_run(run: argparse.ArgumentParser) -> None:
    run.add_argument("--models", type=Path, default=Path("models.yaml"), help="models file (default: models.yaml)")
    run.add_argument("--tasks", type=Path, nargs="+", default=None, help="task files or folders (default: tasks)")
    run.add_argument(
        "--suite",
        action="append",
        default=[],
        metavar="NAME",
        help="a task suite: tasks/NAME (e.g. rumteb, rumteb-lite, rumteb-v1; repeatable, adds to --tasks)",
    )
    run.add_argument("--output", type=Path, default=Path("reports"), help="results and leaderboards (default: reports)")
    run.add_argument("--force", action="store_true", help="recompute results that already exist")
    run.add_argument(
        "--cache-dir", type=Path, default=None, help="embedding cache (default: $EMBBENCH_CACHE or ~/.cache/embbench)"
    )
    run.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    run.add_argument("--no-speed", action="store_true", help="skip the per-model speed probe (<output>/speed/)")
    run.add_argument(
        "--no-compression",
        action="store_true",
        help="skip the compression sweep (truncated, float16, int8, binary vectors on retrieval/reranking tasks)",
    )
    run.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local (default) or ray: encode on a Ray cluster (pip install 'embbench[ray]')",
    )
    run.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="with --executor ray: the cluster to join (auto, HOST:6379, ray://HOST:10001); default: a local one",
    )
    run.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="with --executor ray: at most N workers per model (default: as many as the cluster fits)",
    )
    _add_decision(run)


def _add_speed(speed: argparse.ArgumentParser) -> None:
    speed.add_argument("--models", type=Path, default=Path("models.yaml"), help="models file (default: models.yaml)")
    speed.add_argument("--output", type=Path, default=Path("reports"), help="output folder (default: reports)")
    speed.add_argument("--force", action="store_true", help="re-measure models that already have a speed file")
    speed.add_argument("--passages", type=int, default=None, help="passages timed (default: 128 on CPU, 256 on GPU)")
    speed.add_argument("--queries", type=int, default=None, help="single queries timed (default: 50 CPU, 100 GPU)")


def _add_decision(p: argparse.ArgumentParser) -> None:
    """The decision page's flags (run and report); models.yaml's `report:` block gives the same for a run."""
    p.add_argument(
        "--use",
        action="append",
        default=[],
        metavar="NAME=CAT,CAT",
        help="a decision use (repeatable; default: rag=retrieval,reranking and overall=all)",
    )
    p.add_argument(
        "--budget",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a limit on the recommendation, e.g. p95_ms=50, index_gb=4, usd_per_1m_docs=2 (repeatable)",
    )
    p.add_argument(
        "--gpu-hour-usd", type=float, default=None, help="price of an hour of the probe's device: turns hours into USD"
    )


def _add_report(rep: argparse.ArgumentParser) -> None:
    rep.add_argument("--output", type=Path, default=Path("reports"))
    rep.add_argument(
        "--resamples", type=int, default=1000, help="bootstrap resamples for intervals and tests (default: 1000)"
    )
    rep.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    rep.add_argument("--no-charts", action="store_true", help="skip the PNG/SVG charts (matplotlib)")
    rep.add_argument("--no-html", action="store_true", help="skip leaderboard.html")
    _add_decision(rep)


def _add_diff(dif: argparse.ArgumentParser) -> None:
    dif.add_argument("run_a", type=Path, metavar="RUN_A", help="output folder of the first run (e.g. reports)")
    dif.add_argument("run_b", type=Path, metavar="RUN_B", help="output folder of the second run")
    dif.add_argument("--json", type=Path, default=None, help="also write the diff as JSON to this file")
    dif.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the paired tests")
    dif.add_argument("--seed", type=int, default=0)


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


def progress_printer(by_model: bool) -> Sink:
    """The run's progress events to stderr; with by_model, each line prefixed with its model (models that run
    at once interleave their lines)."""
    return lambda event: say(render(event, by_model))


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
    from embbench.report.write import write_reports
    from embbench.run.runner import run
    from embbench.spec import load_models, load_pipelines, load_tasks

    models = load_models(args.models)
    pipelines = load_pipelines(args.models)  # models.yaml `pipelines:`, run after the models
    tasks = load_tasks(task_paths(args))
    decision = decision_options(args, args.models)  # a bad report: block or flag stops the run before any work
    check_writable(args.output)
    tasks = build_documents(tasks, args.output, say)
    say(f"embbench: {len(models)} model(s) x {len(tasks)} task(s) -> {args.output}")
    cache = None if args.no_cache else DiskCache(args.cache_dir)
    executor = make_executor(args)
    sink = progress_printer(by_model=args.executor == "ray" and len(models) > 1)
    summary = run(
        models,
        tasks,
        args.output,
        force=args.force,
        cache=cache,
        speed=not args.no_speed,
        log=sink,
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
    say(
        f"done: {len(summary.written)} written, {len(summary.skipped)} already present, "
        f"{len(summary.failed)} failed, {len(summary.unavailable)} model(s) unavailable"
        + (f", {len(summary.unavailable_tasks)} task(s) unavailable" if summary.unavailable_tasks else "")
    )
    return summary.exit_code


def cmd_speed(args: argparse.Namespace) -> int:
    from embbench.run.probes import run_speed
    from embbench.spec import load_models

    for flag in ("passages", "queries"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UserError(f"--{flag}", "must be a positive integer")
    models = load_models(args.models)
    say(f"embbench speed: {len(models)} model(s) -> {args.output / 'speed'}")
    summary = run_speed(
        models, args.output, force=args.force, n_passages=args.passages, n_queries=args.queries, log=stderr_sink
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


# --- task suites: begin ---
def task_paths(args: argparse.Namespace) -> list[Path]:
    """--tasks plus the folders of the --suite names; tasks/ when neither is given."""
    from embbench.spec import find_suite

    paths = list(args.tasks or []) + [find_suite(name) for name in args.suite]
    return paths or [Path("tasks")]


# --- task suites: end ---


def cmd_ls(args: argparse.Namespace) -> int:
    from embbench import categories
    from embbench.spec import HubSource, load_tasks

    print(f"{'task':32} {'category':26} {'main metric':14} {'split':15} source")
    for t in load_tasks(task_paths(args)):
        metric = t.main_metric or categories.get(t.category).MAIN_METRIC
        source = f"hf:{t.source.short}" if isinstance(t.source, HubSource) else t.reference  # hub: dataset@revision
        print(f"{t.name:32} {t.category:26} {metric:14} {t.eval_split:15} {source}")
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
