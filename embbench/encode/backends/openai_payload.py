"""The payload of `/v1/embeddings`: texts cut into batches (count and estimated tokens), answers decoded to rows."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np


def estimate_tokens(text: str) -> int:
    """A tokenizer-free guess of a text's tokens: one per 3 UTF-8 bytes (1.5 Cyrillic or 3 Latin letters), plus one.

    On the high side for the BPE vocabularies of embedding APIs, so a budget built on it is rarely exceeded.
    """
    return len(text.encode("utf-8")) // 3 + 1


def batches(texts: list[str], size: int, max_tokens: int | None = None) -> list[list[str]]:
    """Consecutive runs of at most `size` texts and (when set) `max_tokens` estimated tokens, in order; a text over
    the budget alone is a batch of its own (the server truncates or refuses it)."""
    size = max(1, size)
    out: list[list[str]] = []
    current: list[str] = []
    tokens = 0
    for text in texts:
        n = estimate_tokens(text)
        if current and (len(current) >= size or (max_tokens is not None and tokens + n > max_tokens)):
            out.append(current)
            current, tokens = [], 0
        current.append(text)
        tokens += n
    if current:
        out.append(current)
    return out


def decode(answer: Any, n: int) -> tuple[np.ndarray, int | None]:
    """float32 (n, dim) rows of one answer, ordered by each item's `index`, and the prompt tokens its `usage`
    reports (None without). KeyError / TypeError / ValueError for an answer that is not n vectors of one width."""
    items = answer["data"]
    order = sorted(items, key=lambda item: int(item["index"]))
    if [int(item["index"]) for item in order] != list(range(n)):
        raise ValueError(f"expected indices 0..{n - 1}, got {len(items)} items")
    rows = [vector(item["embedding"]) for item in order]
    if len({len(r) for r in rows}) > 1:
        raise ValueError("the vectors in the answer are not all one width")
    usage = answer.get("usage")
    tokens = usage.get("prompt_tokens", usage.get("total_tokens")) if isinstance(usage, dict) else None
    counted = tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None
    return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32), counted


def vector(embedding: Any) -> np.ndarray:
    """One embedding as float32: a base64 string of little-endian float32 values, or a list of numbers."""
    if isinstance(embedding, str):
        raw = base64.b64decode(embedding, validate=True)
        if len(raw) % 4:
            raise ValueError(f"a base64 embedding of {len(raw)} bytes is no float32 vector")
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if not isinstance(embedding, list):
        raise TypeError(f"an embedding of type {type(embedding).__name__}")
    vec = np.asarray(embedding, dtype=np.float32)
    if vec.ndim != 1:
        raise ValueError("an embedding that is not a flat list of numbers")
    return vec
