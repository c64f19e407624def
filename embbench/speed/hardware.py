"""The machine a speed probe ran on: CPU, threads, GPU, torch, device and dtype, and a short hostname hash.

Speed numbers only compare within one machine; reports use `hostname_hash` (and the rest) to warn when speed
files from different machines are mixed. The hostname itself is never written, only 12 hex digits of its sha256.
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import sys
import time
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def logical_threads() -> int:
    """Logical CPUs this process may run on (the affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def hostname_hash() -> str:
    """12 hex digits of sha256(hostname): tells machines apart without recording the name."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]


def _torch() -> Any:
    """torch if it is importable (every transformer backend needs it), else None."""
    if "torch" in sys.modules:
        return sys.modules["torch"]
    try:
        import torch
    except ImportError:
        return None
    return torch


def gpu_name(device: str | None) -> str | None:
    """The CUDA GPU's name when the model runs on one, else None."""
    torch = _torch()
    if torch is None or not device or not str(device).startswith("cuda") or not torch.cuda.is_available():
        return None
    try:
        return str(torch.cuda.get_device_name(torch.device(device)))
    except Exception:  # an odd device string: report the current device
        return str(torch.cuda.get_device_name())


def visible_gpus() -> int:
    """CUDA GPUs this process can see (0 without torch or CUDA); counted without creating a CUDA context."""
    torch = _torch()
    if torch is None:
        return 0
    try:
        return int(torch.cuda.device_count())
    except Exception:  # a broken driver: no GPU to run on either
        return 0


def fingerprint(device: str | None = None, dtype: str | None = None) -> dict[str, Any]:
    """{cpu, threads, gpu, torch, device, dtype, hostname_hash}: the speed file's `hardware` object.

    `threads` is torch's intra-op thread count (what CPU inference actually uses) when torch is present, else the
    logical CPUs available to the process; `cpu` carries both counts, e.g. "AMD EPYC 7B13 (2 logical CPUs)".
    """
    torch = _torch()
    logical = logical_threads()
    return {
        "cpu": f"{cpu_model()} ({logical} logical CPUs)",
        "threads": int(torch.get_num_threads()) if torch is not None else logical,
        "gpu": gpu_name(device),
        "torch": str(torch.__version__) if torch is not None else None,
        "device": str(device) if device else "cpu",
        "dtype": str(dtype).removeprefix("torch.") if dtype else "float32",
        "hostname_hash": hostname_hash(),
    }


Snapshot = tuple[float, float, float]  # (monotonic seconds, busy CPU-seconds of the machine, of this process)


def cpu_snapshot() -> Snapshot | None:
    """The machine's busy CPU-seconds so far (/proc/stat: all but idle and iowait) and this process's own (os.times),
    with the time; None where there is no /proc/stat."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    own = os.times()
    return time.monotonic(), (sum(ticks) - idle) / hz, own.user + own.system


def others_cores(start: Snapshot | None, end: Snapshot | None) -> float | None:
    """Cores other processes kept busy on average between two snapshots (the machine's busy CPU time less this
    process's, per second of wall time)."""
    if start is None or end is None or end[0] <= start[0]:
        return None
    return max(0.0, ((end[1] - start[1]) - (end[2] - start[2])) / (end[0] - start[0]))


def busy_share(cpus: int) -> float:
    """Other processes' average cores from which a probe counts as taken on a busy machine: a quarter of the CPUs,
    at least half a core (as report/facts.busy reads it)."""
    return max(0.5, cpus / 4)


def load(others: float | None = None) -> dict[str, Any] | None:
    """{load_1m, logical_cpus, others_cores}: the 1-minute load average (which counts this process too), the CPUs,
    and the cores other processes used during the probe (None where unknown); the report flags a probe as taken on
    a busy machine when others_cores >= busy_share(cpus) (files without it: when load_1m >= logical_cpus)."""
    try:
        load_1m = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    out: dict[str, Any] = {"load_1m": round(load_1m, 2), "logical_cpus": logical_threads()}
    if others is not None:
        out["others_cores"] = round(others, 2)
    return out
