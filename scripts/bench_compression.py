"""What the compression sweep adds to a cold run: the built-in suite run twice from an empty cache, with and without.

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 python scripts/bench_compression.py [--models models.yaml] [-- extra run args]

Each run gets a fresh empty embedding cache (EMBBENCH_CACHE) and a fresh output folder, so both encode everything.
Prints both wall times, their difference as a share of the run without the sweep, and the sweep's own seconds as
the results record them (timing.compression_seconds: evaluation only, since nothing is re-encoded) as a share of
the rest of the run with it; that figure does not depend on how busy the machine was between the two runs.

On a busy machine: ``--only-with`` skips the run without the sweep (the in-run figure only), and ``--cache-from DIR``
starts from a copy of a filled cache (a warm run is shorter than a cold one, so its share is an upper bound).
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


def cold_run(models: str, extra: list[str], sweep: bool, root: Path, cache_from: Path | None) -> tuple[float, Path]:
    """Wall seconds of one `embbench run` from an empty cache (or a copy of cache_from), and its output folder."""
    tag = "with" if sweep else "without"
    output, cache = root / f"out-{tag}", root / f"cache-{tag}"
    if output.exists() or cache.exists():
        sys.exit(f"{output} or {cache} exists: a cold run needs neither")
    if cache_from is not None:
        shutil.copytree(cache_from, cache)
    cmd = [sys.executable, "-m", "embbench", "run", "--models", models, "--output", str(output), *extra]
    if not sweep:
        cmd.append("--no-compression")
    env = {**os.environ, "EMBBENCH_CACHE": str(cache)}
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode not in (0, 1):  # 1: optional hub models offline
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, output


def sweep_seconds(output: Path) -> tuple[float, int, int]:
    """Sum of timing.compression_seconds over the results, the variants written, and texts the sweep encoded."""
    total, variants, encoded = 0.0, 0, 0
    for path in sorted((output / "results").glob("*/*.json")):
        r = json.loads(path.read_text(encoding="utf-8"))
        total += (r.get("timing") or {}).get("compression_seconds", 0.0)
        variants += len(r.get("compression") or [])
        encoded += (r.get("embedding") or {}).get("compression_encoded", 0)
    return total, variants, encoded


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="models.yaml")
    ap.add_argument("--only-with", action="store_true", help="only the run with the sweep (its in-run figure)")
    ap.add_argument("--cache-from", type=Path, default=None, help="start each run from a copy of this cache")
    ap.add_argument("--keep", type=Path, default=None, help="keep both runs' outputs and caches in this folder")
    ap.add_argument("extra", nargs="*", help="more `embbench run` arguments (after --)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-compression-") as tmp:
        root = args.keep or Path(tmp)
        without = None if args.only_with else cold_run(args.models, args.extra, False, root, args.cache_from)[0]
        with_, output = cold_run(args.models, args.extra, True, root, args.cache_from)
        inside, variants, encoded = sweep_seconds(output)
    kind = "warm" if args.cache_from else "cold"
    if without is not None:
        print(f"{kind} run without the sweep: {without:.1f}s; with it: {with_:.1f}s")
        print(f"wall-time difference: {with_ - without:+.1f}s = {100 * (with_ - without) / without:+.1f}%")
    rest = with_ - inside
    print(f"{kind} run with the sweep: {with_:.1f}s, of which the sweep {inside:.1f}s ({variants} variants)")
    print(f"the sweep adds {100 * inside / rest:.1f}% to the rest of the run ({rest:.1f}s)")
    print(f"texts the sweep encoded: {encoded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
