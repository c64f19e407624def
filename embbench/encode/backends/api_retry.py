"""What both API clients (embeddings, questions' chat) share: one rate limit over all threads and the retry loop."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from embbench.encode.backends.api_http import Retryable

T = TypeVar("T")


class RateLimit:
    """Spaces request starts, shared by every thread of one client.

    Each request takes the next free slot: starts are at least 60 / requests_per_minute seconds apart, and a
    request of t (estimated) tokens keeps the next one back by t * 60 / tokens_per_minute seconds. Slots are
    booked under a lock, so N workers together keep the limit one worker would.
    """

    def __init__(self, requests_per_minute: float | None = None, tokens_per_minute: float | None = None):
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._lock = threading.Lock()
        self._next_request = 0.0  # clock time before which no request may start
        self._next_tokens = 0.0  # the same for the token budget

    def reserve(self, now: float, tokens: int = 0) -> float:
        """Book the start of one request of `tokens` tokens; the seconds to wait from `now` before sending it."""
        if not self.requests_per_minute and not self.tokens_per_minute:
            return 0.0
        with self._lock:
            start = max(now, self._next_request, self._next_tokens)
            if self.requests_per_minute:
                self._next_request = start + 60.0 / self.requests_per_minute
            if self.tokens_per_minute:
                self._next_tokens = start + tokens * 60.0 / self.tokens_per_minute
        return start - now


@dataclass(frozen=True)
class Backoff:
    """How long to wait before retry n (0-based): base * 2**n seconds, capped, times a random factor in `spread`.

    spread (0, 1) is "full jitter": workers that failed together do not retry together.
    """

    base: float
    cap: float
    spread: tuple[float, float] = (0.0, 1.0)

    def wait(self, attempt: int, server_wait: float | None, rng: random.Random) -> float:
        """The server's Retry-After when it gave one (capped), else the jittered back-off."""
        if server_wait is not None:
            return min(server_wait, self.cap)
        return min(self.cap, rng.uniform(*self.spread) * min(self.cap, self.base * 2.0**attempt))


class RetriesExhausted(Exception):
    """Every attempt failed with a Retryable; `attempts` were made, `last` is the final failure."""

    def __init__(self, attempts: int, last: Retryable):
        super().__init__(last.reason)
        self.attempts = attempts
        self.last = last


def with_retries(
    send: Callable[[], T],
    *,
    max_retries: int,
    backoff: Backoff,
    sleep: Callable[[float], None],
    rng: random.Random,
    on_retry: Callable[[int, Retryable, float], None] = lambda attempt, exc, wait: None,
) -> T:
    """send() until it returns, retrying a Retryable up to max_retries times; then RetriesExhausted.

    on_retry(n, failure, wait) runs before the n-th retry (1-based): the caller counts and logs there. Any
    other exception passes through at once.
    """
    attempt = 0
    while True:
        try:
            return send()
        except Retryable as exc:
            if attempt >= max_retries:
                raise RetriesExhausted(attempt + 1, exc) from None
            wait = backoff.wait(attempt, exc.wait, rng)
            attempt += 1
            on_retry(attempt, exc, wait)
            if wait > 0:
                sleep(wait)
