"""Evaluation under bounded threads: OpenMP, BLAS and torch capped at the cores this process may use, shared among
the models an executor evaluates at once (scikit-learn's OpenMP/BLAS threads oversubscribe a small or busy machine).

The caps only lower a pool (a user's OMP_NUM_THREADS=1 stays 1). OpenMP's thread count belongs to the calling
thread, so each evaluation sets and restores its own (bounded_threads); torch's count is process-wide, so the
first evaluation to start lowers it and the last to end restores it; BLAS pools are process-wide too, and
threadpoolctl lets one thread at a time set them, so the runner caps them once around all its models (bounded_blas).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from embbench.speed import hardware

CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2 CPU quota ("max 100000" when unlimited)


def cgroup_cores(path: Path = CPU_MAX) -> int | None:
    """The cores a cgroup v2 CPU quota allows (rounded up), None without a quota."""
    try:
        quota, period = path.read_text().split()[:2]
        return None if quota == "max" else max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError, ZeroDivisionError):
        return None


def usable_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a container's CPU quota."""
    quota = cgroup_cores()
    cores = hardware.logical_threads()
    return max(1, min(cores, quota) if quota else cores)


THREADS_ENV = "EMBBENCH_EVAL_THREADS"  # an explicit count per evaluating model (1 helps most on a busy machine)


def busy_cores(cores: int) -> int:
    """Cores other work keeps busy now: the 1-minute load average above what is idle, read before this run
    computes anything (0 where the platform has no load average)."""
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return 0
    return min(cores, int(load))


def eval_threads(concurrent: int = 1) -> int:
    """Threads per evaluator when `concurrent` models are evaluated at once (at least 1): the cores left free by
    other work, shared among them; $EMBBENCH_EVAL_THREADS (a positive integer) overrides it.

    Why the load counts: OpenMP workers spin-wait for each other, so a pool as wide as the machine on cores other
    processes hold slows to a crawl (measured: clustering 17.6 s with 2 threads on a busy 2-core box, 4.5 s with 1)."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    cores = usable_cores()
    return max(1, (cores - busy_cores(cores)) // max(1, concurrent))


def load_pools() -> None:
    """Import what evaluation computes with (scikit-learn, with SciPy's BLAS and its OpenMP, and torch), so their
    pools exist before they are capped: a pool loaded inside a capped block would run uncapped."""
    import sklearn  # noqa: F401
    import torch  # noqa: F401


def _lower(libs: list[Any], n: int) -> list[tuple[Any, int]]:
    """Set every pool above n to n; the (pool, threads before) pairs to restore."""
    saved = []
    for lib in libs:
        before = int(lib.num_threads)
        if before > n:
            lib.set_num_threads(n)
            saved.append((lib, before))
    return saved


def _restore(saved: list[tuple[Any, int]]) -> None:
    for lib, before in reversed(saved):
        lib.set_num_threads(before)


@contextlib.contextmanager
def bounded_blas(n: int) -> Iterator[None]:
    """The process-wide BLAS pools (OpenBLAS, MKL) at most n threads while the block runs; entered by the thread that
    drives the run, around every model (threadpoolctl lets one thread at a time set a shared OpenBLAS pool)."""
    from threadpoolctl import ThreadpoolController  # scikit-learn's own dependency

    saved = _lower(ThreadpoolController().select(user_api="blas").lib_controllers, n)
    try:
        yield
    finally:
        _restore(saved)


_TORCH_LOCK = threading.Lock()
_TORCH: dict[str, int] = {"inside": 0, "before": 0}  # evaluations under the torch cap now; torch's count before


@contextlib.contextmanager
def _torch_cap(n: int) -> Iterator[None]:
    """torch's intra-op threads at most n while any evaluation runs: the count is process-wide (each new thread
    copies it when torch first runs there), so the first evaluation to enter lowers it and the last to leave
    restores it (one evaluation finishing must not lift the cap of another still running; encoding and the speed
    probe, outside evaluation, keep torch's own count)."""
    torch = sys.modules.get("torch")  # not imported: nothing of torch's to cap
    if torch is None:
        yield
        return
    with _TORCH_LOCK:
        if _TORCH["inside"] == 0:
            _TORCH["before"] = int(torch.get_num_threads())
            if _TORCH["before"] > n:
                torch.set_num_threads(n)
        _TORCH["inside"] += 1
    try:
        yield
    finally:
        with _TORCH_LOCK:
            _TORCH["inside"] -= 1
            if _TORCH["inside"] == 0 and _TORCH["before"] > n:
                torch.set_num_threads(_TORCH["before"])


@contextlib.contextmanager
def bounded_threads(n: int) -> Iterator[None]:
    """This thread's OpenMP pools (OpenMP's thread count belongs to the calling thread) and torch (process-wide,
    _torch_cap) at most n threads while the block runs: one evaluation."""
    from threadpoolctl import ThreadpoolController

    saved = _lower(ThreadpoolController().select(user_api="openmp").lib_controllers, n)
    try:
        with _torch_cap(n):
            yield
    finally:
        _restore(saved)
