"""Embedder: new texts are encoded and committed chunk by chunk, with progress events; a resumed encode (after
a failure mid-corpus) reuses the finished chunks and gives an uninterrupted encode's vectors bit for bit."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embbench.encode.cache import DiskCache
from embbench.encode.embedder import CHUNK_ENV, Embedder, EmbedStats, Encoded, chunk_texts_default


class PaddingEncoder:
    """A vector that depends on its text and, like a padded batch, on the longest text encoded with it."""

    similarity_fn = "cosine"

    def __init__(self, fail_after: int | None = None):
        self.calls: list[list[str]] = []
        self.fail_after = fail_after

    def identity(self) -> dict[str, Any]:
        return {"backend": "padding-fake"}

    def provenance(self) -> dict[str, Any]:
        return self.identity()

    def builtin_prompts(self) -> dict[str, str]:
        return {}

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if self.fail_after is not None and len(self.calls) == self.fail_after:
            raise RuntimeError("killed")
        self.calls.append(list(texts))
        pad = max(len(t) for t in texts)
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.uint8) for t in texts]
        return np.stack(rows).astype(np.float32) + np.float32(pad) * np.float32(1e-3)


TEXTS = [f"text {'x' * (i % 7)} {i}" for i in range(23)] + ["text  0"]  # many equal lengths; the last repeats the first


def embed(cache: Path, encoder: PaddingEncoder, events: list[Encoded] | None = None) -> tuple[np.ndarray, EmbedStats]:
    embedder = Embedder(
        encoder, None, DiskCache(cache), name="m", progress=None if events is None else events.append, chunk_texts=5
    )
    stats = EmbedStats()
    return embedder.embed(TEXTS, "", stats, task="t"), stats


def test_chunks_are_committed_and_announced(tmp_path: Path) -> None:
    events: list[Encoded] = []
    encoder = PaddingEncoder()
    _, stats = embed(tmp_path / "c", encoder, events)
    assert [len(c) for c in encoder.calls] == [5, 5, 5, 5, 3]  # 23 unique texts
    assert [t for c in encoder.calls for t in c] == list(dict.fromkeys(TEXTS))  # in order of first appearance
    assert [(e.model, e.task, e.done, e.total) for e in events] == [("m", "t", d, 23) for d in (0, 5, 10, 15, 20, 23)]
    assert stats.encoded == 23 and stats.from_cache == 0
    assert DiskCache(tmp_path / "c").info()[0]["segments"] == 5


def test_an_encode_cut_short_resumes_from_the_last_chunk(tmp_path: Path) -> None:
    want, _ = embed(tmp_path / "reference", PaddingEncoder())
    with pytest.raises(RuntimeError):
        embed(tmp_path / "c", PaddingEncoder(fail_after=2))
    again = PaddingEncoder()
    got, stats = embed(tmp_path / "c", again)
    assert (stats.from_cache, stats.encoded) == (10, 13)  # the two finished chunks came from the cache
    assert [len(c) for c in again.calls] == [5, 5, 3]
    assert got.tobytes() == want.tobytes()  # the remaining texts formed the same chunks


def test_chunk_size_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHUNK_ENV, "7")
    assert chunk_texts_default() == 7
    monkeypatch.setenv(CHUNK_ENV, "0")
    assert chunk_texts_default() == 1024
