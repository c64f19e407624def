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


def load() -> dict[str, Any] | None:
    """{load_1m, logical_cpus}: the 1-minute load average and the CPUs it compares with (None where the OS has no
    load average); the report flags a probe as taken on a busy machine when load_1m >= logical_cpus."""
    try:
        load_1m = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    return {"load_1m": round(load_1m, 2), "logical_cpus": logical_threads()}
