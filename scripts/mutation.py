"""Mutation testing: apply each named bug to a temporary copy of the repo, run the tests that claim to catch it.

    python scripts/mutation.py                  # every named mutation; prints killed / survived and the kill rate
    python scripts/mutation.py --only bm25-yo   # some of them (repeat --only)
    python scripts/mutation.py --mutmut 900     # then mutmut over MUTMUT_MODULES for at most 900 s

A mutation is a source patch (a regular expression and its replacement) in one file. The copy is made once (the
files git tracks, plus untracked files it does not ignore); each mutation is applied there, its targeted tests
run (pytest -x, niced), and the file restored. Exit status of pytest: 1 = killed (a test failed), 0 = survived,
anything else (collection error, timeout) = error. A pattern that no longer matches the code is reported as
"stale": update the mutation, it is not a kill. The unmutated copy must pass the same tests first.

Each mutation is a bug an audit found no test caught (issue #19); the list is what the suite must keep catching.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str
    pattern: str  # a regular expression (re.MULTILINE), replaced at its first match
    replacement: str
    tests: tuple[str, ...]  # pytest arguments; paths that do not exist in the copy are left out
    what: str


MUTATIONS = [
    Mutation(
        "identity-pooling",
        "embbench/encode/backends/sentence_transformers.py",
        r'^\s*"pooling": s\.pooling,\n',
        "",
        ("tests/encode/test_identity.py", "tests/encode/test_cache.py"),
        "pooling dropped from the model's cache identity",
    ),
    Mutation(
        "identity-tokenizer-kwargs",
        "embbench/encode/backends/sentence_transformers.py",
        r'"tokenizer_kwargs": s\.tokenizer_kwargs,',
        '"tokenizer_kwargs": {},',
        ("tests/encode/test_identity.py", "tests/encode/test_cache.py"),
        "tokenizer_kwargs constant in the cache identity",
    ),
    Mutation(
        "folder-hash-names-only",
        "embbench/encode/backends/sentence_transformers.py",
        r'for block in iter\(lambda: fh\.read\(1 << 20\), b""\):\n(\s*)h\.update\(block\)',
        r"for block in ():\n\1h.update(block)",
        ("tests/encode/test_identity.py", "tests/encode/test_cache.py"),
        "a local model folder hashed by file names only",
    ),
    Mutation(
        "text-key-nul-join",
        "embbench/encode/embedder.py",
        r"return hashlib\.sha256\(b\"\"\.join\(len\(p\)\.to_bytes\(8, \"big\"\) \+ p for p in parts\)\)\.digest\(\)",
        r'return hashlib.sha256(b"\\x00".join(parts)).digest()',
        ("tests/encode/test_cache_keys.py", "tests/encode/test_cache.py"),
        "cache key parts joined with NUL (inputs containing NUL collide)",
    ),
    Mutation(
        "cache-folders-world-readable",
        "embbench/encode/cache.py",
        r"^PRIVATE = 0o700$",
        "PRIVATE = 0o777",
        ("tests/encode/test_cache_keys.py",),
        "cache folders created with the default (umask) mode",
    ),
    Mutation(
        "bm25-yo",
        "embbench/encode/backends/bm25.py",
        r'WORD\.findall\(text\.lower\(\)\.replace\("ё", "е"\)\)',
        "WORD.findall(text.lower())",
        ("tests/encode/test_bm25.py", "tests/encode/test_baselines.py"),
        "BM25's ё -> е folding removed",
    ),
    Mutation(
        "bootstrap-half-resamples",
        "embbench/report/stats.py",
        r"rng\.integers\(0, n, size=\(b, n\)\)",
        "rng.integers(0, n, size=(b, max(1, n // 2)))",
        ("tests/report/test_stats_reference.py", "tests/report/test_stats.py"),
        "bootstrap resamples of n/2 items (intervals sqrt(2) too wide)",
    ),
    Mutation(
        "api-redirect-not-refused",
        "embbench/encode/backends/openai_api.py",
        r"if 300 <= status < 400:",
        "if False:",
        ("tests/encode/test_api_guard.py",),
        "a 3xx answer of the API is not reported as a refused redirect (no RedirectRefused, no Location)",
    ),
    Mutation(
        "api-rows-by-completion",
        "embbench/encode/backends/api_pool.py",
        r"return \[f\.result\(\) for f in futures\]",
        "return [f.result() for f in concurrent.futures.as_completed(futures)]",
        ("tests/encode/test_api_pool.py",),
        "concurrent API batches come back in completion order, not in the order of the texts",
    ),
    Mutation(
        "api-idle-connection-trusted",
        "embbench/encode/backends/api_pool.py",
        r"if _alive\(conn\):",
        "if True:",
        ("tests/encode/test_api_pool.py",),
        "a keep-alive connection the server closed while idle is reused (a failed request and a retry wait)",
    ),
    Mutation(
        "api-any-key-env",
        "embbench/encode/backends/api_guard.py",
        r"if KEY_ENV_PATTERN\.fullmatch\(name\) or name in allowed_key_envs\(\):",
        "if True:",
        ("tests/encode/test_api_guard.py",),
        "api_key_env may name any variable (GITHUB_TOKEN...)",
    ),
    Mutation(
        "api-credentials-in-url",
        "embbench/encode/backends/api_guard.py",
        r'^(\s*)if "@" in url:\n\s*return .*\n',
        "",
        ("tests/encode/test_api_guard.py",),
        "base_url with user:password@ accepted",
    ),
    Mutation(
        "api-plain-http-anywhere",
        "embbench/encode/backends/api_guard.py",
        r'if parts\.scheme == "http" and not is_loopback\(host\):',
        "if False:",
        ("tests/encode/test_api_guard.py",),
        "plain http accepted to any host",
    ),
    Mutation(
        "api-key-in-provenance",
        "embbench/encode/backends/openai_api.py",
        r'"api_key_set": self\._key is not None,',
        '"api_key_set": self._key,',
        ("tests/encode/test_api_guard.py",),
        "the API key written into the result files (provenance)",
    ),
    Mutation(
        "html-escape-removed",
        "embbench/report/html.py",
        r"^from html import escape$",
        "escape = str",
        ("tests/report", "tests/report/test_report.py"),
        "HTML escaping removed from the report page",
    ),
    Mutation(
        "spec-type-checks-removed",
        "embbench/spec/models.py",
        r'typed\(entry\[key\], str, where, key, "a string"\)',
        "pass",
        ("tests/spec", "tests/cli/test_cli.py", "-k", "model_entry or models_yaml or model_folder or preset or spec"),
        "type checks of model/backend/revision/device/preset removed",
    ),
]
MUTMUT_MODULES = ["embbench/encode/embedder.py", "embbench/encode/cache.py", "embbench/report/stats.py"]
MUTMUT_TESTS = ["tests/encode", "tests/encode/test_cache.py", "tests/report", "tests/report/test_stats.py"]
MUTMUT_PYTEST_ARGS = ["-p", "no:cacheprovider", "-q", "-k", "not sigkill and not two_writers"]  # no slow kill tests


def copy_repo(dest: Path) -> None:
    """The files git tracks plus untracked ones it does not ignore (the working tree as the developer has it)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        rel = raw.decode()
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def pytest_args(copy: Path, tests: tuple[str, ...]) -> list[str]:
    """The tests that exist in the copy (a later merge may add tests/spec, tests/report...), options kept."""
    out: list[str] = []
    skip_value = False
    for arg in tests:
        if skip_value:
            out.append(arg)
            skip_value = False
        elif arg.startswith("-"):
            out.append(arg)
            skip_value = arg in ("-k", "-m")
        elif (copy / arg.split("::")[0]).exists():
            out.append(arg)
    return out


def run_tests(copy: Path, args: list[str], timeout: float) -> tuple[int | None, float, str]:
    env = {**os.environ, "PYTHONPATH": str(copy), "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = ["nice", sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "--no-header", *args]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - t0, "timeout"
    tail = (proc.stdout + proc.stderr).strip().splitlines()
    return proc.returncode, time.monotonic() - t0, tail[-1] if tail else ""


def apply(copy: Path, m: Mutation) -> str | None:
    """The original text of the mutated file, or None when the pattern matches nothing (a stale mutation)."""
    path = copy / m.file
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    mutated, n = re.subn(m.pattern, m.replacement, text, count=1, flags=re.MULTILINE)
    if n == 0 or mutated == text:
        return None
    path.write_text(mutated, encoding="utf-8")
    return text


def named_mutations(copy: Path, selected: list[Mutation], timeout: float) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    baseline: dict[tuple[str, ...], tuple[int | None, float, str]] = {}  # each set of tests runs unmutated once
    for m in selected:
        args = pytest_args(copy, m.tests)
        if tuple(args) not in baseline:
            baseline[tuple(args)] = run_tests(copy, args, timeout)
        base_code, _, base_tail = baseline[tuple(args)]
        if base_code != 0:
            rows.append({"name": m.name, "status": "error", "detail": f"unmutated tests fail: {base_tail}"})
            print(f"{m.name:30} error (the unmutated copy fails: {base_tail})", flush=True)
            continue
        original = apply(copy, m)
        if original is None:
            rows.append({"name": m.name, "status": "stale", "detail": f"pattern not found in {m.file}"})
            print(f"{m.name:30} stale (pattern not found in {m.file})", flush=True)
            continue
        try:
            code, seconds, tail = run_tests(copy, args, timeout)
        finally:
            (copy / m.file).write_text(original, encoding="utf-8")
        status = {1: "killed", 0: "survived"}.get(code, "error") if code is not None else "error"
        rows.append({"name": m.name, "status": status, "seconds": round(seconds, 1), "detail": tail, "what": m.what})
        print(f"{m.name:30} {status:9} {seconds:6.1f} s  {m.what}  [{tail}]", flush=True)
    return rows


def run_mutmut(copy: Path, budget: float) -> dict[str, object]:
    """mutmut (3.x) over MUTMUT_MODULES with MUTMUT_TESTS, stopped after budget seconds; its counts and survivors.

    mutmut is imported from this interpreter (pip install mutmut, or a --target folder on PYTHONPATH). It works in
    <copy>/mutants, so the copy itself must not be on PYTHONPATH (its unmutated code would be tested).
    """
    import importlib.util

    if importlib.util.find_spec("mutmut") is None:
        return {"status": "not installed (pip install mutmut)"}
    config = (
        "\n[tool.mutmut]\n"
        'source_paths = ["embbench"]\n'
        f"only_mutate = {json.dumps(MUTMUT_MODULES)}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(MUTMUT_TESTS)}\n"
        f"pytest_add_cli_args = {json.dumps(MUTMUT_PYTEST_ARGS)}\n"
        'also_copy = ["tests", "tasks", "models.yaml"]\n'
    )
    with (copy / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(config)
    # the caller's PYTHONPATH (where mutmut may live) without the repo itself
    keep = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != REPO]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join(keep)}
    mutmut = ["nice", sys.executable, "-m", "mutmut"]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [*mutmut, "run", "--max-children", "1"], cwd=copy, env=env, capture_output=True, text=True, timeout=budget
        )
        finished, out = True, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        raw = exc.stdout or b""
        finished, out = False, raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    results = subprocess.run([*mutmut, "results", "--all", "true"], cwd=copy, env=env, capture_output=True, text=True)
    counts: dict[str, int] = {}
    survivors: list[str] = []
    for line in results.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if not sep:
            continue
        counts[status] = counts.get(status, 0) + 1
        if status == "survived":
            survivors.append(name)
    killed, survived = counts.get("killed", 0), counts.get("survived", 0)
    by_function: dict[str, int] = {}
    for name in survivors:  # module.x_function__mutmut_N (methods: xǁClassǁmethod) -> survivors per function
        function = name.rsplit("__mutmut_", 1)[0].replace(".x_", ".").replace("xǁ", "").replace("ǁ", ".")
        by_function[function] = by_function.get(function, 0) + 1
    return {
        "finished": finished,
        "seconds": round(time.monotonic() - t0, 1),
        "counts": counts,
        "kill_rate": round(killed / (killed + survived), 3) if killed + survived else None,
        "survivors_by_function": dict(sorted(by_function.items(), key=lambda kv: -kv[1])),
        "survivors": survivors,
        "log_tail": [line[-200:] for line in out.strip().splitlines()[-5:]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="run only this mutation (repeatable)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per test run (default 600)")
    parser.add_argument("--mutmut", type=float, default=0.0, metavar="SECONDS", help="also run mutmut this long")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = parser.parse_args(argv)
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:30} {m.file}: {m.what}")
        return 0
    unknown = set(args.only) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutation(s): {', '.join(sorted(unknown))}")
    selected = [m for m in MUTATIONS if not args.only or m.name in args.only]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the temporary copy is removed
    with tempfile.TemporaryDirectory(prefix="embbench-mutation-") as tmp:
        copy = Path(tmp)
        copy_repo(copy)
        rows = named_mutations(copy, selected, args.timeout)
        killed = sum(r["status"] == "killed" for r in rows)
        scored = sum(r["status"] in ("killed", "survived") for r in rows)
        rate = killed / scored if scored else 0.0
        print(f"named mutations: {killed} killed of {scored} applied ({rate:.0%}); {len(rows) - scored} stale/error")
        report: dict[str, object] = {"named": rows, "kill_rate": round(rate, 3)}
        if args.mutmut > 0:
            report["mutmut"] = mm = run_mutmut(copy, args.mutmut)
            print(f"mutmut: {json.dumps({k: v for k, v in mm.items() if k != 'survivors'}, ensure_ascii=False)}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0 if killed == scored and scored == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
