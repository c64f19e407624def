"""Compare two output folders' result files metric by metric: a refactor must leave every score unchanged.

    python scripts/compare_results.py reports/ /tmp/after [--tol 0]

Reads ``<output>/results/<model>/<task>.json`` in both folders and prints one line per (model, task) whose
``main_score``, any entry of ``metrics`` or the per-item ``values`` differ by more than ``--tol`` (default 0: bit
for bit), plus pairs present in only one folder. Exit 0 when nothing differs, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def load(output: Path) -> dict[tuple[str, str], dict]:
    out = {}
    for f in sorted((output / "results").glob("*/*.json")):
        r = json.loads(f.read_text(encoding="utf-8"))
        out[(r["model"], r["task"])] = r
    return out


def differs(a: object, b: object, tol: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) and math.isnan(b):
            return False
        return abs(a - b) > tol
    return a != b


def compare(a: dict, b: dict, tol: float) -> list[str]:
    diffs = []
    if differs(a.get("main_score"), b.get("main_score"), tol):
        diffs.append(f"main_score {a.get('main_score')} != {b.get('main_score')}")
    ma, mb = a.get("metrics") or {}, b.get("metrics") or {}
    for k in sorted(set(ma) | set(mb)):
        if differs(ma.get(k), mb.get(k), tol):
            diffs.append(f"{k} {ma.get(k)} != {mb.get(k)}")
    va = (a.get("items") or {}).get("values")
    vb = (b.get("items") or {}).get("values")
    if (va is None) != (vb is None) or (
        va is not None and (len(va) != len(vb) or any(differs(x, y, tol) for x, y in zip(va, vb, strict=True)))
    ):
        diffs.append("per-item values differ")
    return diffs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--tol", type=float, default=0.0)
    args = ap.parse_args(argv)
    a, b = load(args.before), load(args.after)
    bad = 0
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            print(f"{key[0]}/{key[1]}: only in {'after' if key not in a else 'before'}")
            bad += 1
            continue
        for d in compare(a[key], b[key], args.tol):
            print(f"{key[0]}/{key[1]}: {d}")
            bad += 1
    print(f"{len(set(a) & set(b))} results compared, {bad} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
