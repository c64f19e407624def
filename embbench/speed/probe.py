"""Speed probe: what a model costs to run on this machine, measured by embbench, next to what it scores.

`probe()` calls `encoder.encode` directly (never the embedding cache), so a cached run still measures the model:

- throughput: a fixed sample of real RAG-length passages (400-1500 characters, drawn deterministically from the
  built-in data: tydiqa_goldp_ru's corpus and xquad_ru's positive passages) encoded at the model's batch size
  after a warm-up, in texts/s and tokens/s (tokens the model actually sees: min(token count, max_tokens));
- latency: one query at a time (batch 1) over a fixed set of real questions (tydiqa_goldp_ru's queries), p50/p95;
- peak process RSS during the probe (and torch's peak allocated CUDA memory on a GPU), model load time, parameter
  count, embedding dimension and the float32 index size per 1M documents;
- the hardware/software fingerprint (`embbench.speed.hardware`), so numbers from different machines are not mixed.

Passages are sorted longest first and cut into batches of `batch_size` (as sentence-transformers does inside one
encode call), so every backend is timed on the same batches. The result goes to `<output>/speed/<model>.json`.
Speed compares models on one machine only; `scripts/bench_probe_spread.py` shows how much it varies run to run.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

from embbench.data.files import find_split_file, read_records
from embbench.errors import UserError
from embbench.results import write_json_atomic
from embbench.speed import hardware

PASSAGE_CHARS = (400, 1500)  # RAG chunk lengths kept for the throughput sample
CPU_SIZES = (128, 50)  # (passages, queries) on CPU: the probe stays short on a laptop
GPU_SIZES = (256, 100)
WARMUP = 2  # warm-up batches of passages, and 5x as many single queries, before timing (probe's default)
CPU_WARMUP, GPU_WARMUP = 1, 3  # measure(): one batch is enough on CPU (and costs seconds); kernels settle on GPU
KEYS = (
    "model",
    "throughput_texts_per_s",
    "throughput_tokens_per_s",
    "batch_size",
    "latency_ms_p50",
    "latency_ms_p95",
    "peak_rss_mb",
    "peak_gpu_mb",
    "load_seconds",
    "n_params",
    "dim",
    "index_bytes_per_1m",
    "hardware",
    "sample",
    "load",
    "date",
)


def speed_path(output: Path, model: str) -> Path:
    """<output>/speed/<model>.json (model names were checked to be safe file names)."""
    return output / "speed" / f"{model}.json"


# --- the fixed sample -------------------------------------------------------------------------------------------


def builtin_data_dir() -> Path:
    """tasks/data of the embbench checkout (next to the package), else ./tasks/data."""
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        data = root / "tasks" / "data"
        if (data / "retrieval" / "tydiqa_goldp_ru" / "queries.jsonl").is_file():
            return data
    raise UserError(
        "tasks/data",
        "the speed probe's built-in texts (tasks/data/retrieval/tydiqa_goldp_ru) are not found",
        fix="run from the embbench checkout, or skip the probe with --no-speed",
    )


def _by_hash(texts: Sequence[str]) -> list[str]:
    """Distinct texts in a fixed pseudo-random order (sha256 of the text): a sample independent of file order."""
    return sorted(set(texts), key=lambda t: hashlib.sha256(t.encode()).hexdigest())


def sample_passages(n: int, data_dir: Path | None = None, chars: tuple[int, int] = PASSAGE_CHARS) -> list[str]:
    """n distinct real passages of chars[0]..chars[1] characters (tydiqa corpus + xquad positives), deterministic."""
    data = data_dir or builtin_data_dir()
    tydiqa = data / "retrieval" / "tydiqa_goldp_ru"
    pool = [r["text"] for r in read_records(find_split_file(tydiqa, "corpus"))]
    xquad = data / "reranking" / "xquad_ru"
    if xquad.is_dir():
        pool += [p for r in read_records(find_split_file(xquad, "test")) for p in r["positive"]]
    chosen = [t for t in _by_hash(pool) if chars[0] <= len(t) <= chars[1]][:n]
    if len(chosen) < n:
        raise UserError(
            "speed probe", f"only {len(chosen)} built-in passages of {chars[0]}-{chars[1]} chars, {n} asked"
        )
    return chosen


def sample_queries(n: int, data_dir: Path | None = None) -> list[str]:
    """n distinct real questions (tydiqa_goldp_ru queries), deterministic."""
    data = data_dir or builtin_data_dir()
    queries = read_records(find_split_file(data / "retrieval" / "tydiqa_goldp_ru", "queries"))
    chosen = _by_hash([r["text"] for r in queries])[:n]
    if len(chosen) < n:
        raise UserError("speed probe", f"only {len(chosen)} built-in queries, {n} asked")
    return chosen


# --- measurements -----------------------------------------------------------------------------------------------


class PeakRSS:
    """Peak resident memory of this process between __enter__ and __exit__, in bytes.

    On Linux the kernel's high-water mark (VmHWM) is reset through /proc/self/clear_refs, which is exact and costs
    nothing; elsewhere a thread samples the RSS every 5 ms (psutil, else /proc/self/statm); failing both, the
    lifetime peak from getrusage (an upper bound) is reported.
    """

    def __init__(self) -> None:
        self.peak = 0
        self._hwm = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakRSS:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self._hwm = _vm_hwm() is not None
        except OSError:
            self._hwm = False
        if not self._hwm and _current_rss() is not None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _current_rss() or 0)

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        now = _current_rss() or 0
        if self._hwm:
            self.peak = max(_vm_hwm() or 0, now)
        elif self._thread is not None:
            self.peak = max(self.peak, now)
        else:
            import resource

            kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.peak = kb if sys.platform == "darwin" else kb * 1024


def _vm_hwm() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _current_rss() -> int | None:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        pass
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _torch_module(encoder: Any) -> Any:
    """The encoder's torch.nn.Module, if it has one (looked up only once the model is loaded)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    model = getattr(encoder, "model", None)
    return model if isinstance(model, torch.nn.Module) else None


def n_params(encoder: Any) -> int | None:
    """Parameter count: encoder.n_params if it gives one, else the torch model's, else None (static vectors...)."""
    given = getattr(encoder, "n_params", None)
    if given is not None:
        return int(given() if callable(given) else given)
    module = _torch_module(encoder)
    return None if module is None else int(sum(p.numel() for p in module.parameters()))


def device_dtype(encoder: Any) -> tuple[str, str]:
    """Where and in what precision the model runs (read from its weights when it is a torch model)."""
    module = _torch_module(encoder)
    if module is not None:
        param = next(module.parameters(), None)
        device = str(getattr(module, "device", None) or (param.device if param is not None else "cpu"))
        dtype = str(param.dtype).removeprefix("torch.") if param is not None else "float32"
        return device, dtype
    spec = getattr(encoder, "spec", None)
    return str(getattr(encoder, "device", None) or "cpu"), str(getattr(spec, "dtype", None) or "float32")


def _on_cuda(device: str) -> bool:
    torch = sys.modules.get("torch")
    return bool(torch is not None and device.startswith("cuda") and torch.cuda.is_available())


def ensure_loaded(encoder: Any) -> None:
    """Encode one short text, so a lazily loaded model is loaded and its device known."""
    encoder.encode(["прогрев"], "")


def default_warmup(encoder: Any) -> int:
    """Warm-up batches for the device the (loaded) model runs on."""
    return GPU_WARMUP if device_dtype(encoder)[0].startswith("cuda") else CPU_WARMUP


def busy_warning() -> str | None:
    """A warning when other processes keep the CPUs busy (1-minute load >= logical CPUs): timings will be off."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    cpus = hardware.logical_threads()
    if load < cpus:
        return None
    return (
        f"speed: this machine is busy (load {load:.1f} on {cpus} logical CPUs); the probe's timings include that "
        "contention: re-run `embbench speed --force` on a quiet machine for numbers to compare"
    )


def default_sizes(encoder: Any) -> tuple[int, int]:
    """(passages, queries) for the device the (loaded) model runs on: smaller on CPU so the probe stays short."""
    device, _ = device_dtype(encoder)
    return GPU_SIZES if device.startswith("cuda") else CPU_SIZES


def _ms_percentile(seconds: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q))


def probe(
    encoder: Any,
    *,
    batch_size: int,
    passages: Sequence[str],
    queries: Sequence[str],
    warmup: int = WARMUP,
    passage_prompt: str = "",
    query_prompt: str = "",
    name: str = "model",
) -> dict[str, Any]:
    """Measure one encoder on this machine; returns the speed record (every key of KEYS).

    Warm-up first (which also loads a lazily loaded model): `warmup` batches of the longest passages and
    5 x `warmup` single queries. Then one timed pass over all passages in batches of `batch_size`, then one timed
    encode per query at batch 1. Memory peaks cover the whole probe, warm-up included (and the model load, if the
    model loads here).
    """
    if batch_size < 1 or not passages or not queries:
        raise ValueError("the probe needs batch_size >= 1, passages and queries")
    ordered = sorted(passages, key=len, reverse=True)
    batches = [list(ordered[i : i + batch_size]) for i in range(0, len(ordered), batch_size)]
    torch = sys.modules.get("torch")  # not imported yet: nothing is on a GPU, no peak to reset
    if torch is not None and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    with PeakRSS() as rss:
        for i in range(max(warmup, 1)):  # at least one call: the model loads before anything is timed
            encoder.encode(batches[i % len(batches)], passage_prompt)
        for i in range(5 * warmup):
            encoder.encode([queries[i % len(queries)]], query_prompt)
        t0 = time.perf_counter()
        dim = None
        for batch in batches:
            vecs = np.asarray(encoder.encode(batch, passage_prompt))
            dim = int(vecs.shape[1])
        encode_seconds = time.perf_counter() - t0
        latencies = []
        for q in queries:
            t = time.perf_counter()
            encoder.encode([q], query_prompt)
            latencies.append(time.perf_counter() - t)
    device, dtype = device_dtype(encoder)
    peak_gpu = None
    if _on_cuda(device):
        peak_gpu = round(sys.modules["torch"].cuda.max_memory_allocated() / 2**20, 1)
    tokens = None
    max_tokens = _max_tokens(encoder)
    if hasattr(encoder, "count_tokens"):
        counts = np.asarray(encoder.count_tokens(list(passages), passage_prompt))
        seen = np.minimum(counts, max_tokens) if max_tokens else counts
        tokens = int(seen.sum())
    load = getattr(encoder, "load_seconds", None)
    assert dim is not None
    return {
        "model": name,
        "throughput_texts_per_s": round(len(passages) / encode_seconds, 3),
        "throughput_tokens_per_s": None if tokens is None else round(tokens / encode_seconds, 1),
        "batch_size": batch_size,
        "latency_ms_p50": round(_ms_percentile(latencies, 50), 3),
        "latency_ms_p95": round(_ms_percentile(latencies, 95), 3),
        "peak_rss_mb": round(rss.peak / 2**20, 1),
        "peak_gpu_mb": peak_gpu,
        "load_seconds": None if load is None else round(float(load), 3),
        "n_params": n_params(encoder),
        "dim": dim,
        "index_bytes_per_1m": dim * 4 * 1_000_000,
        "hardware": hardware.fingerprint(device, dtype),
        "sample": {
            "n_passages": len(passages),
            "n_queries": len(queries),
            "mean_chars": round(statistics.fmean(len(p) for p in passages), 1),
        },
        "load": hardware.load(),  # the report flags a probe on a busy machine (report/facts.py busy)
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _max_tokens(encoder: Any) -> int | None:
    value = getattr(encoder, "max_tokens", None)
    value = value() if callable(value) else value
    return int(value) if value else None


# --- per model: what the runner and `embbench speed` call -------------------------------------------------------


def can_encode(backend_target: str) -> bool:
    """Whether a backend class ("module:Class") has encode(): rankers such as BM25 have no speed to probe."""
    module, cls = backend_target.split(":")
    return callable(getattr(getattr(import_module(module), cls), "encode", None))


def measure(
    encoder: Any,
    name: str,
    output: Path,
    *,
    batch_size: int,
    prompts: Mapping[str, str] | None = None,
    n_passages: int | None = None,
    n_queries: int | None = None,
    data_dir: Path | None = None,
    warmup: int | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Probe one model with the built-in sample (sizes by device unless given) and write its speed file.

    The model is loaded first (the device decides the sizes), so the memory peaks are those of inference with the
    model resident, not of loading it; `load_seconds` reports the load.

    The passages get the model's retrieval document prompt and the queries its query prompt (as in a RAG index and
    at query time), resolved from `prompts` (models.yaml) or the model's own saved prompts.
    """
    from embbench.spec.prompts import resolve_prompt

    ensure_loaded(encoder)
    busy = busy_warning()
    if busy and log:
        log(busy)
    default_p, default_q = default_sizes(encoder)
    if warmup is None:
        warmup = default_warmup(encoder)
    passages = sample_passages(n_passages or default_p, data_dir)
    queries = sample_queries(n_queries or default_q, data_dir)
    table = dict(prompts) if prompts is not None else encoder.builtin_prompts()
    t0 = time.perf_counter()
    record = probe(
        encoder,
        batch_size=batch_size,
        passages=passages,
        queries=queries,
        warmup=warmup,
        passage_prompt=resolve_prompt(table, "speed", "retrieval", "document") or "",
        query_prompt=resolve_prompt(table, "speed", "retrieval", "query") or "",
        name=name,
    )
    write_json_atomic(speed_path(output, name), record)
    if log:
        log(
            f"speed: {record['throughput_texts_per_s']:.1f} passages/s at batch {batch_size}, "
            f"query p50 {record['latency_ms_p50']:.1f} ms / p95 {record['latency_ms_p95']:.1f} ms, "
            f"peak RSS {record['peak_rss_mb']:.0f} MB ({time.perf_counter() - t0:.1f}s)"
        )
    return record


def wants_probe(spec: Any, output: Path, force: bool) -> bool:
    """A model gets a probe unless its speed file exists (without force) or its backend cannot encode (BM25)."""
    if not force and speed_path(output, spec.name).is_file():
        return False
    from embbench.encode.backends import BACKENDS

    target = BACKENDS.get(spec.backend)
    if target is None:
        return True  # an unknown backend: loading it reports the mistake
    try:
        return can_encode(target)
    except Exception:  # a missing extra...: loading the model reports it
        return True


def probe_model(
    spec: Any,
    encoder: Any,
    output: Path,
    summary: Any,
    log: Callable[[str], None],
    n_passages: int | None = None,
    n_queries: int | None = None,
) -> None:
    """Probe one loaded model and write its speed file; a failure is recorded as task 'speed', never raised."""
    from embbench.errors import ModelLoadError

    if not callable(getattr(encoder, "encode", None)):
        return
    try:
        measure(
            encoder,
            spec.name,
            output,
            batch_size=spec.batch_size,
            prompts=spec.prompts,
            n_passages=n_passages,
            n_queries=n_queries,
            log=lambda m: log(f"    {m}"),
        )
    except UserError as exc:  # no built-in sample next to this installation
        log(f"    speed probe skipped: {exc}")
        return
    except ModelLoadError as exc:
        log(f"    speed probe FAILED: {exc}")
        summary.failed.append((spec.name, "speed", str(exc), False))
        return
    except Exception as exc:  # out of memory, a backend error...
        log(f"    speed probe FAILED: {type(exc).__name__}: {exc}")
        summary.failed.append((spec.name, "speed", f"{type(exc).__name__}: {exc}", False))
        return
    summary.speed.append(spec.name)


def run_speed(
    models: Sequence[Any],
    output: Path,
    *,
    force: bool = False,
    log: Callable[[str], None] | None = None,
    n_passages: int | None = None,
    n_queries: int | None = None,
) -> Any:
    """`embbench speed`: the probe alone for every model (no tasks, no cache); returns a runner.RunSummary."""
    from embbench.encode.backends import load_encoder
    from embbench.errors import ModelUnavailable
    from embbench.run.runner import RunSummary, stderr_log

    log = log or stderr_log
    summary = RunSummary()
    for mi, spec in enumerate(models, 1):
        if not wants_probe(spec, output, force):
            exists = speed_path(output, spec.name).is_file()
            log(f"[{mi}/{len(models)}] {spec.name}: " + ("speed file exists (use --force)" if exists else "no encoder"))
            if exists:
                summary.skipped.append((spec.name, "speed"))
            continue
        log(f"[{mi}/{len(models)}] {spec.name}: loading {spec.model}")
        try:
            encoder = load_encoder(spec)
        except ModelUnavailable as exc:
            log(f"  {spec.name}: {'skipped (optional)' if spec.optional else 'FAILED'}: {exc}")
            summary.unavailable.append((spec.name, str(exc), spec.optional))
            continue
        except UserError as exc:
            log(f"  {spec.name}: FAILED: {exc}")
            summary.failed.append((spec.name, "speed", str(exc), True))
            continue
        except Exception as exc:
            log(f"  {spec.name}: FAILED to load: {type(exc).__name__}: {exc}")
            summary.failed.append((spec.name, "speed", f"load failed: {exc}", False))
            continue
        probe_model(spec, encoder, output, summary, log, n_passages, n_queries)
    return summary
