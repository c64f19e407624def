"""The HTTP side of the OpenAI-compatible API clients: their errors, what is retried, Retry-After, server messages."""

from __future__ import annotations

import email.utils
import json
import math
import time
from typing import Any

from embbench.errors import ModelLoadError

MAX_WAIT = 300.0  # no single wait (Retry-After or back-off) is longer than this
USER_AGENT = "embbench (OpenAI-compatible embeddings client)"


def json_request(
    body: dict[str, Any] | None, key: str | None, agent: str = USER_AGENT
) -> tuple[dict[str, str], bytes | None]:
    """Headers and body of one JSON request to an OpenAI-compatible server (the bearer key only when there is one):
    the embeddings backend and the question generator's chat client send the same shape."""
    headers = {"Accept": "application/json", "User-Agent": agent}
    data = None
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers, data


class EmbeddingAPIError(ModelLoadError):
    """The server kept failing (5xx, 429, no connection) after every retry, or answered nonsense.

    A ModelLoadError, so the runner stops this model instead of retrying on each of its remaining tasks.
    """


class RedirectRefused(EmbeddingAPIError):
    """The server answered with a redirect: never followed, since urllib would resend the key to the new address."""


class Retryable(Exception):
    """One failed attempt that may succeed later; `wait` is the server's Retry-After, if it gave one."""

    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


def number(value: Any, *, integer: bool = False) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if integer else isinstance(value, (int, float)) and math.isfinite(value)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class NotFound(Exception):
    """HTTP 404/405: the path is not served (a wrong base_url, or a server without /models)."""


class Rejected(Exception):
    """Another 4xx: the server refused this request (a parameter it does not accept, an unknown model...)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def retryable_status(status: int) -> bool:
    """408, 429 and the 5xx that may pass (not 501 Not Implemented, 505 HTTP Version Not Supported)."""
    return status in (408, 429) or (status >= 500 and status not in (501, 505))


def server_message(text: str) -> str:
    """The error message of an OpenAI-style ({"error": {"message": ...}}) or FastAPI-style ({"detail": ...}) body."""
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        for key in ("detail", "message"):
            if body.get(key):
                return str(body[key])
    return text.strip()[:200]
