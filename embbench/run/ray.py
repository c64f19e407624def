"""`embbench run --executor ray`: encode on a Ray cluster, evaluate and write results on the driver.

The embedding seam stays the one seam: a model's tasks run on the driver exactly as locally (embed.Embedder,
the cache, the result files), with a `RayPoolEncoder` as the model's encoder. Its encode() cuts the texts into
chunks and spreads them over a pool of Ray actors (`EncoderActor`), each of which loads the model once through
embbench.encode.backends.load_encoder; the vectors come back to the driver as float32. Several models run at once (a
thread per model, each with its own pool), so a small and a large model can share a node or a GPU
(`num_gpus: 0.5` in models.yaml).

Identical scores: sentence-transformers sorts a call's texts by length and encodes them in batches of
batch_size, and a text's vector depends (by ~1e-7) on the padding of its batch. The chunks therefore follow
that same order and are cut at multiples of the batch size, and a worker encodes a chunk one batch per call,
so every batch holds the texts it holds in one local call: the vectors, and so every score, are bit-identical
to a local run on the same hardware. The identity (the cache key) is the local encoder's, so the cache and the
results are shared with local runs; a worker whose model differs from the driver's is refused.

Fault tolerance: actors restart (max_restarts) and a chunk cut short by a dead worker is retried
(max_task_retries); a worker that stays dead is dropped and its chunks go to the others.

Ray is imported only here, and this module only under --executor ray.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embbench.encode.backends import Ranker, load_encoder
from embbench.encode.embedder import BadVectors
from embbench.errors import ModelLoadError, UserError
from embbench.spec import ModelSpec, TaskSpec

Log = Callable[[str], None]

RAY_EXTRA = "pip install 'embbench[ray]'"
# backends whose encoding is spread over workers; openai stays on the driver (the API is the bottleneck and its
# requests_per_minute limit is per process), bm25 ranks on the driver
POOLED_BACKENDS = {"sentence-transformers", "navec", "model2vec"}
MIN_CHUNK, MAX_CHUNK = 64, 4096  # texts per unit of work (rounded up to a multiple of the batch size)
CHUNKS_PER_WORKER = 4  # aim: this many chunks per worker per call, for load balance
IN_FLIGHT = 2  # chunks queued per worker, so a worker never waits for the driver
MAX_RESTARTS = 3  # per actor (a restart reloads the model)
MAX_TASK_RETRIES = 3  # per chunk, on a dead actor
MAX_ATTEMPTS = 3  # per chunk, moving it to another worker after its own stays dead
WAIT_LOG_SECONDS = 60.0  # "waiting for resources" line while no worker of a model has started
KILL_ENV = "EMBBENCH_TEST_RAY_KILL"  # test-only: a file path; the worker that deletes it exits at once
FORWARD_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM", "HF_ENDPOINT", KILL_ENV)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray", "Ray is not installed", fix=RAY_EXTRA) from None
    return ray


def connect(address: str | None, log: Log) -> tuple[Any, bool]:
    """ray.init: join `address` (auto, HOST:PORT, ray://HOST:PORT) or start a local cluster; (ray, we_started_it)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    env = {k: os.environ[k] for k in FORWARD_ENV if k in os.environ}
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}} if env else {}
    if address is None and not os.environ.get("RAY_ADDRESS"):
        kwargs.update(include_dashboard=False)
    try:
        ray.init(address=address, logging_level="warning", **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(
            "--address", f"cannot reach a Ray cluster at {address!r} ({exc})".splitlines()[0], fix="see the README"
        ) from None
    res = ray.cluster_resources()
    log(
        f"ray: {len(ray.nodes())} node(s), {res.get('CPU', 0):g} CPU(s), {res.get('GPU', 0):g} GPU(s)"
        + ("" if address else " (local cluster)")
    )
    return ray, address is None


# ------------------------------------------------------------------------------------------ the worker


class EncoderActor:
    """One Ray worker process holding one model: loaded once, then encodes chunks until the pool ends."""

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.encoder = load_encoder(spec)

    def load(self) -> dict[str, Any]:
        """Load the weights now (not on the first chunk) and describe the worker to the driver."""
        enc = self.encoder
        getattr(enc, "model", None)  # sentence-transformers / static: the lazy property loads the weights
        model = getattr(enc, "_model", None)
        sentence_transformers = self.spec.backend == "sentence-transformers"
        flatten = getattr(model, "_can_flatten_inputs", None)
        return {
            "identity": enc.identity(),
            "provenance": enc.provenance(),
            "load_seconds": getattr(enc, "load_seconds", None),
            "batch_size": getattr(enc, "batch_size", None) if sentence_transformers else None,
            "flatten": bool(flatten()) if callable(flatten) else False,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }

    def encode(self, texts: list[str], prompt: str, batch_size: int | None) -> tuple[np.ndarray, int]:
        """(float32 vectors of a chunk, this process's id); with batch_size, one encoder call per batch (see the
        module docstring)."""
        kill = os.environ.get(KILL_ENV)  # test-only: die once, mid-run (tests/test_ray.py)
        if kill:
            try:
                os.unlink(kill)
            except FileNotFoundError:
                pass
            else:
                os._exit(1)
        if not batch_size:
            return np.asarray(self.encoder.encode(texts, prompt), dtype=np.float32), os.getpid()
        parts = [self.encoder.encode(texts[i : i + batch_size], prompt) for i in range(0, len(texts), batch_size)]
        return np.concatenate([np.asarray(p, dtype=np.float32) for p in parts]), os.getpid()

    def provenance(self) -> dict[str, Any]:
        return self.encoder.provenance()

    def speed(self, name: str) -> tuple[dict[str, Any], list[str]]:
        """The speed probe on this worker's hardware: (the speed record, its log lines)."""
        from embbench.speed.probe import measure, speed_path

        lines: list[str] = []
        with tempfile.TemporaryDirectory() as tmp:
            measure(
                self.encoder,
                name,
                Path(tmp),
                batch_size=self.spec.batch_size,
                prompts=self.spec.prompts,
                log=lines.append,
            )
            return json.loads(speed_path(Path(tmp), name).read_text(encoding="utf-8")), lines


# ------------------------------------------------------------------------------------------ the plan


def length_order(texts: Sequence[str], flatten: bool = False) -> np.ndarray:
    """The order in which SentenceTransformer.encode batches texts: longest first (np.argsort of -len, as it
    does), interleaved longest/shortest when the model flattens its inputs (flash attention, no padding)."""
    order = np.argsort([-len(t) for t in texts])
    if flatten:
        n = len(order)
        mixed = np.empty(n, dtype=order.dtype)
        mixed[0::2] = order[: (n + 1) // 2]
        mixed[1::2] = order[n - 1 : (n - 1) // 2 : -1]
        order = mixed
    return order


def chunk_bounds(n: int, workers: int, batch_size: int | None) -> list[tuple[int, int]]:
    """[start, end) of each chunk: about CHUNKS_PER_WORKER per worker, MIN_CHUNK..MAX_CHUNK texts, cut at
    multiples of batch_size."""
    size = min(MAX_CHUNK, max(MIN_CHUNK, math.ceil(n / max(1, workers * CHUNKS_PER_WORKER))))
    if batch_size:
        size = math.ceil(size / batch_size) * batch_size
    return [(s, min(n, s + size)) for s in range(0, n, size)]


# ------------------------------------------------------------------------------------------ the pool


class RayPoolEncoder:
    """The Encoder protocol over a pool of EncoderActors; identity, prompts and token counts from a local
    instance of the same backend (which never loads the weights)."""

    def __init__(
        self,
        spec: ModelSpec,
        local: Any,
        ray: Any,
        *,
        workers: int | None = None,
        log: Log | None = None,
    ):
        self.spec = spec
        self.local = local
        self.ray = ray
        self.similarity_fn = local.similarity_fn
        self._identity = local.identity()
        self.log = log or (lambda _m: None)
        # the workers load what the driver resolved: a hub model at the driver's commit, on CPU without num_gpus
        changes: dict[str, Any] = {}
        if getattr(local, "revision", None) and not spec.revision:
            changes["revision"] = local.revision
        if not spec.num_gpus and spec.device is None:
            changes["device"] = "cpu"
        self.remote_spec = dataclasses.replace(spec, **changes)
        res = ray.cluster_resources()
        if spec.num_gpus:
            fit = math.floor(res.get("GPU", 0) / spec.num_gpus + 1e-9)
            if fit < 1:
                raise UserError(
                    spec.file or "models.yaml",
                    f"model '{spec.name}' asks for num_gpus {spec.num_gpus:g}, the cluster has {res.get('GPU', 0):g}",
                    field="num_gpus",
                    fix="remove num_gpus to run on CPU, or add GPU nodes",
                )
        else:
            fit = max(1, math.floor(res.get("CPU", 1)))
        self.n_workers = max(1, min(fit, workers) if workers else fit)
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

    def __getattr__(self, name: str) -> Any:
        # token counting (truncation figures) runs on the driver with the local tokenizer, never the weights
        if name in ("count_tokens", "max_tokens"):
            return getattr(self.local, name)
        raise AttributeError(name)

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """Vectors of texts, in their order, encoded chunk by chunk on the pool."""
        if not texts:
            return self._empty()
        with self.lock:
            return self._encode(list(texts), prompt)

    def _empty(self) -> np.ndarray:
        dim = (self.info or {}).get("provenance", {}).get("dim") or 0
        return np.zeros((0, dim), dtype=np.float32)

    # --- the pool -----------------------------------------------------------------------------------------------
    def start(self, n: int | None = None) -> None:
        """Create the actors (n, default the pool's size; once); each loads the model in the background."""
        if self.actors:
            return
        n = n or self.n_workers
        ray = self.ray
        options: dict[str, Any] = {
            "max_restarts": MAX_RESTARTS,
            "max_task_retries": MAX_TASK_RETRIES,
            "num_cpus": 1,
            "num_gpus": self.spec.num_gpus or 0,
        }
        cls = ray.remote(EncoderActor).options(**options)
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

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        ray = self.ray
        self.start()
        while self.info is None:  # the plan needs the worker's batch size and whether it flattens inputs
            self._wait_workers()
        batch = self.info["batch_size"]
        order = length_order(texts, self.info["flatten"]) if batch else np.arange(len(texts))
        bounds = chunk_bounds(len(texts), self.n_workers, batch)
        queue = deque(range(len(bounds)))
        attempts = [0] * len(bounds)
        busy = [0] * len(self.actors)
        inflight: dict[Any, tuple[int, int]] = {}  # reference -> (chunk, worker)
        out: np.ndarray | None = None
        done_chunks = 0
        while queue or inflight:
            for i in sorted(self.ready, key=lambda w: busy[w]):
                while queue and busy[i] < IN_FLIGHT:
                    c = queue.popleft()
                    s, e = bounds[c]
                    attempts[c] += 1
                    ref = self.actors[i].encode.remote([texts[j] for j in order[s:e]], prompt, batch)
                    inflight[ref] = (c, i)
                    busy[i] += 1
            if not inflight and not self.loading:
                raise ModelLoadError(f"every Ray worker of model '{self.spec.name}' died")
            done, _ = ray.wait([*inflight, *self.loading], num_returns=1)
            for ref in done:
                if ref in self.loading:
                    self._loaded(ref)
                    continue
                c, i = inflight.pop(ref)
                busy[i] -= 1
                s, e = bounds[c]
                try:
                    vecs, pid = ray.get(ref)
                except ray.exceptions.RayActorError as exc:  # dead beyond its restarts: drop it, move the chunk
                    self.ready.discard(i)
                    self.dead.add(i)
                    self.log(f"{self.spec.name} worker {i + 1}: lost ({first_line(exc)}); chunk {c + 1} moves")
                    if attempts[c] >= MAX_ATTEMPTS:
                        msg = f"chunk {c + 1} of model '{self.spec.name}' failed {attempts[c]} times"
                        raise ModelLoadError(msg) from None
                    queue.appendleft(c)
                    continue
                except ray.exceptions.RayTaskError as exc:
                    raise unwrap(exc) from None
                if out is None:
                    out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
                if vecs.ndim != 2 or vecs.shape != (e - s, out.shape[1]):
                    raise BadVectors(f"a worker returned an array of shape {vecs.shape} for {e - s} texts")
                out[order[s:e]] = vecs
                done_chunks += 1
                if pid != self.pids.get(i):  # Ray restarted the worker and retried the chunk on it
                    self.log(f"{self.spec.name} worker {i + 1}: restarted (pid {self.pids.get(i)} -> {pid})")
                    self.pids[i] = pid
                self.log(f"{self.spec.name} worker {i + 1}: chunk {done_chunks}/{len(bounds)} ({e - s} texts)")
        assert out is not None
        return out

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

    def speed(self) -> tuple[dict[str, Any], list[str]]:
        """The speed probe, run by one worker (the only one started when no task needed the model)."""
        self.start(1)
        while self.info is None:
            self._wait_workers()
        i = min(self.ready)
        try:
            return self.ray.get(self.actors[i].speed.remote(self.spec.name))
        except self.ray.exceptions.RayTaskError as exc:
            raise unwrap(exc) from None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def unwrap(exc: Any) -> BaseException:
    """The worker's own exception (ModelLoadError, a CUDA error...) instead of Ray's wrapper with its traceback."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else RuntimeError(first_line(exc))


# ------------------------------------------------------------------------------------------ the run


def make_encoder(spec: ModelSpec, ray: Any, workers: int | None, log: Log) -> Any:
    """The encoder run() uses for a model: a RayPoolEncoder, or the local one for rankers and API backends."""
    local = load_encoder(spec)
    if isinstance(local, Ranker) or spec.backend not in POOLED_BACKENDS:
        log(f"{spec.name}: runs on the driver ({spec.backend} backend)")
        return local
    return RayPoolEncoder(spec, local, ray, workers=workers, log=log)


def run_ray(
    models: list[ModelSpec],
    tasks: list[TaskSpec],
    output: Path,
    *,
    force: bool = False,
    cache: Any = None,
    log: Log | None = None,
    speed: bool = False,
    address: str | None = None,
    workers: int | None = None,
) -> Any:
    """runner.run over a Ray cluster: a thread per model, each with its own pool; returns one RunSummary."""
    from embbench.run.runner import RunSummary, load_data, run, stderr_log
    from embbench.speed.probe import probe_model, speed_path, wants_probe

    log = log or stderr_log
    ray, started = connect(address, log)
    summary = RunSummary()
    errors: list[BaseException] = []
    try:
        data = load_data(tasks, log, summary)
        tasks = [t for t in tasks if t.name in data]
        if not tasks:
            return summary
        subs: list[Any] = [None] * len(models)

        def one_model(k: int, spec: ModelSpec) -> None:
            mlog = (lambda m: log(f"[{spec.name}] {m.lstrip()}")) if len(models) > 1 else log
            pools: list[Any] = []

            def factory(s: ModelSpec) -> Any:
                enc = make_encoder(s, ray, workers, lambda m: mlog(f"    {m}"))
                pools.append(enc)
                return enc

            sub = RunSummary()
            try:
                sub = run(
                    [spec],
                    tasks,
                    output,
                    force=force,
                    cache=cache,
                    log=mlog,
                    speed=False,
                    encoder_factory=factory,
                    data=data,
                )
                stopped = sub.unavailable or any(task == "*" for _, task, *_ in sub.failed)  # as runner.run
                if speed and not stopped and wants_probe(spec, output, force):
                    enc = pools[0] if pools else factory(spec)
                    if isinstance(enc, RayPoolEncoder):
                        mlog(f"  speed probe on a Ray worker ({speed_path(output, spec.name)})")
                        ray_probe(spec, enc, output, sub, mlog)
                    elif not isinstance(enc, Ranker):
                        mlog(f"  speed probe ({speed_path(output, spec.name)})")
                        probe_model(spec, enc, output, sub, mlog)
            except UserError as exc:
                errors.append(exc)
            except Exception as exc:
                mlog(f"  FAILED: {type(exc).__name__}: {exc}")
                sub.failed.append((spec.name, "*", f"{type(exc).__name__}: {exc}", False))
            finally:
                for enc in pools:
                    if isinstance(enc, RayPoolEncoder):
                        enc.close()
                subs[k] = sub

        threads = [
            threading.Thread(target=one_model, args=(k, s), name=f"embbench-{s.name}", daemon=True)
            for k, s in enumerate(models)
        ]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)
        if errors:
            raise errors[0]
        for sub in subs:
            if sub is None:
                continue
            for f in dataclasses.fields(summary):
                if f.name != "unavailable_tasks":
                    getattr(summary, f.name).extend(getattr(sub, f.name))
        return summary
    finally:
        if started:
            ray.shutdown()


def ray_probe(spec: ModelSpec, enc: RayPoolEncoder, output: Path, summary: Any, log: Log) -> None:
    """speed.probe_model's bookkeeping around a probe run by a worker; the driver writes the speed file."""
    from embbench.results import write_json_atomic
    from embbench.speed.probe import speed_path

    try:
        record, lines = enc.speed()
    except Exception as exc:
        log(f"    speed probe FAILED: {type(exc).__name__}: {exc}")
        summary.failed.append((spec.name, "speed", f"{type(exc).__name__}: {exc}", False))
        return
    for line in lines:
        log(f"    {line}")
    write_json_atomic(speed_path(output, spec.name), record)
    summary.speed.append(spec.name)
