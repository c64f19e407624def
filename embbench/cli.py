"""The `embbench` command: run, report, ls."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import UserError

EPILOG = """examples:
  embbench run --models models.yaml                 # every model x every task in tasks/
  embbench run --models models.yaml --tasks tasks/terra.yaml --force
  embbench report                                   # re-render reports/leaderboard.* from reports/results
  embbench ls                                       # list tasks
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="embbench",
        description="Benchmark text-embedding encoders on Russian tasks.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="evaluate models on tasks and write results and leaderboards")
    run.add_argument("--models", type=Path, default=Path("models.yaml"), help="models file (default: models.yaml)")
    run.add_argument("--tasks", type=Path, nargs="+", default=[Path("tasks")], help="task files or folders")
    run.add_argument("--output", type=Path, default=Path("reports"), help="results and leaderboards (default: reports)")
    run.add_argument("--force", action="store_true", help="recompute results that already exist")
    run.add_argument(
        "--cache-dir", type=Path, default=None, help="embedding cache (default: $EMBBENCH_CACHE or ~/.cache/embbench)"
    )
    run.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    rep = sub.add_parser("report", help="re-render the leaderboards from the result files")
    rep.add_argument("--output", type=Path, default=Path("reports"))
    cache = sub.add_parser("cache", help="inspect or clear the embedding cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--model", help="with clear: only the configurations used by this model name")
    cache.add_argument("--cache-dir", type=Path, default=None)
    ls = sub.add_parser("ls", help="list tasks")
    ls.add_argument("--tasks", type=Path, nargs="+", default=[Path("tasks")])
    return p


def cmd_run(args: argparse.Namespace) -> int:
    from .config import load_models, load_tasks
    from .report import write_reports
    from .runner import run, stderr_log

    models = load_models(args.models)
    tasks = load_tasks(args.tasks)
    stderr_log(f"embbench: {len(models)} model(s) x {len(tasks)} task(s) -> {args.output}")
    from .cache import DiskCache

    cache = None if args.no_cache else DiskCache(args.cache_dir)
    summary = run(models, tasks, args.output, force=args.force, cache=cache)
    if (args.output / "results").is_dir():
        paths = write_reports(args.output)
        stderr_log("leaderboards: " + ", ".join(map(str, paths)))
    for model, reason, optional in summary.unavailable:
        stderr_log(f"{'skipped' if optional else 'FAILED'}: model '{model}': {reason}")
    for model, task, reason, _ in summary.failed:
        stderr_log(f"FAILED: {model} / {task}: {reason}")
    stderr_log(
        f"done: {len(summary.written)} written, {len(summary.skipped)} already present, "
        f"{len(summary.failed)} failed, {len(summary.unavailable)} model(s) unavailable"
    )
    return summary.exit_code


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_reports

    if not (args.output / "results").is_dir():
        raise UserError(args.output / "results", "no results folder", fix="run `embbench run` first or pass --output")
    for p in write_reports(args.output):
        print(p)
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from .cache import DiskCache

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


def cmd_ls(args: argparse.Namespace) -> int:
    from . import categories
    from .config import load_tasks

    print(f"{'task':32} {'category':26} {'main metric':14} {'split':8} source")
    for t in load_tasks(args.tasks):
        metric = t.main_metric or categories.get(t.category).MAIN_METRIC
        print(f"{t.name:32} {t.category:26} {metric:14} {t.eval_split:8} {t.source}")
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    handlers = {"run": cmd_run, "report": cmd_report, "ls": cmd_ls, "cache": cmd_cache}
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
