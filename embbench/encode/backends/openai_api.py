"""OpenAI-compatible `/v1/embeddings` backend: OpenAI itself, or a local server (infinity, vLLM, TEI, Ollama...).

Settings come from the model entry's `options` (see OPTIONS); `model` is the model name sent in each request and
`batch_size` the number of texts per request; `normalize: true` L2-normalises on the client. Fields that only a
local model understands (dtype, device, max_seq_length...) are refused rather than ignored. Only the standard
library is used (urllib + json). The server is asked once (GET /models) when the encoder is created: no answer is
ModelUnavailable, a refused key a UserError.

    - name: my-api-model
      model: text-embedding-3-small
      backend: openai
      batch_size: 128
      options: {base_url: https://api.openai.com/v1, api_key_env: OPENAI_API_KEY, requests_per_minute: 500}

The API key is read from the environment variable named by `options.api_key_env` (default OPENAI_API_KEY) when
the encoder is created. It is sent as `Authorization: Bearer ...` and never written anywhere: not in identity()
(the cache key), not in provenance() (the result files), not in log lines, not in exception text (a server that
echoes it back has it masked). It stays home (api_guard): only *_API_KEY variables (or those listed in
$EMBBENCH_API_KEY_ENVS) are read, base_url must be https off this machine and carry no credentials, query or
fragment, the target host is printed once, and a redirect is never followed (RedirectRefused stops the model).

Requests that fail with 408, 429, 5xx or a connection error are retried with exponential back-off (1, 2, 4...
seconds from `backoff`, or what the server's Retry-After header says), up to `max_retries` times; then the run
of this model stops with EmbeddingAPIError. 401/403 and other 4xx answers are not retried: they raise a UserError
that says what to fix.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import numpy as np

from embbench.encode.backends import api_guard
from embbench.encode.backends.api_http import (
    MAX_WAIT,
    USER_AGENT,
    EmbeddingAPIError,
    NotFound,
    RedirectRefused,
    Retryable,
    number,
    parse_retry_after,
    server_message,
)
from embbench.errors import ModelUnavailable, UserError
from embbench.spec import ModelSpec

log = logging.getLogger(__name__)

# option -> (what it must be, default)
OPTIONS: dict[str, tuple[str, Any]] = {
    "base_url": ("the server's URL up to /v1, e.g. http://127.0.0.1:7997/v1", None),
    "api_key_env": ("the name of an environment variable *_API_KEY that holds the API key", "OPENAI_API_KEY"),
    "requests_per_minute": ("a positive number (client-side rate limit)", None),
    "max_retries": ("a non-negative integer", 5),
    "timeout": ("seconds per request, a positive number", 120.0),
    "dimensions": ("a positive integer, passed to the API", None),
    "backoff": ("seconds before the first retry (doubled each time), a non-negative number", 1.0),
}
# ModelSpec fields of local models -> what to do instead (the server decides them)
LOCAL_ONLY = {
    "revision": "remove it: the server decides which weights it serves",
    "device": "remove it: the server decides where the model runs",
    "dtype": "remove it: the server decides the precision",
    "max_seq_length": "remove it: the server decides how it truncates",
    "truncate_dim": "use options.dimensions (the API's own parameter) instead",
    "pooling": "remove it: the server decides the pooling",
    "trust_remote_code": "remove it: the server loads the model",
    "model_kwargs": "remove it: the server loads the model",
    "tokenizer_kwargs": "remove it: the server loads the model",
}


class OpenAIEmbeddingsEncoder:
    """Embeddings from an OpenAI-compatible HTTP API; `encode` prepends the prompt to each text."""

    similarity_fn = "cosine"
    device = "remote"  # what the speed probe records: the timings include the network and the server's hardware

    # seams for tests: a fake clock makes the rate limit and the back-off checkable without waiting
    clock: Callable[[], float] = staticmethod(time.monotonic)
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(self, spec: ModelSpec, *, probe: bool = True):
        self.spec = spec
        self.where = f"{spec.file or 'models.yaml'}: model '{spec.name}'"
        self._reject_local_fields(spec)
        opts = self._options(spec.options or {})
        self.base_url: str = opts["base_url"].rstrip("/")
        self.api_key_env: str = opts["api_key_env"]
        self.requests_per_minute: float | None = opts["requests_per_minute"]
        self.max_retries: int = opts["max_retries"]
        self.timeout: float = float(opts["timeout"])
        self.dimensions: int | None = opts["dimensions"]
        self.backoff: float = float(opts["backoff"])
        self._key = os.environ.get(self.api_key_env) or None  # never stored anywhere else
        self._next_slot = 0.0  # monotonic time before which no request may start (rate limit)
        self.requests = 0  # HTTP requests sent (each attempt counts), the probe included
        self.retries = 0
        self.tokens_sent = 0  # usage.prompt_tokens (or total_tokens) summed over the answers
        self.usage_reported = False  # whether any answer had a usage count (some servers give none)
        self.texts_sent = 0
        self.request_seconds = 0.0
        self.dim: int | None = None
        self._opener = api_guard.opener()  # follows no redirect
        key = f"with the key from ${self.api_key_env}" if self._key else f"without a key (${self.api_key_env} is unset)"
        log.warning("model '%s': embeddings requests go to %s, %s", spec.name, api_guard.target(self.base_url), key)
        if probe:
            self._probe()

    # ------------------------------------------------------------------------------------------ settings

    def _reject_local_fields(self, spec: ModelSpec) -> None:
        """Fields that only a local model understands would be silently ignored here: say so instead."""
        for name, fix in LOCAL_ONLY.items():
            f = ModelSpec.__dataclass_fields__[name]
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            if getattr(spec, name) != default:
                raise UserError(self.where, "does not apply to the openai backend", field=name, fix=fix)

    def _options(self, given: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(OPTIONS))
        if unknown:
            raise UserError(
                self.where,
                f"unknown option '{unknown[0]}' for the openai backend",
                field=f"options.{unknown[0]}",
                fix=f"use only: {', '.join(OPTIONS)}",
            )
        opts = {k: given.get(k, default) for k, (_, default) in OPTIONS.items()}
        base = opts["base_url"]
        if isinstance(base, str):
            problem = api_guard.base_url_problem(base)
        else:
            problem = "missing or not an http(s) URL" if base is None else f"expected an http(s) URL, got {base!r}"
        if problem:
            raise UserError(
                self.where,
                problem,
                field="options.base_url",
                fix="give the server's URL up to /v1, https unless the server runs on this machine "
                "(http://127.0.0.1:7997/v1, https://api.openai.com/v1); keys go in the variable of options.api_key_env",
            )
        checks = {
            "api_key_env": lambda v: isinstance(v, str) and v.strip() != "",
            "requests_per_minute": lambda v: v is None or (number(v) and v > 0),
            "max_retries": lambda v: number(v, integer=True) and v >= 0,
            "timeout": lambda v: number(v) and v > 0,
            "dimensions": lambda v: v is None or (number(v, integer=True) and v > 0),
            "backoff": lambda v: number(v) and v >= 0,
        }
        for key, ok in checks.items():
            if not ok(opts[key]):
                raise UserError(self.where, f"expected {OPTIONS[key][0]}, got {opts[key]!r}", field=f"options.{key}")
        problem = api_guard.key_env_problem(opts["api_key_env"])
        if problem:
            raise UserError(
                self.where,
                problem,
                field="options.api_key_env",
                fix=f"name a variable ending in _API_KEY, or add '{opts['api_key_env']}' to ${api_guard.ALLOW_ENV}",
            )
        if not self.spec.model.strip():
            raise UserError(self.where, "empty model name", field="model", fix="give the model name the API expects")
        return opts

    # ------------------------------------------------------------------------------------------ protocol

    def identity(self) -> dict[str, Any]:
        """What changes a vector: the server, the model name and the requested width (never the key)."""
        return {
            "backend": "openai",
            "base_url": self.base_url,
            "model": self.spec.model,
            "dimensions": self.dimensions,
            "normalize": self.spec.normalize,
        }

    def provenance(self) -> dict[str, Any]:
        """Identity plus how the API was used so far in this run (counts since the encoder was created)."""
        return {
            **self.identity(),
            "similarity_fn": self.similarity_fn,
            "device": self.device,
            "dim": self.dim,
            "batch_size": self.spec.batch_size,
            "api_key_env": self.api_key_env,
            "api_key_set": self._key is not None,
            "requests_per_minute": self.requests_per_minute,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "requests": self.requests,
            "retries": self.retries,
            "texts_sent": self.texts_sent,
            "tokens_sent": self.tokens_sent if self.usage_reported else None,
            "request_seconds": round(self.request_seconds, 3),
        }

    def builtin_prompts(self) -> dict[str, str]:
        """An API ships no prompts: give them in models.yaml if the model wants them."""
        return {}

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """float32 (len(texts), dim): one request per `batch_size` texts, rows in the order of the texts."""
        out: list[np.ndarray] = []
        size = max(1, int(self.spec.batch_size))
        for start in range(0, len(texts), size):
            batch = [prompt + t for t in texts[start : start + size]]
            out.append(self._embed_batch(batch))
        if not out:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        vecs = np.concatenate(out).astype(np.float32, copy=False)
        if self.spec.normalize:  # L2 on the client, as sentence-transformers' normalize_embeddings does
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            vecs = (vecs / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)
        return vecs

    # ------------------------------------------------------------------------------------------ HTTP

    def _probe(self) -> None:
        """GET /models once: an unreachable server is ModelUnavailable, a refused key a UserError."""
        try:
            self._request("GET", "/models", None, timeout=min(self.timeout, 10.0))
        except Retryable as exc:
            raise ModelUnavailable(
                f"no working embeddings API at {self.base_url} ({exc.reason}); "
                "start the server or correct options.base_url"
            ) from None
        except NotFound:
            pass  # some servers implement /embeddings only

    def _embed_batch(self, batch: list[str]) -> np.ndarray:
        body: dict[str, Any] = {"model": self.spec.model, "input": batch, "encoding_format": "float"}
        if self.dimensions is not None:
            body["dimensions"] = self.dimensions
        try:
            answer = self._with_retries("POST", "/embeddings", body)
        except NotFound as exc:
            raise UserError(
                self.where,
                f"{self.base_url}/embeddings was not found ({exc})",
                field="options.base_url",
                fix="give the URL up to /v1 (the backend adds /embeddings)",
            ) from None
        vecs = self._parse(answer, len(batch))
        self.texts_sent += len(batch)
        return vecs

    def _parse(self, answer: Any, n: int) -> np.ndarray:
        """The vectors of one answer, ordered by each item's `index`; counts the tokens of its `usage`."""
        try:
            items = answer["data"]
            order = sorted(items, key=lambda item: int(item["index"]))
            if [int(item["index"]) for item in order] != list(range(n)):
                raise ValueError(f"expected indices 0..{n - 1}, got {len(items)} items")
            vecs = np.asarray([item["embedding"] for item in order], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"{type(exc).__name__}: {self._safe(exc)}"
            data = answer.get("data") if isinstance(answer, dict) else None
            first = data[0] if isinstance(data, list) and data else None
            if isinstance(first, dict) and isinstance(first.get("embedding"), str):
                reason = "the embeddings came base64-encoded although 'float' was asked for"
            raise EmbeddingAPIError(
                f"model '{self.spec.name}': unexpected answer from {self.base_url}/embeddings ({reason})"
            ) from None
        if vecs.ndim != 2:
            raise EmbeddingAPIError(f"model '{self.spec.name}': the vectors in the answer are not all one width")
        usage = answer.get("usage") if isinstance(answer, dict) else None
        if isinstance(usage, dict):
            tokens = usage.get("prompt_tokens", usage.get("total_tokens"))
            if isinstance(tokens, int) and not isinstance(tokens, bool):
                self.tokens_sent += tokens
                self.usage_reported = True
        self.dim = vecs.shape[1]
        return vecs

    def _with_retries(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        attempt = 0
        while True:
            try:
                return self._request(method, path, body, timeout=self.timeout)
            except Retryable as exc:
                if attempt >= self.max_retries:
                    tries = "1 attempt" if attempt == 0 else f"{attempt + 1} attempts"
                    raise EmbeddingAPIError(
                        f"model '{self.spec.name}': {self.base_url}{path} failed {tries} "
                        f"(last: {exc.reason}); check the server, or raise options.max_retries"
                    ) from None
                wait = exc.wait if exc.wait is not None else self.backoff * 2**attempt
                wait = min(wait, MAX_WAIT)
                attempt += 1
                self.retries += 1
                log.warning(
                    "model '%s': %s; retry %d/%d in %.1f s", self.spec.name, exc.reason, attempt, self.max_retries, wait
                )
                if wait > 0:
                    self.sleep(wait)

    def _throttle(self) -> None:
        """Space request starts by 60 / requests_per_minute seconds."""
        if not self.requests_per_minute:
            return
        now = self.clock()
        if now < self._next_slot:
            self.sleep(self._next_slot - now)
            now = self._next_slot
        self._next_slot = now + 60.0 / self.requests_per_minute

    def _request(self, method: str, path: str, body: dict[str, Any] | None, *, timeout: float) -> Any:
        """One HTTP request; the parsed JSON answer, or Retryable / NotFound / UserError."""
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        self._throttle()
        self.requests += 1
        t0 = time.perf_counter()
        try:
            with self._opener.open(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc, path) from None
        except (OSError, http.client.HTTPException) as exc:  # URLError, refused, reset, timed out, cut short
            raise Retryable(self._connection_reason(exc, timeout)) from None
        finally:
            self.request_seconds += time.perf_counter() - t0
        try:
            return json.loads(raw)
        except ValueError:
            raise Retryable(f"the answer to {method} {path} is not JSON") from None

    def _http_error(self, exc: urllib.error.HTTPError, path: str) -> Exception:
        """The exception for an HTTP error answer: retry 408, 429 and 5xx; explain the others."""
        status = exc.code
        try:
            text = exc.read().decode("utf-8", "replace")
        except Exception:  # a broken body says nothing more
            text = ""
        finally:
            exc.close()
        if 300 <= status < 400:
            location = self._safe(exc.headers.get("Location", "") if exc.headers else "") or "(no Location header)"
            return RedirectRefused(
                f"model '{self.spec.name}': {self.base_url}{path} answered HTTP {status}, a redirect to {location}; "
                "redirects are not followed (the API key would go along): set options.base_url to the address "
                "that answers, if you trust it"
            )
        message = self._safe(server_message(text) or exc.reason or "")
        reason = f"HTTP {status}" + (f": {message}" if message else "")
        if status in (408, 429) or (status >= 500 and status not in (501, 505)):
            return Retryable(reason, parse_retry_after(exc.headers.get("Retry-After") if exc.headers else None))
        if status in (401, 403):
            have = "is set" if self._key else "is not set"
            return UserError(
                self.where,
                f"the API at {self.base_url} refused the key (HTTP {status}); the environment variable "
                f"{self.api_key_env} {have}",
                field="options.api_key_env",
                fix=f"set {self.api_key_env} to a valid API key for model '{self.spec.model}' "
                "(or name another variable in options.api_key_env)",
            )
        if status in (404, 405):
            return NotFound(reason)
        return UserError(
            self.where,
            f"the API at {self.base_url} rejected the request to {path} ({reason})",
            fix="check 'model', 'batch_size' and options.dimensions against what the server accepts",
        )

    def _connection_reason(self, exc: BaseException, timeout: float) -> str:
        inner = getattr(exc, "reason", exc)
        if isinstance(inner, (socket.timeout, TimeoutError)):
            return f"no answer within {timeout:g} s"
        text = str(inner) or type(inner).__name__
        return self._safe(f"{type(inner).__name__}: {text}" if text != type(inner).__name__ else text)

    def _safe(self, value: Any) -> str:
        """Text for a message: one line, at most 300 characters, the key masked if a server echoed it."""
        text = " ".join(str(value).split())
        if self._key and len(self._key) >= 4:
            text = text.replace(self._key, "***")
        return text[:300]
