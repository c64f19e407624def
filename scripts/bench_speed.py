"""Benchmark: embbench cold / warm vs the encoding floor and vs mteb, on the built-in suite (prints figures).

    HF_HUB_OFFLINE=1 python scripts/bench_speed.py [--repeat 3] [--skip-mteb]

F (encoding floor) = sentence-transformers encoding, once, the deduplicated (prompt, text) pairs that embbench
encodes for the suite; cold = embbench with an empty cache; warm = a --force re-run reading the cache;
mteb = mteb's own task classes on the same data and model (tests/parity/mteb_reference.py).
All in one process on one machine, so the figures are ratios on the same hardware.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


class Recorder:
    """Wraps an encoder and records what it is asked to encode."""

    def __init__(self, inner):
        self.inner = inner
        self.similarity_fn = inner.similarity_fn
        self.pairs: list[tuple[str, str]] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, prompt):
        self.pairs.extend((prompt, t) for t in texts)
        return self.inner.encode(texts, prompt)


def run_embbench(tasks, spec, cache_dir: Path, out: Path, recorder: bool = False):
    from embbench import runner
    from embbench.backends import load_encoder
    from embbench.cache import DiskCache

    made = {}
    real_load = runner.load_encoder

    def load(s):
        enc = load_encoder(s)
        if recorder:
            enc = Recorder(enc)
        made["enc"] = enc
        return enc

    runner.load_encoder = load
    try:
        t0 = time.perf_counter()
        runner.run([spec], tasks, out, force=True, cache=DiskCache(cache_dir), log=lambda m: None)
        wall = time.perf_counter() - t0
    finally:
        runner.load_encoder = real_load
    import json

    records = [json.loads(p.read_text()) for p in (out / "results" / spec.name).glob("*.json")]
    encode = sum(r["timing"]["encode_seconds"] for r in records)
    cache = sum(r["timing"]["cache_seconds"] for r in records)
    evaluate = sum(r["timing"]["evaluate_seconds"] for r in records)
    return wall, encode, cache, evaluate, made["enc"], records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-mteb", action="store_true")
    ap.add_argument("--tasks", type=Path, default=REPO / "tasks")
    args = ap.parse_args()

    from embbench.config import ModelSpec, load_tasks
    from tests.conftest import minilm_path

    tasks = load_tasks([args.tasks])
    spec = ModelSpec(name="minilm", model=minilm_path(), batch_size=32)
    cold, warm, floor, mteb_wall = [], [], [], []
    parts = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            c = run_embbench(tasks, spec, tmp / "cache", tmp / "out", recorder=True)
            cold.append(c[0])
            parts.append(c[1:4])
            pairs = list(dict.fromkeys(c[4].pairs))
            w = run_embbench(tasks, spec, tmp / "cache", tmp / "out")
            warm.append((w[0], w[2]))
            model = c[4].inner.model
            by_prompt: dict[str, list[str]] = {}
            for p, t in pairs:
                by_prompt.setdefault(p, []).append(t)
            t0 = time.perf_counter()
            for p, texts in by_prompt.items():
                model.encode(texts, prompt=p, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
            floor.append(time.perf_counter() - t0)
            scores = {r["task"]: r["main_score"] for r in c[5]}
            assert {r["task"]: r["main_score"] for r in w[5]} == scores, "warm scores differ from cold"
        print(
            f"run {i + 1}: cold {cold[-1]:.1f}s, warm {warm[-1][0]:.1f}s, floor {floor[-1]:.1f}s "
            f"({len(pairs)} unique (prompt, text) pairs)",
            flush=True,
        )
    if not args.skip_mteb:
        from tests.parity.mteb_reference import mteb_scores

        for i in range(max(1, args.repeat - 1)):
            t0 = time.perf_counter()
            for t in tasks:
                params = {"min_score": t.score_range[0], "max_score": t.score_range[1]} if t.category == "sts" else {}
                mteb_scores(t.category, t.data, minilm_path(), params)
            mteb_wall.append(time.perf_counter() - t0)
            print(f"mteb run {i + 1}: {mteb_wall[-1]:.1f}s", flush=True)

    med = statistics.median
    enc, cache_s, ev = (med([p[k] for p in parts]) for k in range(3))
    F, C, W = med(floor), med(cold), med([w[0] for w in warm])
    print()
    print(f"built-in suite, all-MiniLM-L6-v2, CPU, batch 32, medians of {args.repeat} runs")
    print(f"  encoding floor F (sentence-transformers, dedup pairs once) : {F:7.1f} s")
    print(f"  embbench cold (empty cache)                               : {C:7.1f} s")
    print(f"     of which encoding {enc:.1f} s, cache writes {cache_s:.1f} s, evaluation compute {ev:.1f} s")
    print(f"     cold / (F + evaluation)                                : {C / (F + ev):7.2f}")
    print(f"  embbench warm re-run (--force, cache hits)                : {W:7.1f} s  ({W / C:.2f} x cold)")
    print(f"     of which reading the cache                             : {med([w[1] for w in warm]):7.2f} s")
    if mteb_wall:
        M = med(mteb_wall)
        print(f"  mteb, same tasks, model and batch size                    : {M:7.1f} s")
        print(f"     embbench cold / mteb                                   : {C / M:7.2f}")


if __name__ == "__main__":
    main()
