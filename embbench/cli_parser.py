"""The `embbench` command line's grammar: every subcommand and flag (embbench/cli.py runs them)."""

from __future__ import annotations

import argparse
from pathlib import Path

from embbench._io import dist_version
from embbench.questions import cli as questions  # embbench questions: generate a questions file (#18)

EPILOG = """examples:
  embbench init                                     # models.yaml and example tasks in tasks/
  embbench run --models models.yaml                 # every model x every task in tasks/ (else the demo suite)
  embbench run --models models.yaml --tasks tasks/terra.yaml --force
  embbench run -m intfloat/multilingual-e5-small -t TERRa --limit 50   # no YAML; a smoke run
  embbench run --models models.yaml --suite "MTEB(rus, v1.1)"          # the ruMTEB suite (= --suite rumteb)
  embbench export --mteb mteb-results               # hub-task results in mteb's layout
  embbench report                                   # re-render reports/leaderboard.* from reports/results
  embbench ls [tasks|suites|presets|models]         # list tasks (default), suites, presets, a models file
  embbench diff old_reports reports                 # score deltas and what changed between two runs
  embbench speed --models models.yaml               # only the speed probe -> reports/speed/<model>.json
  embbench questions --documents docs/ --out questions.csv --llm http://127.0.0.1:8000/v1 --llm-model NAME
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="embbench",
        description="Benchmark text-embedding encoders on Russian tasks.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"embbench {dist_version('embbench') or 'unknown'}")
    sub = p.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="write a commented models.yaml and example tasks (tasks/) into a folder")
    init.add_argument("folder", type=Path, nargs="?", default=Path("."), metavar="DIR", help="default: here")
    exp = sub.add_parser("export", help="write results in another tool's layout (mteb)")
    exp.add_argument("--mteb", type=Path, required=True, metavar="DIR", help="mteb's <org>__<model>/<revision>/")
    exp.add_argument("--output", type=Path, default=Path("reports"), help="the run's output (default: reports)")
    _add_run(sub.add_parser("run", help="evaluate models on tasks and write results and leaderboards"))
    _add_speed(sub.add_parser("speed", help="only the speed probe: throughput, latency, memory -> <output>/speed/"))
    _add_report(sub.add_parser("report", help="re-render the leaderboards from the result files"))
    _add_diff(sub.add_parser("diff", help="score deltas and configuration changes between two output folders"))
    cache = sub.add_parser("cache", help="inspect or clear the embedding cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--model", help="with clear: only the configurations used by this model name")
    cache.add_argument("--cache-dir", type=Path, default=None)
    ls = sub.add_parser("ls", help="list tasks, suites, presets or a models file's models")
    ls.add_argument("what", nargs="?", choices=["tasks", "suites", "presets", "models"], default="tasks")
    ls.add_argument("-t", "--tasks", nargs="+", action="extend", default=None, help="task files, folders or names")
    ls.add_argument("--suite", action="append", default=[], metavar="NAME", help="a suite (or benchmark) name")
    ls.add_argument("--models", type=Path, default=Path("models.yaml"), help="with ls models (default: models.yaml)")
    questions.add_parser(sub)
    return p


def _add_run(run: argparse.ArgumentParser) -> None:
    run.add_argument("--models", type=Path, default=Path("models.yaml"), help="models file (default: models.yaml)")
    run.add_argument(
        "-m",
        "--model",
        action="append",
        default=[],
        metavar="ID_OR_PATH",
        help="a hub id, a local model folder or a preset name instead of --models (repeatable; presets apply)",
    )
    run.add_argument(
        "-t",
        "--tasks",
        nargs="+",
        action="extend",
        default=None,
        metavar="TASK",
        help="task files, folders or task names (terra, TERRa; see `embbench ls`); default: tasks/, else the demo",
    )
    run.add_argument(
        "--suite",
        action="append",
        default=[],
        metavar="NAME",
        help='a suite by name or benchmark: demo, rumteb ("MTEB(rus, v1.1)"), rumteb-v1, rumteb-lite, documents, or '
        "tasks/NAME of your own (repeatable, adds to --tasks; `embbench ls suites`)",
    )
    run.add_argument("--output", type=Path, default=Path("reports"), help="results and leaderboards (default: reports)")
    run.add_argument(
        "--force", action="store_true", help="recompute results that already exist and re-measure kept speed probes"
    )
    run.add_argument(
        "--cache-dir", type=Path, default=None, help="embedding cache (default: $EMBBENCH_CACHE or ~/.cache/embbench)"
    )
    run.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    run.add_argument("--no-speed", action="store_true", help="skip the per-model speed probe (<output>/speed/)")
    run.add_argument("--batch-size", type=int, default=None, metavar="N", help="every model's batch size")
    run.add_argument("--device", default=None, help="every model's device (cpu, cuda, cuda:1, mps)")
    run.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="a smoke run: the first N items of each task (recorded as partial, never in a full leaderboard)",
    )
    noise = run.add_mutually_exclusive_group()
    noise.add_argument("-v", "--verbose", action="store_true", help="also the libraries' log lines and warnings")
    noise.add_argument("-q", "--quiet", action="store_true", help="only failures and the final summary")
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
    run.add_argument(
        "--no-compression",
        action="store_true",
        help="skip the compression sweep (truncated, float16, int8, binary vectors on retrieval/reranking tasks)",
    )
    _add_decision(run)


def _add_speed(speed: argparse.ArgumentParser) -> None:
    speed.add_argument("--models", type=Path, default=Path("models.yaml"), help="models file (default: models.yaml)")
    speed.add_argument("--output", type=Path, default=Path("reports"), help="output folder (default: reports)")
    speed.add_argument(
        "--force", action="store_true", help="re-measure models that have a speed file or a probe kept in the cache"
    )
    speed.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="kept probes in <dir>/speed (default: $EMBBENCH_CACHE or ~/.cache/embbench)",
    )
    speed.add_argument("--no-cache", action="store_true", help="neither reuse nor keep a probe in the cache")
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
