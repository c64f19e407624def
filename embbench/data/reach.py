"""Whether the Hugging Face hub can be reached: one short probe per endpoint and process, before any hub task loads.

Without it an unreachable hub costs minutes of silent retries per dataset (datasets and huggingface_hub time out
one request at a time); with it every hub task is reported unavailable at once, with the hint.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request

DEFAULT_ENDPOINT = "https://huggingface.co"
PROBE_SECONDS = 3.0
HINT = "check the network (or HF_ENDPOINT), or set HF_HUB_OFFLINE=1 to use the datasets already in the local cache"
_TRUE = {"1", "on", "yes", "true"}
_seen: dict[str, str | None] = {}  # endpoint -> why it is unreachable (None: reachable)


def offline() -> bool:
    """HF_HUB_OFFLINE (or HF_DATASETS_OFFLINE) is set: the libraries read their local cache only, fast."""
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def endpoint() -> str:
    """$HF_ENDPOINT (as huggingface_hub reads it), else the public hub."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def unreachable_reason(timeout: float = PROBE_SECONDS) -> str | None:
    """None when the hub answers (any HTTP status) or the run is offline on purpose; else the one-line reason.

    Probed once per endpoint and process with a HEAD request of `timeout` seconds."""
    if offline():
        return None
    url = endpoint()
    if url not in _seen:
        _seen[url] = _probe(url, timeout)
    return _seen[url]


def _probe(url: str, timeout: float) -> str | None:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return None
    except urllib.error.HTTPError:  # the server answered: reachable
        return None
    except (OSError, ValueError) as exc:  # URLError, refused, timed out, DNS, a malformed endpoint
        why = getattr(exc, "reason", None) or exc
        return f"the Hugging Face hub ({url}) is unreachable ({why}); {HINT}"
