"""`embbench run --executor ray`: RayExecutor, the Executor that encodes on a Ray cluster.

The embedding seam stays the one seam: a model's tasks run on the driver exactly as locally (the runner, the
Embedder, the cache, the result files), with a pool of Ray workers as the model's encoder
(run.ray_pool.RayPoolEncoder: each worker loads the model once; the vectors come back as float32, bit-identical
to a local run). Several models run at once (a thread per model, each with its own pool), so a small and a large
model can share a node or a GPU (`num_gpus: 0.5` in models.yaml).

Ray is imported only here, and this module only under --executor ray. It never imports run.runner (an
import-linter contract): the runner drives, the executor only says where things run.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from embbench.encode.backends import Encoder, Ranker, backend, load_encoder
from embbench.errors import UserError
from embbench.run.ray_pool import KILL_ENV, RayPoolEncoder, pool_encoder
from embbench.run.summary import Progress, Sink, model_sink
from embbench.spec import ModelSpec
from embbench.speed.probe import ProbeResult, probe_spec

T = TypeVar("T")

RAY_EXTRA = "pip install 'embbench[ray]'"
FORWARD_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM", "HF_ENDPOINT", KILL_ENV)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray", "Ray is not installed", fix=RAY_EXTRA) from None
    return ray


def connect(address: str | None, sink: Sink) -> tuple[Any, bool]:
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
    sink(
        Progress(
            f"ray: {len(ray.nodes())} node(s), {res.get('CPU', 0):g} CPU(s), {res.get('GPU', 0):g} GPU(s)"
            + ("" if address else " (local cluster)")
        )
    )
    return ray, address is None


class RayExecutor:
    """Models in threads, each encoding on its own pool of workers; rankers and API backends stay on the driver."""

    def __init__(self, address: str | None = None, workers: int | None = None):
        self.address = address
        self.workers = workers
        self.ray: Any = None

    @contextlib.contextmanager
    def session(self, sink: Sink) -> Iterator[None]:
        self.ray, started = connect(self.address, sink)
        try:
            yield
        finally:
            if started:
                self.ray.shutdown()

    @contextlib.contextmanager
    def encoder(self, spec: ModelSpec, sink: Sink) -> Iterator[Encoder | Ranker]:
        log = model_sink(sink, spec.name, 2)
        local = load_encoder(spec)
        if isinstance(local, Ranker) or not isinstance(local, Encoder) or not backend(spec).pooled:
            log(f"{spec.name}: runs on the driver ({spec.backend} backend)")
            yield local
            return
        pool = pool_encoder(spec, local, self.ray, self.workers, log)
        try:
            yield pool
        finally:
            pool.close()

    def map_models(self, fn: Callable[[ModelSpec], T], specs: Sequence[ModelSpec]) -> list[T]:
        """fn in a thread per model; an exception is raised once every thread has ended (a UserError first)."""
        out: list[Any] = [None] * len(specs)
        errors: list[BaseException] = []

        def one(k: int, spec: ModelSpec) -> None:
            try:
                out[k] = fn(spec)
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)

        threads = [
            threading.Thread(target=one, args=(k, s), name=f"embbench-{s.name}", daemon=True)
            for k, s in enumerate(specs)
        ]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)  # a short join keeps Ctrl-C responsive
        if errors:
            raise next((e for e in errors if isinstance(e, UserError)), errors[0])
        return out

    def concurrency(self, n_models: int) -> int:
        """Every model at once (a thread each): their evaluations on the driver share its cores."""
        return max(1, n_models)

    def probe(
        self, spec: ModelSpec, encoder: Encoder, *, n_passages: int | None = None, n_queries: int | None = None
    ) -> ProbeResult:
        """On a worker for a pooled model (its hardware is the one that encodes), else here."""
        if isinstance(encoder, RayPoolEncoder):
            return encoder.speed(n_passages, n_queries)
        return probe_spec(spec, encoder, n_passages=n_passages, n_queries=n_queries)
