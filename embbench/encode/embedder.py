"""The one seam: categories call embed(texts, role); prompts, dedup, caching, batching and timing live here.

New texts are encoded in chunks of ``chunk_texts`` (in their order of first appearance), each committed to the
store as it finishes and announced as an ``Encoded`` event: a run killed mid-corpus keeps every finished chunk, and
because the texts left are the later chunks in the same order, they form the same chunks again: a resumed encode
gives the vectors an uninterrupted one gives, bit for bit. Up to ``chunk_texts`` new texts are one encode call, as
before chunking (the backend batches them as it always did).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from embbench._faults import hit as _fault_point
from embbench.encode.backends import Encoder, TokenCounter
from embbench.encode.cache import DiskCache
from embbench.spec.prompts import Role, resolve_prompt


class BadVectors(Exception):
    """The model returned vectors that cannot be used (NaN/inf, wrong width or count)."""


class VectorStore(Protocol):
    """Vectors by key: cache.SegmentStore on disk, or MemoryStore for one run."""

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]: ...

    def put_many(self, keys: Sequence[bytes], vectors: np.ndarray) -> None: ...


class MemoryStore:
    """In-process vectors (used with --no-cache): still never encodes a (prompt, text) twice in a run."""

    def __init__(self) -> None:
        self.vectors: dict[bytes, np.ndarray] = {}

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        return {k: self.vectors[k] for k in keys if k in self.vectors}

    def put_many(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        self.vectors.update(zip(keys, vectors, strict=True))


CHUNK_ENV = "EMBBENCH_CHUNK_TEXTS"
DEFAULT_CHUNK_TEXTS = 1024  # a few seconds on a GPU, about a minute for a large model on a CPU


def chunk_texts_default() -> int:
    """$EMBBENCH_CHUNK_TEXTS (a positive integer), else DEFAULT_CHUNK_TEXTS."""
    raw = os.environ.get(CHUNK_ENV, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_CHUNK_TEXTS


@dataclass(frozen=True)
class Encoded:
    """Progress of one encode of new texts: `done` of `total` texts encoded (and committed) after `seconds`."""

    model: str
    task: str
    done: int
    total: int
    seconds: float

    def line(self) -> str:
        """'minilm / RuBQRetrieval: 3072/56826 texts encoded (5%), 51.2 texts/s, ETA 17m31s'."""
        text = f"{self.model} / {self.task}: {self.done}/{self.total} texts encoded"
        text += f" ({100 * self.done // max(self.total, 1)}%)"
        if self.done and self.seconds > 0:
            rate = self.done / self.seconds
            text += f", {rate:.1f} texts/s, ETA {duration((self.total - self.done) / rate)}"
        return text


def duration(seconds: float) -> str:
    """'42s', '3m05s', '2h07m'."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


Progress = Callable[[Encoded], None]


@dataclass
class EmbedStats:
    """Counts and seconds for one task (or one whole model)."""

    texts: int = 0
    unique: int = 0
    from_cache: int = 0
    encoded: int = 0
    encode_seconds: float = 0.0
    cache_seconds: float = 0.0

    def add(self, other: EmbedStats) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))


def identity_key(identity: Mapping[str, Any]) -> str:
    """Stable hash of an encoder identity."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def text_key(model_key: str, prompt: str, text: str) -> bytes:
    """Cache key of one (model configuration, prompt, text) (cache.FORMAT 2).

    Each part is prefixed with its length in bytes, so no character inside a part (a NUL included) can move a
    boundary: two different triples never hash the same bytes.
    """
    parts = [p.encode() for p in (model_key, prompt, text)]
    return hashlib.sha256(b"".join(len(p).to_bytes(8, "big") + p for p in parts)).digest()


class Embedder:
    """Embeds texts for one model configuration, never encoding a (prompt, text) twice.

    With a persistent store, vectors live on disk (shared across tasks, runs and processes); without one they
    are kept in memory for the run.
    """

    def __init__(
        self,
        encoder: Encoder,
        prompts: Mapping[str, str] | None,
        cache: DiskCache | None = None,
        log: Callable[[str], None] | None = None,
        name: str = "model",
        progress: Progress | None = None,
        chunk_texts: int | None = None,
    ):
        self.name = name
        self.encoder = encoder
        self.prompts = dict(prompts) if prompts is not None else encoder.builtin_prompts()
        self.identity = encoder.identity()
        self.model_key = identity_key(self.identity)
        self.store: VectorStore = cache.store(self.model_key, self.identity, name) if cache else MemoryStore()
        self.dim: int | None = None
        self.log = log or (lambda _msg: None)
        self.progress = progress or (lambda _event: None)
        self.chunk_texts = chunk_texts or chunk_texts_default()
        # truncation accounting (see count): token counts by text key, shared by the run's tasks
        self.token_counts: dict[bytes, int] = {}
        self.count_seconds = 0.0
        self.counter = encoder if isinstance(encoder, TokenCounter) else None
        self.counting = self.counter is not None

    def for_task(self, task_name: str, category: str) -> TaskEmbed:
        """The embed(texts, role) callable handed to a category for one task."""
        return TaskEmbed(self, task_name, category)

    def embed(self, texts: Sequence[str], prompt: str, stats: EmbedStats, task: str = "") -> np.ndarray:
        """Vectors for texts under a prompt: from the store, and from the model for what it lacks."""
        keys = [text_key(self.model_key, prompt, t) for t in texts]
        unique = list(dict.fromkeys(keys))
        stats.texts += len(keys)
        stats.unique += len(unique)
        t0 = time.perf_counter()
        found = self.store.get_many(unique)
        stats.cache_seconds += time.perf_counter() - t0
        stats.from_cache += len(found)
        missing = [k for k in unique if k not in found]
        if missing:
            by_key = dict(zip(keys, texts, strict=False))
            n = len(missing)
            self.log(f"encoding {n} new texts" + (f" with prompt {prompt!r}" if prompt else ""))
            found.update(self._encode_chunks(missing, [by_key[k] for k in missing], prompt, stats, task))
        if not keys:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        out = np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
        if self.dim is None:  # all from the cache: the width is still the model's (the export names it)
            self.dim = out.shape[1]
        return out

    def _encode_chunks(
        self, keys: list[bytes], texts: list[str], prompt: str, stats: EmbedStats, task: str
    ) -> dict[bytes, np.ndarray]:
        """Encode texts chunk by chunk, committing each chunk to the store (the texts left after a kill are the
        later chunks: not re-sorted here, so they form the same chunks again)."""
        out: dict[bytes, np.ndarray] = {}
        t_start, n = time.perf_counter(), len(texts)
        self.progress(Encoded(self.name, task, 0, n, 0.0))
        for start in range(0, n, self.chunk_texts):
            chunk_keys, chunk = keys[start : start + self.chunk_texts], texts[start : start + self.chunk_texts]
            t0 = time.perf_counter()
            _fault_point("encode")  # test-only kill point (embbench/_faults.py): before each chunk
            vecs = self.encoder.encode(chunk, prompt)
            stats.encode_seconds += time.perf_counter() - t0
            self._check(vecs, len(chunk))
            stats.encoded += len(chunk)
            t0 = time.perf_counter()
            self.store.put_many(chunk_keys, vecs)
            stats.cache_seconds += time.perf_counter() - t0
            out.update(zip(chunk_keys, vecs, strict=True))
            self.progress(Encoded(self.name, task, len(out), n, time.perf_counter() - t_start))
        return out

    # --- truncation accounting: begin ---------------------------------------------------------------------------
    def count(self, texts: Sequence[str], prompt: str, into: dict[bytes, tuple[int, int]]) -> None:
        """Add the (tokens, characters) of each new unique prompt + text to `into` (a task's tally).

        Tokens come from the encoder's optional count_tokens (no truncation, special tokens included); they are
        counted also when the vectors come from the cache, each (prompt, text) once per run. A failure here only
        switches the accounting off: it never fails an evaluation.
        """
        if not self.counting or self.counter is None:
            return
        t0 = time.perf_counter()
        new: dict[bytes, str] = {}
        for t in texts:
            k = text_key(self.model_key, prompt, t)
            if k not in into:
                new.setdefault(k, t)
        todo = [k for k in new if k not in self.token_counts]
        if todo:
            try:
                counts = self.counter.count_tokens([new[k] for k in todo], prompt)
            except Exception as exc:
                self.log(f"token counting failed ({type(exc).__name__}: {exc}); no truncation figures")
                self.counting = False
                return
            self.token_counts.update(zip(todo, (int(c) for c in counts), strict=True))
        for k, t in new.items():
            into[k] = (self.token_counts[k], len(prompt) + len(t))
        self.count_seconds += time.perf_counter() - t0

    def truncation(self, tally: dict[bytes, tuple[int, int]]) -> dict[str, Any] | None:
        """{max_tokens, share_truncated, tokens_per_1000_chars, texts} of a task's tally; None without counts."""
        if not self.counting or self.counter is None or not tally:
            return None
        max_tokens = self.counter.max_tokens
        tokens = np.fromiter((n for n, _ in tally.values()), dtype=np.int64, count=len(tally))
        chars = sum(c for _, c in tally.values())
        return {
            "max_tokens": max_tokens,
            "share_truncated": None if not max_tokens else round(float((tokens > max_tokens).mean()), 6),
            "tokens_per_1000_chars": round(1000.0 * float(tokens.sum()) / max(chars, 1), 2),
            "texts": len(tally),
        }

    # --- truncation accounting: end -----------------------------------------------------------------------------

    def _check(self, vecs: np.ndarray, n: int) -> None:
        """Reject vectors no metric can use: wrong count or width, NaN or infinite values."""
        if vecs.ndim != 2 or vecs.shape[0] != n:
            raise BadVectors(f"expected {n} vectors, got an array of shape {vecs.shape}")
        if self.dim is None:
            self.dim = vecs.shape[1]
        elif vecs.shape[1] != self.dim:
            raise BadVectors(f"vector width changed from {self.dim} to {vecs.shape[1]}")
        if not np.isfinite(vecs).all():
            bad = int((~np.isfinite(vecs).all(axis=1)).sum())
            raise BadVectors(f"{bad} of {n} vectors contain NaN or infinite values")


@dataclass
class TaskEmbed:
    """embed(texts, role) for one task: resolves the prompt from (task, category, role) and records it."""

    embedder: Embedder
    task_name: str
    category: str
    stats: EmbedStats = field(default_factory=EmbedStats)
    prompts_used: dict[str, str] = field(default_factory=dict)
    token_tally: dict[bytes, tuple[int, int]] = field(default_factory=dict)  # unique input -> (tokens, chars)

    def __call__(self, texts: Sequence[str], role: Role = None) -> np.ndarray:
        prompt = resolve_prompt(self.embedder.prompts, self.task_name, self.category, role) or ""
        self.prompts_used[role or "text"] = prompt
        vecs = self.embedder.embed(texts, prompt, self.stats, self.task_name)
        self.embedder.count(texts, prompt, self.token_tally)
        return vecs

    def truncation(self) -> dict[str, Any] | None:
        """The task's truncation figures (result record key `truncation`); None for encoders without counts."""
        return self.embedder.truncation(self.token_tally)
