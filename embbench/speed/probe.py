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

import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from embbench.encode.backends import BACKENDS, Encoder, LoadTimed, ParamCounter, TokenCounter
from embbench.results import write_json_atomic
from embbench.spec import ModelSpec
from embbench.spec.prompts import resolve_prompt
from embbench.speed import hardware
from embbench.speed.memory import PeakRSS
from embbench.speed.sample import sample_passages, sample_queries

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


def wants_probe(spec: ModelSpec, output: Path, force: bool) -> bool:
    """A model gets a probe unless its speed file exists (without force) or its backend is a ranker (BM25)."""
    if not force and speed_path(output, spec.name).is_file():
        return False
    entry = BACKENDS.get(spec.backend)
    return entry is None or entry.kind == "encoder"  # an unknown backend: loading it reports the mistake


# --- the encoder's device, size and load ------------------------------------------------------------------------


def _torch_module(encoder: Any) -> Any:
    """The encoder's torch.nn.Module, if it has one (looked up only once the model is loaded)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    model = getattr(encoder, "model", None)
    return model if isinstance(model, torch.nn.Module) else None


def n_params(encoder: Any) -> int | None:
    """Parameter count: encoder.n_params if it gives one, else the torch model's, else None (static vectors...)."""
    if isinstance(encoder, ParamCounter):
        return int(encoder.n_params())
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


def busy_warning(load: dict[str, Any] | None) -> str | None:
    """A warning when other processes kept the CPUs busy during the probe (hardware.busy_share): timings are off."""
    others, cpus = (load or {}).get("others_cores"), (load or {}).get("logical_cpus")
    if not isinstance(others, (int, float)) or not cpus or others < hardware.busy_share(cpus):
        return None
    return (
        f"speed: this machine was busy (other processes used {others:.1f} of {cpus} logical CPUs during the probe); "
        "the probe's timings include that contention: re-run `embbench speed --force` on a quiet machine"
    )


def default_sizes(encoder: Any) -> tuple[int, int]:
    """(passages, queries) for the device the (loaded) model runs on: smaller on CPU so the probe stays short."""
    device, _ = device_dtype(encoder)
    return GPU_SIZES if device.startswith("cuda") else CPU_SIZES


def _ms_percentile(seconds: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q))


# --- the probe ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timings:
    """What one probe pass measured."""

    encode_seconds: float
    latencies: list[float]
    dim: int
    peak_rss: int


def _timed_pass(
    encoder: Encoder,
    batches: list[list[str]],
    queries: Sequence[str],
    warmup: int,
    passage_prompt: str,
    query_prompt: str,
) -> Timings:
    """Warm up, then time the passages batch by batch and each query alone, under PeakRSS."""
    with PeakRSS() as rss:
        for i in range(max(warmup, 1)):  # at least one call: the model loads before anything is timed
            encoder.encode(batches[i % len(batches)], passage_prompt)
        for i in range(5 * warmup):
            encoder.encode([queries[i % len(queries)]], query_prompt)
        t0 = time.perf_counter()
        dim = 0
        for batch in batches:
            vecs = np.asarray(encoder.encode(batch, passage_prompt))
            dim = int(vecs.shape[1])
        encode_seconds = time.perf_counter() - t0
        latencies = []
        for q in queries:
            t = time.perf_counter()
            encoder.encode([q], query_prompt)
            latencies.append(time.perf_counter() - t)
    return Timings(encode_seconds, latencies, dim, rss.peak)


def _tokens_seen(encoder: Encoder, passages: Sequence[str], prompt: str) -> int | None:
    """Tokens the model sees of the passages: min(token count, max_tokens) each; None without a counter."""
    if not isinstance(encoder, TokenCounter):
        return None
    counts = np.asarray(encoder.count_tokens(list(passages), prompt))
    max_tokens = encoder.max_tokens
    seen = np.minimum(counts, max_tokens) if max_tokens else counts
    return int(seen.sum())


def probe(
    encoder: Encoder,
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
    before = hardware.cpu_snapshot()
    t = _timed_pass(encoder, batches, queries, warmup, passage_prompt, query_prompt)
    others = hardware.others_cores(before, hardware.cpu_snapshot())
    device, dtype = device_dtype(encoder)
    peak_gpu = None
    if _on_cuda(device):
        peak_gpu = round(sys.modules["torch"].cuda.max_memory_allocated() / 2**20, 1)
    tokens = _tokens_seen(encoder, passages, passage_prompt)
    load = encoder.load_seconds if isinstance(encoder, LoadTimed) else None
    return {
        "model": name,
        "throughput_texts_per_s": round(len(passages) / t.encode_seconds, 3),
        "throughput_tokens_per_s": None if tokens is None else round(tokens / t.encode_seconds, 1),
        "batch_size": batch_size,
        "latency_ms_p50": round(_ms_percentile(t.latencies, 50), 3),
        "latency_ms_p95": round(_ms_percentile(t.latencies, 95), 3),
        "peak_rss_mb": round(t.peak_rss / 2**20, 1),
        "peak_gpu_mb": peak_gpu,
        "load_seconds": None if load is None else round(float(load), 3),
        "n_params": n_params(encoder),
        "dim": t.dim,
        "index_bytes_per_1m": t.dim * 4 * 1_000_000,
        "hardware": hardware.fingerprint(device, dtype),
        "sample": {
            "n_passages": len(passages),
            "n_queries": len(queries),
            "mean_chars": round(statistics.fmean(len(p) for p in passages), 1),
        },
        "load": hardware.load(others),  # the report flags a probe on a busy machine (report/facts.py busy)
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


# --- one model, with the built-in sample ----------------------------------------------------------------------


def measure(
    encoder: Encoder,
    name: str,
    output: Path | None,
    *,
    batch_size: int,
    prompts: Mapping[str, str] | None = None,
    n_passages: int | None = None,
    n_queries: int | None = None,
    data_dir: Path | None = None,
    warmup: int | None = None,
) -> dict[str, Any]:
    """Probe one model with the built-in sample (sizes by device unless given); write its speed file under
    output (None: only return the record).

    The model is loaded first (the device decides the sizes), so the memory peaks are those of inference with the
    model resident, not of loading it; `load_seconds` reports the load.

    The passages get the model's retrieval document prompt and the queries its query prompt (as in a RAG index and
    at query time), resolved from `prompts` (models.yaml) or the model's own saved prompts.
    """
    ensure_loaded(encoder)
    default_p, default_q = default_sizes(encoder)
    if warmup is None:
        warmup = default_warmup(encoder)
    passages = sample_passages(n_passages or default_p, data_dir)
    queries = sample_queries(n_queries or default_q, data_dir)
    table = dict(prompts) if prompts is not None else encoder.builtin_prompts()
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
    if output is not None:
        write_json_atomic(speed_path(output, name), record)
    return record


@dataclass(frozen=True)
class ProbeResult:
    """A model's speed record and the lines that describe the probe (a busy machine, the figures)."""

    record: dict[str, Any]
    notes: tuple[str, ...]


def probe_spec(
    spec: ModelSpec, encoder: Encoder, *, n_passages: int | None = None, n_queries: int | None = None
) -> ProbeResult:
    """measure() with a model entry's batch size and prompts; writes nothing (the caller writes the record)."""
    t0 = time.perf_counter()
    record = measure(
        encoder,
        spec.name,
        None,
        batch_size=spec.batch_size,
        prompts=spec.prompts,
        n_passages=n_passages,
        n_queries=n_queries,
    )
    line = (
        f"speed: {record['throughput_texts_per_s']:.1f} passages/s at batch {spec.batch_size}, "
        f"query p50 {record['latency_ms_p50']:.1f} ms / p95 {record['latency_ms_p95']:.1f} ms, "
        f"peak RSS {record['peak_rss_mb']:.0f} MB ({time.perf_counter() - t0:.1f}s)"
    )
    busy = busy_warning(record.get("load"))
    return ProbeResult(record, (busy, line) if busy else (line,))
