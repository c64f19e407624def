"""Benchmark: the built-in suite cold with MiniLM on PyTorch vs ONNX Runtime fp32 (and int8), and each one's floor.

    HF_HUB_OFFLINE=1 python scripts/bench_onnx_suite.py [--repeat 3] [--int8] [--openvino] [--no-onnx]

For each repeat, interleaved (torch, onnx[, int8]): a cold `embbench run` of the built-in suite (empty embedding
cache and empty export folder: the ONNX figure includes exporting, fusing and checking the graph), then that
backend's encoding floor (its encoder alone on the run's deduplicated (prompt, text) pairs, once). Prints medians,
the ratios to the PyTorch floor (the issue's target: ONNX cold <= 0.65 x the PyTorch floor) and every main score's
difference from the PyTorch run's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_speed import minilm_path, run_embbench  # noqa: E402

BACKENDS = {
    "torch": ("sentence-transformers", {}),
    "onnx": ("onnx", {}),
    "int8": ("onnx", {"quantize": "int8"}),
    "openvino": ("openvino", {}),
}


def floor(encoder, pairs: list[tuple[str, str]]) -> float:
    """Seconds for the backend's encoder alone on the pairs, grouped by prompt (no cache, no evaluation)."""
    inner = getattr(encoder, "inner", encoder)
    by_prompt: dict[str, list[str]] = {}
    for p, t in pairs:
        by_prompt.setdefault(p, []).append(t)
    t0 = time.perf_counter()
    for p, texts in by_prompt.items():
        inner.encode(texts, p)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--int8", action="store_true", help="also the int8-quantized ONNX model (its own scores)")
    ap.add_argument("--openvino", action="store_true", help="also OpenVINO (its own kernels and precision)")
    ap.add_argument("--no-onnx", action="store_true", help="leave out ONNX fp32 (e.g. torch vs openvino only)")
    ap.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: its default, all cores)")
    args = ap.parse_args()

    from embbench.spec import ModelSpec, load_tasks

    tasks = load_tasks([REPO / "embbench" / "resources" / "tasks"])
    labels = ["torch", *([] if args.no_onnx else ["onnx"]), *(["int8"] if args.int8 else [])]
    labels += ["openvino"] if args.openvino else []
    cold: dict[str, list[float]] = {k: [] for k in labels}
    floors: dict[str, list[float]] = {k: [] for k in labels}
    loads: dict[str, list[float]] = {k: [] for k in labels}
    scores: dict[str, dict[str, float]] = {}
    for i in range(args.repeat):
        for label in labels:
            backend, options = BACKENDS[label]
            if backend in ("onnx", "openvino") and args.threads:
                options = {**options, "threads": args.threads}
            spec = ModelSpec(name=label, model=minilm_path(), backend=backend, batch_size=32, options=options)
            with tempfile.TemporaryDirectory() as tmp:
                os.environ["EMBBENCH_CACHE"] = str(Path(tmp) / "cache")  # exports too: a cold start for ONNX
                wall, _enc, _cache, _ev, encoder, records = run_embbench(
                    tasks, spec, Path(tmp) / "cache", Path(tmp) / "out", recorder=True
                )
                cold[label].append(wall)
                loads[label].append(float(getattr(encoder.inner, "load_seconds", None) or 0.0))
                floors[label].append(floor(encoder, list(dict.fromkeys(encoder.pairs))))
                scores[label] = {r["task"]: r["main_score"] for r in records}
            print(f"run {i + 1} {label}: cold {cold[label][-1]:.1f} s, floor {floors[label][-1]:.1f} s", flush=True)

    med = statistics.median
    base = med(floors["torch"])
    print(f"\nbuilt-in suite, all-MiniLM-L6-v2, CPU ({os.cpu_count()} cores), batch 32, medians of {args.repeat}")
    print(
        f"{'backend':8s} {'cold s':>8s} {'floor s':>8s} {'load s':>7s} {'cold/torch floor':>17s} {'floor ratio':>12s}"
    )
    for label in labels:
        c, f = med(cold[label]), med(floors[label])
        print(f"{label:8s} {c:8.1f} {f:8.1f} {med(loads[label]):7.1f} {c / base:17.2f} {f / base:12.2f}")
    for label in labels[1:]:
        diffs = {t: scores[label][t] - scores["torch"][t] for t in scores["torch"]}
        worst = max(diffs, key=lambda t: abs(diffs[t]))
        print(
            f"{label}: max |main score - torch's| = {abs(diffs[worst]):.2e} ({worst}); all: "
            + ", ".join(f"{t} {d:+.1e}" for t, d in sorted(diffs.items()))
        )


if __name__ == "__main__":
    main()
