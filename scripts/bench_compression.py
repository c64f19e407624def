"""What the compression sweep adds to a cold run: the built-in suite run twice from an empty cache, with and without.

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 python scripts/bench_compression.py [--models models.yaml] [-- extra run args]

Each run gets a fresh empty embedding cache (EMBBENCH_CACHE) and a fresh output folder, so both encode everything.
Prints both wall times, their difference as a share of the run without the sweep, and the sweep's own seconds as
the results record them (timing.compression_seconds: evaluation only, since nothing is re-encoded) as a share of
the run with it; the second figure does not depend on how busy the machine was between the two runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cold_run(models: str, extra: list[str], sweep: bool, root: Path) -> tuple[float, Path]:
    """Wall seconds of one `embbench run` from an empty cache, and its output folder."""
    tag = "with" if sweep else "without"
    output, cache = root / f"out-{tag}", root / f"cache-{tag}"
    if output.exists() or cache.exists():
        sys.exit(f"{output} or {cache} exists: a cold run needs neither")
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
    ap.add_argument("--keep", type=Path, default=None, help="keep both runs' outputs and caches in this folder")
    ap.add_argument("extra", nargs="*", help="more `embbench run` arguments (after --)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-compression-") as tmp:
        root = args.keep or Path(tmp)
        without, _ = cold_run(args.models, args.extra, False, root)
        with_, output = cold_run(args.models, args.extra, True, root)
        inside, variants, encoded = sweep_seconds(output)
    print(f"cold run without the sweep: {without:.1f}s; with it: {with_:.1f}s")
    print(f"wall-time difference: {with_ - without:+.1f}s = {100 * (with_ - without) / without:+.1f}% of a cold run")
    print(f"the sweep itself: {inside:.1f}s for {variants} variants = {100 * inside / with_:.1f}% of the run with it")
    print(f"texts the sweep encoded: {encoded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
