"""OpenAI-compatible `/v1/embeddings` backend: OpenAI itself, or a local server (infinity, vLLM, TEI, Ollama...).

Settings come from the model entry's `options` (openai_options.OPTIONS); `model` is the model name sent in each
request and `batch_size` the most texts per request (`max_tokens_per_batch` also cuts a batch by its estimated
tokens); `normalize: true` L2-normalises on the client. Fields that only a local model understands (dtype, device,
max_seq_length...) are refused rather than ignored. Only the standard library talks to the server (http.client
keep-alive connections, api_pool). The server is asked once (GET /models) when the encoder is created: no answer
is ModelUnavailable, a refused key a UserError.

    - name: my-api-model
      model: text-embedding-3-small
      backend: openai
      batch_size: 128
      options: {base_url: https://api.openai.com/v1, api_key_env: OPENAI_API_KEY, requests_per_minute: 500,
                concurrency: 4}

`concurrency: N` keeps up to N requests in flight (threads, one connection each); requests_per_minute and
tokens_per_minute hold for all of them together, and the rows come back in the order of the texts. Vectors are
asked base64-encoded (float32, 4 bytes a value instead of ~20 characters of JSON); a server that answers with
lists is read as well, and one that refuses base64 is asked for lists from then on. Neither concurrency nor the
encoding changes a vector, so neither is part of identity() (the cache key).

The API key is read from the environment variable named by `options.api_key_env` (default OPENAI_API_KEY) when
the encoder is created. It is sent as `Authorization: Bearer ...` and never written anywhere: not in identity(),
not in provenance() (the result files), not in log lines, not in exception text (a server that echoes it back has
it masked). It stays home (api_guard): only *_API_KEY variables (or those listed in $EMBBENCH_API_KEY_ENVS) are
read, base_url must be https off this machine and carry no credentials, query or fragment, the target host is
printed once, and a redirect is never followed (RedirectRefused stops the model).

Requests that fail with 408, 429, 5xx or a connection error are retried after a full-jitter back-off (a random
wait up to 1, 2, 4... seconds from `backoff`) or what the server's Retry-After header says, up to `max_retries`
times; then the run of this model stops with EmbeddingAPIError. 401/403 and other 4xx answers are not retried:
they raise a UserError that says what to fix.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from embbench.encode.backends import api_guard
from embbench.encode.backends.api_http import (
    MAX_WAIT,
    EmbeddingAPIError,
    NotFound,
    RedirectRefused,
    Rejected,
    Retryable,
    json_request,
    parse_retry_after,
    retryable_status,
    server_message,
)
from embbench.encode.backends.api_pool import Answer, Connections, OrderedPool
from embbench.encode.backends.api_retry import Backoff, RateLimit, RetriesExhausted, with_retries
from embbench.encode.backends.openai_options import settings
from embbench.encode.backends.openai_payload import batches, decode, estimate_tokens
from embbench.errors import ModelUnavailable, UserError
from embbench.spec import ModelSpec

__all__ = ["EmbeddingAPIError", "OpenAIEmbeddingsEncoder", "RedirectRefused", "estimate_tokens", "parse_retry_after"]

log = logging.getLogger(__name__)


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
        self.settings = s = settings(spec, self.where)
        self.base_url, self.api_key_env, self.dimensions = s.base_url, s.api_key_env, s.dimensions
        self.max_retries, self.timeout, self.concurrency = s.max_retries, s.timeout, s.concurrency
        self._key = os.environ.get(self.api_key_env) or None  # never stored anywhere else
        self._limit = RateLimit(s.requests_per_minute, s.tokens_per_minute)  # one for every worker
        self._backoff = Backoff(s.backoff, MAX_WAIT)
        self.rng = random.Random()  # the back-off's jitter (a test seam too)
        self._connections = Connections(self.base_url)
        self._pool = OrderedPool(s.concurrency)
        self._lock = threading.Lock()  # the counters below are updated by every worker
        self.encoding_format = "base64"  # "float" once the server refused base64
        self.requests = 0  # HTTP requests sent (each attempt counts), the probe included
        self.retries = 0
        self.tokens_sent = 0  # usage.prompt_tokens (or total_tokens) summed over the answers
        self.tokens_estimated = 0  # estimate_tokens summed over the texts sent
        self.usage_reported = False  # whether any answer had a usage count (some servers give none)
        self.texts_sent = 0
        self.request_seconds = 0.0  # summed over requests: with concurrency, more than the wall time
        self.dim: int | None = None
        key = f"with the key from ${self.api_key_env}" if self._key else f"without a key (${self.api_key_env} is unset)"
        log.warning("model '%s': embeddings requests go to %s, %s", spec.name, api_guard.target(self.base_url), key)
        if probe:
            self._probe()

    # ------------------------------------------------------------------------------------------ protocol

    def identity(self) -> dict[str, Any]:
        """What changes a vector: the server, the model name and the requested width (never the key, nor how
        many requests run at once, how batches are cut, or how the vectors are encoded on the wire)."""
        return {
            "backend": "openai",
            "base_url": self.base_url,
            "model": self.spec.model,
            "dimensions": self.dimensions,
            "normalize": self.spec.normalize,
        }

    def provenance(self) -> dict[str, Any]:
        """Identity plus how the API was used so far in this run (counts since the encoder was created)."""
        s = self.settings
        return {
            **self.identity(),
            "similarity_fn": self.similarity_fn,
            "device": self.device,
            "dim": self.dim,
            "batch_size": self.spec.batch_size,
            "max_tokens_per_batch": s.max_tokens_per_batch,
            "concurrency": self.concurrency,
            "api_key_env": self.api_key_env,
            "api_key_set": self._key is not None,
            "requests_per_minute": s.requests_per_minute,
            "tokens_per_minute": s.tokens_per_minute,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "encoding_format": self.encoding_format,
            "requests": self.requests,
            "retries": self.retries,
            "connections": self._connections.opened,
            "texts_sent": self.texts_sent,
            "tokens_sent": self.tokens_sent if self.usage_reported else None,
            "tokens_estimated": self.tokens_estimated,
            "request_seconds": round(self.request_seconds, 3),
        }

    def builtin_prompts(self) -> dict[str, str]:
        """An API ships no prompts: give them in models.yaml if the model wants them."""
        return {}

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """float32 (len(texts), dim), rows in the order of the texts: the batches go `concurrency` at a time."""
        out = self._pool.map(self._embed_batch, self.batches([prompt + t for t in texts]))
        if not out:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        vecs = np.concatenate(out).astype(np.float32, copy=False)
        if self.spec.normalize:  # L2 on the client, as sentence-transformers' normalize_embeddings does
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            vecs = (vecs / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)
        return vecs

    def batches(self, texts: list[str]) -> list[list[str]]:
        """The requests one encode(texts) call sends: batch_size texts at most, max_tokens_per_batch too."""
        return batches(texts, int(self.spec.batch_size), self.settings.max_tokens_per_batch)

    def close(self) -> None:
        """Stop the workers and close the idle connections (the next encode() opens new ones)."""
        self._pool.close()
        self._connections.close()

    # ------------------------------------------------------------------------------------------ one batch

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
        except Rejected as exc:
            raise UserError(
                self.where,
                f"the API at {self.base_url} rejected the request to /models ({exc.reason})",
                fix="check options.base_url: it should name the server's /v1",
            ) from None

    def _embed_batch(self, batch: list[str]) -> np.ndarray:
        tokens = sum(estimate_tokens(t) for t in batch)
        while True:
            asked = self.encoding_format
            body: dict[str, Any] = {"model": self.spec.model, "input": batch, "encoding_format": asked}
            if self.dimensions is not None:
                body["dimensions"] = self.dimensions
            try:
                answer = self._with_retries("POST", "/embeddings", body, tokens)
                break
            except NotFound as exc:
                raise UserError(
                    self.where,
                    f"{self.base_url}/embeddings was not found ({exc})",
                    field="options.base_url",
                    fix="give the URL up to /v1 (the backend adds /embeddings)",
                ) from None
            except Rejected as exc:
                if asked == "base64" and any(w in exc.reason.lower() for w in ("encoding_format", "base64")):
                    self._fall_back_to_floats(exc.reason)
                    continue
                raise UserError(
                    self.where,
                    f"the API at {self.base_url} rejected the request to /embeddings ({exc.reason})",
                    fix="check 'model', 'batch_size' and options.dimensions against what the server accepts",
                ) from None
        vecs = self._parse(answer, len(batch))
        with self._lock:
            self.texts_sent += len(batch)
            self.tokens_estimated += tokens
        return vecs

    def _fall_back_to_floats(self, reason: str) -> None:
        with self._lock:
            if self.encoding_format == "base64":  # the first worker to hear it says so, once
                self.encoding_format = "float"
                log.warning("model '%s': the server refuses base64 (%s); asking for lists", self.spec.name, reason)

    def _parse(self, answer: Any, n: int) -> np.ndarray:
        """The vectors of one answer in the order of its texts; counts the tokens of its `usage`."""
        try:
            vecs, tokens = decode(answer, n)
        except (KeyError, TypeError, ValueError) as exc:  # binascii.Error (bad base64) is a ValueError
            raise EmbeddingAPIError(
                f"model '{self.spec.name}': unexpected answer from {self.base_url}/embeddings "
                f"({type(exc).__name__}: {self._safe(exc)})"
            ) from None
        with self._lock:
            if tokens is not None:
                self.tokens_sent += tokens
                self.usage_reported = True
            self.dim = vecs.shape[1]
        return vecs

    # ------------------------------------------------------------------------------------------ HTTP

    def _with_retries(self, method: str, path: str, body: dict[str, Any] | None, tokens: int = 0) -> Any:
        def on_retry(attempt: int, exc: Retryable, wait: float) -> None:
            with self._lock:
                self.retries += 1
            log.warning(
                "model '%s': %s; retry %d/%d in %.1f s", self.spec.name, exc.reason, attempt, self.max_retries, wait
            )

        try:
            return with_retries(
                lambda: self._request(method, path, body, timeout=self.timeout, tokens=tokens),
                max_retries=self.max_retries,
                backoff=self._backoff,
                sleep=self.sleep,
                rng=self.rng,
                on_retry=on_retry,
            )
        except RetriesExhausted as exc:
            tries = "1 attempt" if exc.attempts == 1 else f"{exc.attempts} attempts"
            raise EmbeddingAPIError(
                f"model '{self.spec.name}': {self.base_url}{path} failed {tries} "
                f"(last: {exc.last.reason}); check the server, or raise options.max_retries"
            ) from None

    def _request(self, method: str, path: str, body: dict[str, Any] | None, *, timeout: float, tokens: int = 0) -> Any:
        """One HTTP request, once the shared rate limit lets it start; the parsed JSON answer, or Retryable /
        NotFound / Rejected / RedirectRefused / UserError."""
        headers, data = json_request(body, self._key)
        wait = self._limit.reserve(self.clock(), tokens)
        if wait > 0:
            self.sleep(wait)
        with self._lock:
            self.requests += 1
        t0 = time.perf_counter()
        try:
            answer = self._connections.request(method, path, data, headers, timeout)
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, cut short
            raise Retryable(self._connection_reason(exc, timeout)) from None
        finally:
            with self._lock:
                self.request_seconds += time.perf_counter() - t0
        if not 200 <= answer.status < 300:
            raise self._http_error(answer, path)
        try:
            return json.loads(answer.body)
        except ValueError:
            raise Retryable(f"the answer to {method} {path} is not JSON") from None

    def _http_error(self, answer: Answer, path: str) -> Exception:
        """The exception for an HTTP error answer: retry 408, 429 and 5xx; explain the others."""
        status = answer.status
        if 300 <= status < 400:
            location = self._safe(answer.headers.get("Location", "")) or "(no Location header)"
            return RedirectRefused(
                f"model '{self.spec.name}': {self.base_url}{path} answered HTTP {status}, a redirect to {location}; "
                "redirects are not followed (the API key would go along): set options.base_url to the address "
                "that answers, if you trust it"
            )
        message = self._safe(server_message(answer.body.decode("utf-8", "replace")) or answer.reason or "")
        reason = f"HTTP {status}" + (f": {message}" if message else "")
        if retryable_status(status):
            return Retryable(reason, parse_retry_after(answer.headers.get("Retry-After")))
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
        return Rejected(reason)

    def _connection_reason(self, exc: BaseException, timeout: float) -> str:
        if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError from Python 3.10
            return f"no answer within {timeout:g} s"
        text = str(exc) or type(exc).__name__
        return self._safe(f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text)

    def _safe(self, value: Any) -> str:
        """Text for a message: one line, at most 300 characters, the key masked if a server echoed it."""
        text = " ".join(str(value).split())
        if self._key and len(self._key) >= 4:
            text = text.replace(self._key, "***")
        return text[:300]
