"""Test-only fault injection: EMBBENCH_TEST_KILL_AT="point:N" SIGKILLs this process at the Nth hit of `point`.

Points: "encode" (encode/embedder.py, before a model encodes a chunk of new texts), "cache_write" (cache.py, after a
segment's vectors are on disk and before its keys), "result_write" (results.py, after a result's temporary file is
written and before it is renamed into place). tests/run/test_reliability.py uses it to kill a run at exact places.
Unset (always, outside those tests), hit() is one comparison.
"""

from __future__ import annotations

import os
import signal

_POINT, _, _N = os.environ.get("EMBBENCH_TEST_KILL_AT", "").partition(":")
_LEFT = int(_N) if _N.isdigit() else 1
_ACTIVE = bool(_POINT)


def hit(point: str) -> None:
    """Count one pass through `point`; SIGKILL this process at the Nth one when the variable names it."""
    global _LEFT
    if not _ACTIVE or point != _POINT:
        return
    _LEFT -= 1
    if _LEFT <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
