"""An OpenAI-compatible `/v1/chat/completions` client: JSON output asked for, retries, a shared rate limit, usage.

Key rules as for the embeddings backend: the key comes from an environment variable named *_API_KEY (or listed in
$EMBBENCH_API_KEY_ENVS) and is never written or printed; the URL carries no user:password@, query or fragment; a
key is never sent over plain http to a host other than this machine; redirects are never followed (the
Authorization header would go to the new address). 408, 429, 5xx and connection errors are retried with jittered
exponential back-off (or the server's Retry-After) up to max_retries times. Threads share one client: its rate
limit, its keep-alive connections, its counters (requests, retries, tokens in/out from each answer's usage) and
its lock. The HTTP pieces (connections, rate limit, retry loop, errors) are the embeddings backend's.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from embbench.encode.backends import api_guard
from embbench.encode.backends.api_http import (
    NotFound,
    Rejected,
    Retryable,
    json_request,
    parse_retry_after,
    retryable_status,
    server_message,
)
from embbench.encode.backends.api_pool import Answer, Connections
from embbench.encode.backends.api_retry import Backoff, RateLimit, RetriesExhausted, with_retries
from embbench.errors import UserError

MAX_WAIT = 120.0
USER_AGENT = "embbench (questions)"
JITTER = (0.5, 1.5)  # the back-off is base * 2**n times a factor drawn from this range


def check_url(url: str, with_key: bool) -> str:
    """The base URL without a trailing slash; a UserError when requests (and a key) may not go there."""
    problem = None
    parts = urllib.parse.urlsplit(url)
    if "@" in url or "?" in url or "#" in url:
        problem = "the URL carries credentials, a query or a fragment (they would be printed and recorded)"
    elif parts.scheme not in ("http", "https") or not parts.hostname:
        problem = f"expected an http(s) URL up to /v1, got {url!r}"
    elif with_key and parts.scheme == "http" and not api_guard.is_loopback(parts.hostname):
        problem = f"plain http to {parts.hostname} with an API key: the key would travel unencrypted"
    if problem:
        raise UserError(url, problem, field="--llm", fix="give e.g. http://127.0.0.1:8000/v1 or https://host/v1")
    return url.rstrip("/")


def read_key(env: str) -> str | None:
    """The key from the named variable (None when unset); only *_API_KEY names, or those in $EMBBENCH_API_KEY_ENVS."""
    if api_guard.key_env_problem(env):
        raise UserError(
            env,
            "is not read as an API key: only variables named *_API_KEY, or listed in $" + api_guard.ALLOW_ENV,
            field="--api-key-env",
            fix="put the key in a variable such as LLM_API_KEY",
        )
    return os.environ.get(env) or None


class ChatClient:
    """Chat completions from one server and model, safe to share between threads."""

    clock: Callable[[], float] = staticmethod(time.monotonic)
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        requests_per_minute: float | None = None,
        max_retries: int = 5,
        timeout: float = 120.0,
        backoff: float = 1.0,
        temperature: float = 0.7,
    ):
        self._key = read_key(api_key_env)
        self.base_url = check_url(base_url, self._key is not None)
        self.model, self.requests_per_minute, self.max_retries = model, requests_per_minute, max_retries
        self.timeout, self.backoff, self.temperature = timeout, backoff, temperature
        self.structured = True  # response_format json_schema; dropped for good if the server refuses it
        self.requests = self.retries = self.tokens_in = self.tokens_out = 0
        self._lock = threading.Lock()
        self._limit = RateLimit(requests_per_minute)  # over every thread
        self._jitter = random.Random()
        self._connections = Connections(self.base_url)

    @property
    def host(self) -> str:
        """scheme://host[:port] of the server: what is printed and recorded (never a path or a key)."""
        parts = urllib.parse.urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def probe(self) -> None:
        """GET /models: an unreachable server, a refused key or a model the server does not list is a UserError."""
        try:
            answer = self._request("GET", "/models", None, timeout=min(self.timeout, 10.0))
        except Retryable as exc:
            raise UserError(
                self.base_url, f"no LLM answering ({exc.reason})", field="--llm", fix="start the server or fix the URL"
            ) from None
        except (NotFound, Rejected):
            return  # a server without /models: the first chat request tells
        ids = [m.get("id") for m in answer.get("data", []) if isinstance(m, dict)] if isinstance(answer, dict) else []
        if ids and self.model not in ids:
            raise self._model_error(f"the server lists {', '.join(map(str, ids[:5]))}")

    def chat(self, messages: list[dict[str, str]], schema: dict[str, Any], name: str) -> str:
        """The content of the first choice of one chat completion (asked as JSON matching schema)."""
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature}
        if self.structured:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}
        try:
            answer = self._with_retries(body)
        except Rejected as exc:
            if self.structured and any(w in exc.reason for w in ("response_format", "json_schema", "guided")):
                self.structured = False  # an older server: plain text, parsed line by line
                return self.chat(messages, schema, name)
            if "model" in exc.reason.lower():
                raise self._model_error(exc.reason) from None
            raise UserError(
                self.base_url, f"the LLM server refused the request ({exc.reason})", field="--llm"
            ) from None
        except NotFound as exc:
            if "model" in str(exc).lower():
                raise self._model_error(str(exc)) from None
            raise UserError(
                self.base_url, f"/chat/completions not found ({exc})", field="--llm", fix="give the URL up to /v1"
            ) from None
        self._count(answer.get("usage"))
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            return ""
        return content if isinstance(content, str) else ""

    def _model_error(self, reason: str) -> UserError:
        return UserError(
            self.model,
            f"the server at {self.host} rejects this model ({reason[:200]})",
            field="--llm-model",
            fix="give a model name the server serves (GET /v1/models lists them)",
        )

    def _count(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        with self._lock:
            for key, attr in (("prompt_tokens", "tokens_in"), ("completion_tokens", "tokens_out")):
                if isinstance(usage.get(key), int):
                    setattr(self, attr, getattr(self, attr) + usage[key])

    def _with_retries(self, body: dict[str, Any]) -> Any:
        def on_retry(attempt: int, exc: Retryable, wait: float) -> None:
            with self._lock:
                self.retries += 1

        try:
            return with_retries(
                lambda: self._request("POST", "/chat/completions", body, timeout=self.timeout),
                max_retries=self.max_retries,
                backoff=Backoff(self.backoff, MAX_WAIT, JITTER),
                sleep=self.sleep,
                rng=self._jitter,
                on_retry=on_retry,
            )
        except RetriesExhausted as exc:
            raise UserError(
                self.base_url,
                f"the LLM kept failing after {exc.attempts} attempts (last: {exc.last.reason})",
                field="--llm",
                fix="check the server, then re-run: the questions written so far are kept",
            ) from None

    def _throttle(self) -> None:
        """Space request starts by 60 / requests_per_minute seconds, over every thread."""
        wait = self._limit.reserve(self.clock())
        if wait > 0:
            self.sleep(wait)

    def _request(self, method: str, path: str, body: dict[str, Any] | None, *, timeout: float) -> Any:
        headers, data = json_request(body, self._key, USER_AGENT)
        self._throttle()
        with self._lock:
            self.requests += 1
        try:
            answer = self._connections.request(method, path, data, headers, timeout)
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, cut short
            raise Retryable(self._safe(f"{type(exc).__name__}: {exc}")) from None
        if not 200 <= answer.status < 300:
            raise self._http_error(answer)
        try:
            return json.loads(answer.body)
        except ValueError:
            raise Retryable(f"the answer to {method} {path} is not JSON") from None

    def _http_error(self, answer: Answer) -> Exception:
        status = answer.status
        text = answer.body.decode("utf-8", "replace")
        reason = f"HTTP {status}" + (f": {self._safe(server_message(text))}" if text.strip() else "")
        if retryable_status(status):
            return Retryable(reason, parse_retry_after(answer.headers.get("Retry-After")))
        if status in (401, 403):
            have = "is set" if self._key else "is not set"
            return UserError(
                self.base_url,
                f"the server refused the key (HTTP {status}; the key {have})",
                field="--api-key-env",
                fix="set the variable --api-key-env names to a valid key",
            )
        if 300 <= status < 400:
            return UserError(
                self.base_url,
                f"the server redirects (HTTP {status}); redirects are not followed",
                field="--llm",
                fix="give the final URL",
            )
        if status in (404, 405):
            return NotFound(reason)
        return Rejected(reason)

    def _safe(self, value: str) -> str:
        text = " ".join(str(value).split())
        if self._key and len(self._key) >= 4:
            text = text.replace(self._key, "***")
        return text[:300]
