"""Benchmark: exact top-k search over a large corpus in chunks (wall time, peak memory, agreement with brute force).

    python scripts/bench_search.py [--docs 1000000] [--queries 10000] [--dim 768] [--device cuda] [--precision float16]

The corpus is random float32 (docs x dim; 3 GB at the defaults). Peak RSS above the corpus and queries is what
the search itself costs; the issue's budget is corpus size + 1.5 GB. With --device cuda the search runs there
(categories/search.py: chunks sized to the GPU's free memory) and the GPU's peak allocation is printed too.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from embbench.categories.retrieval import exact_search, similarity_matrix
from embbench.categories.search import PRECISIONS, Search


def rss_mb() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident memory right now (MiB), from /proc (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--top-k", type=int, default=1000)
    ap.add_argument("--check", type=int, default=50, help="queries compared with brute force")
    ap.add_argument("--device", default="cpu", help="where to search: cpu (the default path) or cuda[:N]")
    ap.add_argument("--precision", default="float32", choices=PRECISIONS, help="the search's precision")
    args = ap.parse_args()
    import torch
    from sentence_transformers import util  # noqa: F401  (imported before the clock starts)

    rng = np.random.default_rng(0)
    base = rss_mb()
    docs = np.empty((args.docs, args.dim), dtype=np.float32)
    for s in range(0, args.docs, 100_000):
        rng.standard_normal(dtype=np.float32, out=docs[s : s + 100_000])  # in place: no temporary copy
    queries = rng.standard_normal((args.queries, args.dim), dtype=np.float32)
    data_mb = (docs.nbytes + queries.nbytes) / 2**20
    after_data = current_rss_mb()
    search = Search(args.device, args.precision)
    t0 = time.perf_counter()
    _scores, idx = exact_search(queries, docs, args.top_k, "cosine", search=search)
    wall = time.perf_counter() - t0
    peak = rss_mb()
    sims = similarity_matrix(queries[: args.check], docs, "cosine")
    ref = torch.topk(sims, args.top_k, dim=1).indices.numpy()
    same = np.mean([set(ref[i]) == set(idx[i]) for i in range(args.check)])
    print(
        f"corpus {args.docs} x {args.dim} float32 ({docs.nbytes / 2**30:.2f} GiB), {args.queries} queries, "
        f"top-{args.top_k}, {torch.get_num_threads()} threads, search on {search.device} in {search.precision}"
    )
    print(f"  search wall time      : {wall:.1f} s ({args.queries / wall:.0f} queries/s)")
    print(f"  peak RSS              : {peak:.0f} MiB (process start {base:.0f}, data {data_mb:.0f} MiB)")
    print(f"  search overhead       : {peak - after_data:.0f} MiB above the RSS before the search")
    print(
        f"  budget (corpus + 1.5 GiB): {docs.nbytes / 2**20 + 1536:.0f} MiB -> peak RSS is "
        f"{'within' if peak <= docs.nbytes / 2**20 + 1536 + base else 'OVER'} it (process start excluded)"
    )
    print(f"  same top-k as brute force on {args.check} queries: {same * 100:.0f}%")
    if args.device.startswith("cuda"):
        print(f"  GPU peak allocated    : {torch.cuda.max_memory_allocated(args.device) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
