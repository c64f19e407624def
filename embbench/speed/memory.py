"""Peak resident memory of this process over a block of code (the speed probe's peak_rss_mb)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path


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
