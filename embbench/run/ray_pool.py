"""A model's pool of Ray workers behind the Encoder protocol (RayPoolEncoder over EncoderActors).

Identical scores: a text's vector depends (by ~1e-7) on the padding of its batch. A backend with that property
says how one local encode() call batches its texts (backends.BatchOrdered.batch_order, asked of a worker, which
holds the loaded model); the chunks of work are runs of whole batches in that order, and a worker encodes a chunk
one batch per call, so every batch holds the texts it holds in one local call: the vectors, and so every score,
are bit-identical to a local run on the same hardware. The identity (the cache key) is the local encoder's, so
the cache and the results are shared with local runs; a worker whose model differs from the driver's is refused.

Fault tolerance: actors restart (max_restarts) and a chunk cut short by a dead worker is retried
(max_task_retries); a worker that stays dead is dropped and its chunks go to the others.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embbench.encode.backends import BatchOrdered, Encoder, LoadTimed, TokenCounter, load_encoder
from embbench.encode.embedder import BadVectors
from embbench.errors import ModelLoadError, UserError
from embbench.spec import ModelSpec
from embbench.speed.probe import ProbeResult, ensure_loaded, probe_spec

MIN_CHUNK, MAX_CHUNK = 64, 4096  # texts per unit of work (rounded up to whole batches)
CHUNKS_PER_WORKER = 4  # aim: this many chunks per worker per call, for load balance
IN_FLIGHT = 2  # chunks queued per worker, so a worker never waits for the driver
MAX_RESTARTS = 3  # per actor (a restart reloads the model)
MAX_TASK_RETRIES = 3  # per chunk, on a dead actor
MAX_ATTEMPTS = 3  # per chunk, moving it to another worker after its own stays dead
WAIT_LOG_SECONDS = 60.0  # "waiting for resources" line while no worker of a model has started
KILL_ENV = "EMBBENCH_TEST_RAY_KILL"  # test-only: a file path; the worker that deletes it exits at once


# ------------------------------------------------------------------------------------------ the worker


class EncoderActor:
    """One Ray worker process holding one model: loaded once, then encodes chunks until the pool ends."""

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        encoder = load_encoder(spec)
        if not isinstance(encoder, Encoder):
            raise ModelLoadError(f"backend '{spec.backend}' has no encode()")
        self.encoder: Encoder = encoder

    def load(self) -> dict[str, Any]:
        """Load the weights now (not on the first chunk) and describe the worker to the driver."""
        enc = self.encoder
        ensure_loaded(enc)
        return {
            "identity": enc.identity(),
            "provenance": enc.provenance(),
            "load_seconds": enc.load_seconds if isinstance(enc, LoadTimed) else None,
            "batched": isinstance(enc, BatchOrdered),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }

    def batch_order(self, texts: list[str]) -> list[np.ndarray] | None:
        """The batches a local encode(texts) forms (None: the backend's vectors do not depend on them)."""
        return self.encoder.batch_order(texts) if isinstance(self.encoder, BatchOrdered) else None

    def encode(self, texts: list[str], prompt: str, batches: list[int] | None) -> tuple[np.ndarray, int]:
        """(float32 vectors of a chunk, this process's id); with batches (their sizes), one encoder call per
        batch (see the module docstring)."""
        kill = os.environ.get(KILL_ENV)  # test-only: die once, mid-run (tests/test_ray.py)
        if kill:
            try:
                os.unlink(kill)
            except FileNotFoundError:
                pass
            else:
                os._exit(1)
        if not batches:
            return np.asarray(self.encoder.encode(texts, prompt), dtype=np.float32), os.getpid()
        starts = np.cumsum([0, *batches])
        parts = [self.encoder.encode(texts[s:e], prompt) for s, e in itertools.pairwise(starts)]
        return np.concatenate([np.asarray(p, dtype=np.float32) for p in parts]), os.getpid()

    def provenance(self) -> dict[str, Any]:
        return self.encoder.provenance()

    def speed(self, n_passages: int | None, n_queries: int | None) -> ProbeResult:
        """The speed probe on this worker's hardware."""
        return probe_spec(self.spec, self.encoder, n_passages=n_passages, n_queries=n_queries)


# ------------------------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class Chunk:
    """A unit of work: which texts (indices into the call's texts), and the sizes of the batches to encode one
    by one (None: the whole chunk in one call)."""

    indices: np.ndarray
    batches: list[int] | None


def chunk_plan(n: int, workers: int, batches: list[np.ndarray] | None) -> list[Chunk]:
    """About CHUNKS_PER_WORKER chunks per worker of MIN_CHUNK..MAX_CHUNK texts, each made of whole batches."""
    size = min(MAX_CHUNK, max(MIN_CHUNK, math.ceil(n / max(1, workers * CHUNKS_PER_WORKER))))
    if batches is None:
        return [Chunk(np.arange(s, min(n, s + size)), None) for s in range(0, n, size)]
    per = max(1, math.ceil(size / max(len(b) for b in batches)))  # batches per chunk
    groups = [batches[i : i + per] for i in range(0, len(batches), per)]
    return [Chunk(np.concatenate(g), [len(b) for b in g]) for g in groups]


@dataclass
class _Call:
    """The state of one encode() call spread over the pool."""

    texts: list[str]
    prompt: str
    chunks: list[Chunk]
    queue: deque[int]
    attempts: list[int]
    busy: list[int]
    inflight: dict[Any, tuple[int, int]] = field(default_factory=dict)  # reference -> (chunk, worker)
    out: np.ndarray | None = None
    done: int = 0


# ------------------------------------------------------------------------------------------ the pool


def worker_spec(spec: ModelSpec, local: Encoder) -> ModelSpec:
    """What the workers load: what the driver resolved (a hub model at its commit), on CPU without num_gpus."""
    changes: dict[str, Any] = {}
    revision = getattr(local, "revision", None)  # a hub model's resolved commit (sentence-transformers)
    if revision and not spec.revision:
        changes["revision"] = revision
    if not spec.num_gpus and spec.device is None:
        changes["device"] = "cpu"
    return dataclasses.replace(spec, **changes)


def pool_size(spec: ModelSpec, resources: dict[str, float], workers: int | None) -> int:
    """Workers for a model: as many as the cluster fits (GPUs by num_gpus, else CPUs), at most `workers`."""
    if spec.num_gpus:
        fit = math.floor(resources.get("GPU", 0) / spec.num_gpus + 1e-9)
        if fit < 1:
            raise UserError(
                spec.file or "models.yaml",
                f"model '{spec.name}' asks for num_gpus {spec.num_gpus:g}, the cluster has {resources.get('GPU', 0):g}",
                field="num_gpus",
                fix="remove num_gpus to run on CPU, or add GPU nodes",
            )
    else:
        fit = max(1, math.floor(resources.get("CPU", 1)))
    return max(1, min(fit, workers) if workers else fit)


class RayPoolEncoder:
    """The Encoder protocol over a pool of EncoderActors; identity and prompts from a local instance of the same
    backend (which never loads the weights)."""

    def __init__(
        self,
        spec: ModelSpec,
        local: Encoder,
        ray: Any,
        *,
        workers: int | None = None,
        log: Callable[[str], None] | None = None,
    ):
        self.spec = spec
        self.local = local
        self.ray = ray
        self.similarity_fn = local.similarity_fn
        self._identity = local.identity()
        self.log = log or (lambda _m: None)
        self.remote_spec = worker_spec(spec, local)
        self.n_workers = pool_size(spec, ray.cluster_resources(), workers)
        self.actors: list[Any] = []
        self.loading: dict[Any, int] = {}  # load() reference -> worker index
        self.ready: set[int] = set()
        self.dead: set[int] = set()
        self.info: dict[str, Any] | None = None
        self.pids: dict[int, int] = {}  # worker -> its process id (a new one after a restart)
        self.lock = threading.Lock()

    # --- the Encoder protocol -----------------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        return self._identity

    def provenance(self) -> dict[str, Any]:
        """A worker's provenance (device, dim, load time...) once one has run, plus how the run was spread."""
        if self.info is None:
            return self.local.provenance()
        info = dict(self.info["provenance"])
        info["executor"] = {"kind": "ray", "workers": self.n_workers, "num_gpus": self.spec.num_gpus}
        return info

    def builtin_prompts(self) -> dict[str, str]:
        return self.local.builtin_prompts()

    @property
    def load_seconds(self) -> float | None:
        return None if self.info is None else self.info.get("load_seconds")

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """Vectors of texts, in their order, encoded chunk by chunk on the pool."""
        if not texts:
            dim = (self.info or {}).get("provenance", {}).get("dim") or 0
            return np.zeros((0, dim), dtype=np.float32)
        with self.lock:
            return self._encode(list(texts), prompt)

    # --- the pool -----------------------------------------------------------------------------------------------
    def start(self, n: int | None = None) -> None:
        """Create the actors (n, default the pool's size; once); each loads the model in the background."""
        if self.actors:
            return
        n = n or self.n_workers
        options: dict[str, Any] = {
            "max_restarts": MAX_RESTARTS,
            "max_task_retries": MAX_TASK_RETRIES,
            "num_cpus": 1,
            "num_gpus": self.spec.num_gpus or 0,
        }
        cls = self.ray.remote(EncoderActor).options(**options)
        self.actors = [cls.remote(self.remote_spec) for _ in range(n)]
        self.loading = {a.load.remote(): i for i, a in enumerate(self.actors)}
        where = f"{self.spec.num_gpus:g} GPU" if self.spec.num_gpus else "1 CPU"
        self.log(f"{self.spec.name}: starting {n} Ray worker(s), {where} each")

    def close(self) -> None:
        """End the pool's actors (frees their CPUs/GPUs for the other models)."""
        for a in self.actors:
            with contextlib.suppress(Exception):  # already dead
                self.ray.kill(a, no_restart=True)
        self.actors, self.loading, self.ready = [], {}, set()

    def _loaded(self, ref: Any) -> None:
        """A worker finished loading: check it holds the driver's model."""
        i = self.loading.pop(ref)
        try:
            info = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:
            self.dead.add(i)
            self.log(f"{self.spec.name} worker {i + 1}: died while loading ({first_line(exc)})")
            return
        except self.ray.exceptions.RayTaskError as exc:
            raise unwrap(exc) from None
        if info["identity"] != self._identity:
            raise ModelLoadError(
                f"the Ray worker on {info['host']} loaded a different model than the driver "
                f"(identity {info['identity']} != {self._identity}); install the same model and packages everywhere"
            )
        self.ready.add(i)
        self.pids[i] = info["pid"]
        if self.info is None:
            self.info = info
        self.log(f"{self.spec.name} worker {i + 1}: ready on {info['host']} (pid {info['pid']})")

    def _first_ready(self) -> int:
        """A worker that has loaded the model (waiting for one)."""
        while self.info is None or not self.ready:
            self._wait_workers()
        return min(self.ready)

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        self.start()
        worker = self._first_ready()  # the plan needs a loaded model: it knows how it batches
        batches = None
        if self.info and self.info["batched"]:
            batches = self._get(self.actors[worker].batch_order.remote(texts))
        chunks = chunk_plan(len(texts), self.n_workers, batches)
        call = _Call(texts, prompt, chunks, deque(range(len(chunks))), [0] * len(chunks), [0] * len(self.actors))
        while call.queue or call.inflight:
            self._dispatch(call)
            if not call.inflight and not self.loading:
                raise ModelLoadError(f"every Ray worker of model '{self.spec.name}' died")
            done, _ = self.ray.wait([*call.inflight, *self.loading], num_returns=1)
            for ref in done:
                if ref in self.loading:
                    self._loaded(ref)
                else:
                    self._collect(call, ref)
        assert call.out is not None
        return call.out

    def _dispatch(self, call: _Call) -> None:
        """Queue chunks on the ready workers, the least busy first, IN_FLIGHT at most each."""
        for i in sorted(self.ready, key=lambda w: call.busy[w]):
            while call.queue and call.busy[i] < IN_FLIGHT:
                c = call.queue.popleft()
                chunk = call.chunks[c]
                call.attempts[c] += 1
                texts = [call.texts[j] for j in chunk.indices]
                call.inflight[self.actors[i].encode.remote(texts, call.prompt, chunk.batches)] = (c, i)
                call.busy[i] += 1

    def _collect(self, call: _Call, ref: Any) -> None:
        """A chunk came back: place its vectors, or move it to another worker when its worker is dead."""
        c, i = call.inflight.pop(ref)
        call.busy[i] -= 1
        rows = call.chunks[c].indices
        try:
            vecs, pid = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:  # dead beyond its restarts: drop it, move the chunk
            self.ready.discard(i)
            self.dead.add(i)
            self.log(f"{self.spec.name} worker {i + 1}: lost ({first_line(exc)}); chunk {c + 1} moves")
            if call.attempts[c] >= MAX_ATTEMPTS:
                raise ModelLoadError(
                    f"chunk {c + 1} of model '{self.spec.name}' failed {call.attempts[c]} times"
                ) from None
            call.queue.appendleft(c)
            return
        except self.ray.exceptions.RayTaskError as exc:
            raise unwrap(exc) from None
        if call.out is None:
            call.out = np.empty((len(call.texts), vecs.shape[1]), dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape != (len(rows), call.out.shape[1]):
            raise BadVectors(f"a worker returned an array of shape {vecs.shape} for {len(rows)} texts")
        call.out[rows] = vecs
        call.done += 1
        if pid != self.pids.get(i):  # Ray restarted the worker and retried the chunk on it
            self.log(f"{self.spec.name} worker {i + 1}: restarted (pid {self.pids.get(i)} -> {pid})")
            self.pids[i] = pid
        self.log(f"{self.spec.name} worker {i + 1}: chunk {call.done}/{len(call.chunks)} ({len(rows)} texts)")

    def _get(self, ref: Any) -> Any:
        """ray.get, with the worker's own exception instead of Ray's wrapper."""
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:
            raise unwrap(exc) from None

    def _wait_workers(self) -> None:
        """Block until a worker has loaded the model (logging while the cluster has no room for one)."""
        if not self.loading:
            raise ModelLoadError(f"every Ray worker of model '{self.spec.name}' died while loading")
        t0 = time.monotonic()
        while True:
            done, _ = self.ray.wait(list(self.loading), num_returns=1, timeout=WAIT_LOG_SECONDS)
            if done:
                self._loaded(done[0])
                return
            self.log(
                f"{self.spec.name}: waiting {time.monotonic() - t0:.0f}s for a Ray worker "
                "(the cluster may lack free CPUs/GPUs while other models run)"
            )

    def speed(self, n_passages: int | None = None, n_queries: int | None = None) -> ProbeResult:
        """The speed probe, run by one worker (the only one started when no task needed the model)."""
        self.start(1)
        result: ProbeResult = self._get(self.actors[self._first_ready()].speed.remote(n_passages, n_queries))
        return result


class RayPoolCountingEncoder(RayPoolEncoder):
    """A pool whose backend counts tokens: counted on the driver with the local tokenizer, never the weights."""

    local: Any

    def count_tokens(self, texts: list[str], prompt: str) -> np.ndarray:
        counter: TokenCounter = self.local
        return counter.count_tokens(texts, prompt)

    @property
    def max_tokens(self) -> int | None:
        counter: TokenCounter = self.local
        return counter.max_tokens


def pool_encoder(
    spec: ModelSpec, local: Encoder, ray: Any, workers: int | None, log: Callable[[str], None]
) -> RayPoolEncoder:
    """The pool for a model, with the local encoder's capabilities."""
    cls = RayPoolCountingEncoder if isinstance(local, TokenCounter) else RayPoolEncoder
    return cls(spec, local, ray, workers=workers, log=log)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def unwrap(exc: Any) -> BaseException:
    """The worker's own exception (ModelLoadError, a CUDA error...) instead of Ray's wrapper with its traceback."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else RuntimeError(first_line(exc))
