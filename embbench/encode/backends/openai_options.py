"""The settings of an `openai` model entry: its options, their checks, and the local-model fields it refuses."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from embbench.encode.backends import api_guard
from embbench.encode.backends.api_http import number
from embbench.errors import UserError
from embbench.spec import ModelSpec

MAX_CONCURRENCY = 64  # more requests in flight than this only queues on the server (and trips its limits)

# option -> (what it must be, default)
OPTIONS: dict[str, tuple[str, Any]] = {
    "base_url": ("the server's URL up to /v1, e.g. http://127.0.0.1:7997/v1", None),
    "api_key_env": ("the name of an environment variable *_API_KEY that holds the API key", "OPENAI_API_KEY"),
    "requests_per_minute": ("a positive number (client-side rate limit, shared by all concurrent requests)", None),
    "tokens_per_minute": ("a positive number (client-side limit on estimated tokens sent per minute)", None),
    "max_retries": ("a non-negative integer", 5),
    "timeout": ("seconds per request, a positive number", 120.0),
    "dimensions": ("a positive integer, passed to the API", None),
    "backoff": ("seconds before the first retry (doubled each time, full jitter), a non-negative number", 1.0),
    "concurrency": (f"an integer from 1 to {MAX_CONCURRENCY}: requests in flight at once", 1),
    "max_tokens_per_batch": ("a positive integer: estimated tokens per request, besides batch_size texts", None),
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
CHECKS = {
    "api_key_env": lambda v: isinstance(v, str) and v.strip() != "",
    "requests_per_minute": lambda v: v is None or (number(v) and v > 0),
    "tokens_per_minute": lambda v: v is None or (number(v) and v > 0),
    "max_retries": lambda v: number(v, integer=True) and v >= 0,
    "timeout": lambda v: number(v) and v > 0,
    "dimensions": lambda v: v is None or (number(v, integer=True) and v > 0),
    "backoff": lambda v: number(v) and v >= 0,
    "concurrency": lambda v: number(v, integer=True) and 1 <= v <= MAX_CONCURRENCY,
    "max_tokens_per_batch": lambda v: v is None or (number(v, integer=True) and v > 0),
}


@dataclass(frozen=True)
class Settings:
    """The checked options of one model entry (defaults filled in)."""

    base_url: str  # without the trailing slash
    api_key_env: str
    requests_per_minute: float | None
    tokens_per_minute: float | None
    max_retries: int
    timeout: float
    dimensions: int | None
    backoff: float
    concurrency: int
    max_tokens_per_batch: int | None


def settings(spec: ModelSpec, where: str) -> Settings:
    """The entry's options, checked; any problem is a one-line UserError naming the field (`where`: file and model)."""
    _reject_local_fields(spec, where)
    given = spec.options or {}
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        raise UserError(
            where,
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
            where,
            problem,
            field="options.base_url",
            fix="give the server's URL up to /v1, https unless the server runs on this machine "
            "(http://127.0.0.1:7997/v1, https://api.openai.com/v1); keys go in the variable of options.api_key_env",
        )
    for key, ok in CHECKS.items():
        if not ok(opts[key]):
            raise UserError(where, f"expected {OPTIONS[key][0]}, got {opts[key]!r}", field=f"options.{key}")
    problem = api_guard.key_env_problem(opts["api_key_env"])
    if problem:
        raise UserError(
            where,
            problem,
            field="options.api_key_env",
            fix=f"name a variable ending in _API_KEY, or add '{opts['api_key_env']}' to ${api_guard.ALLOW_ENV}",
        )
    if not spec.model.strip():
        raise UserError(where, "empty model name", field="model", fix="give the model name the API expects")
    return Settings(
        base_url=base.rstrip("/"),
        api_key_env=opts["api_key_env"],
        requests_per_minute=opts["requests_per_minute"],
        tokens_per_minute=opts["tokens_per_minute"],
        max_retries=opts["max_retries"],
        timeout=float(opts["timeout"]),
        dimensions=opts["dimensions"],
        backoff=float(opts["backoff"]),
        concurrency=opts["concurrency"],
        max_tokens_per_batch=opts["max_tokens_per_batch"],
    )


def _reject_local_fields(spec: ModelSpec, where: str) -> None:
    """Fields that only a local model understands would be silently ignored here: say so instead."""
    for name, fix in LOCAL_ONLY.items():
        f = ModelSpec.__dataclass_fields__[name]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if getattr(spec, name) != default:
            raise UserError(where, "does not apply to the openai backend", field=name, fix=fix)
