"""Benchmark: embbench cold / warm vs the encoding floor and vs mteb, on the built-in suite (prints figures).

    HF_HUB_OFFLINE=1 python scripts/bench_speed.py [--repeat 3] [--skip-mteb] [--data ../shared/data]

F (encoding floor) = sentence-transformers encoding, once, the deduplicated (prompt, text) pairs that embbench
encodes for the suite; cold = embbench with an empty cache; warm = a --force re-run reading the cache;
mteb = mteb's own task classes on the same data and model (tests/parity/mteb_reference.py; reranking rows go
through mteb's own conversion of the {query, positive, negative} format, as mteb reads such a dataset).
All in one process on one machine, so the figures are ratios on the same hardware.
--data DIR runs the built-in task files against whole datasets in DIR (the shared/data layout) instead.
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
    from contextlib import contextmanager

    from embbench.encode.backends import load_encoder
    from embbench.encode.cache import DiskCache
    from embbench.run import runner
    from embbench.run.executor import LocalExecutor

    made = {}

    class Recording(LocalExecutor):
        """Local, keeping the encoder (wrapped in a Recorder when asked) for the caller."""

        @contextmanager
        def encoder(self, s, sink):
            enc = load_encoder(s)
            if recorder:
                enc = Recorder(enc)
            made["enc"] = enc
            yield enc

    t0 = time.perf_counter()
    runner.run([spec], tasks, out, force=True, cache=DiskCache(cache_dir), log=lambda m: None, executor=Recording())
    wall = time.perf_counter() - t0
    import json

    records = [json.loads(p.read_text()) for p in (out / "results" / spec.name).glob("*.json")]
    encode = sum(r["timing"]["encode_seconds"] for r in records)
    cache = sum(r["timing"]["cache_seconds"] for r in records)
    evaluate = sum(r["timing"]["evaluate_seconds"] for r in records)
    return wall, encode, cache, evaluate, made["enc"], records


def suite_on(data_root: Path, out: Path) -> Path:
    """Copies of the built-in task files whose data points at the same-named dataset folders under data_root."""
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    for f in sorted((REPO / "embbench" / "resources" / "tasks").glob("*.yaml")):
        spec = yaml.safe_load(f.read_text(encoding="utf-8"))
        if not isinstance(spec, dict) or "category" not in spec:
            continue
        folder = data_root / Path(spec["data"]).relative_to("data")
        if not folder.is_dir():
            sys.exit(f"{folder} not found (--data must have the shared/data layout)")
        spec["data"] = str(folder.resolve())
        (out / f.name).write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return out


def mteb_run(tasks, reranking: str) -> tuple[float, dict[str, tuple[float, int]]]:
    """mteb on every task: total wall time and, per task, (seconds, texts it encoded)."""
    from tests.conftest import minilm_path
    from tests.parity.mteb_reference import load_model, mteb_scores

    st = load_model(minilm_path()).model
    counted = [0]
    real_encode = type(st).encode

    def counting_encode(self, *a, **kw):
        texts = a[0] if a else next(kw[k] for k in ("inputs", "sentences") if k in kw)
        counted[0] += 1 if isinstance(texts, str) else len(texts)
        return real_encode(self, *a, **kw)

    per_task = {}
    type(st).encode = counting_encode
    try:
        t_all = time.perf_counter()
        for t in tasks:
            params = {"min_score": t.score_range[0], "max_score": t.score_range[1]} if t.category == "sts" else {}
            category = reranking if t.category == "reranking" else t.category
            counted[0] = 0
            t0 = time.perf_counter()
            mteb_scores(category, t.source.folder, minilm_path(), params)  # local tasks only
            per_task[t.name] = (time.perf_counter() - t0, counted[0])
        return time.perf_counter() - t_all, per_task
    finally:
        type(st).encode = real_encode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-mteb", action="store_true")
    ap.add_argument("--tasks", type=Path, default=REPO / "embbench" / "resources" / "tasks")
    ap.add_argument("--data", type=Path, help="whole datasets in the shared/data layout instead of tasks/data")
    args = ap.parse_args()

    from embbench.spec import ModelSpec, load_tasks
    from tests.conftest import minilm_path

    with tempfile.TemporaryDirectory(prefix="bench-speed-") as work:
        task_dir = suite_on(args.data, Path(work) / "tasks") if args.data else args.tasks
        tasks = load_tasks([task_dir])  # task specs hold the data paths: the YAML copies are not needed after this
    spec = ModelSpec(name="minilm", model=minilm_path(), batch_size=32)
    cold, warm, floor, mteb_wall, mteb_dedup = [], [], [], [], []
    parts, per_task_ours, per_task_mteb = [], [], []
    n_pairs = 0
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            c = run_embbench(tasks, spec, tmp / "cache", tmp / "out", recorder=True)
            cold.append(c[0])
            parts.append(c[1:4])
            per_task_ours.append(
                {
                    r["task"]: (
                        r["timing"]["encode_seconds"] + r["timing"]["cache_seconds"] + r["timing"]["evaluate_seconds"],
                        r["embedding"]["encoded"],
                    )
                    for r in c[5]
                }
            )
            pairs = list(dict.fromkeys(c[4].pairs))
            n_pairs = len(pairs)
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
            f"({n_pairs} unique (prompt, text) pairs)",
            flush=True,
        )
        if not args.skip_mteb and i < max(1, args.repeat - 1):
            wall, per = mteb_run(tasks, "reranking_rows")
            mteb_wall.append(wall)
            per_task_mteb.append(per)
            rr = [t for t in tasks if t.category == "reranking"]
            dedup = mteb_run(rr, "reranking")[0] if rr else 0.0
            mteb_dedup.append(wall - sum(per[t.name][0] for t in rr) + dedup)
            print(f"mteb run {i + 1}: {wall:.1f}s (reranking rows pre-deduplicated by hand: {mteb_dedup[-1]:.1f}s)")

    med = statistics.median
    enc, cache_s, ev = (med([p[k] for p in parts]) for k in range(3))
    F, C, W = med(floor), med(cold), med([w[0] for w in warm])
    where = f"whole datasets under {args.data}" if args.data else "built-in suite"
    print()
    print(f"{where}, all-MiniLM-L6-v2, CPU, batch 32, medians of {args.repeat} runs ({n_pairs} distinct texts)")
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
        print(
            f"  mteb with the reranking rows deduplicated by hand first   : {med(mteb_dedup):7.1f} s  "
            f"(embbench cold / that: {C / med(mteb_dedup):.2f})"
        )
        print()
        print(f"  {'task':<28} {'embbench s':>10} {'texts':>7} {'mteb s':>8} {'texts':>7}")
        for t in tasks:
            ours_s = med([p[t.name][0] for p in per_task_ours])
            ours_n = per_task_ours[0][t.name][1]
            m_s = med([p[t.name][0] for p in per_task_mteb])
            m_n = per_task_mteb[0][t.name][1]
            print(f"  {t.name:<28} {ours_s:>10.1f} {ours_n:>7} {m_s:>8.1f} {m_n:>7}")
        print("  (embbench per task: encoding + cache + evaluation; texts = newly encoded, so a text shared with an")
        print("   earlier task counts once; mteb texts = texts passed to the model, mteb keeps no cache between tasks)")


if __name__ == "__main__":
    main()
