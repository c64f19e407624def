"""The embedding cache: keys, persistence, kill-safety and concurrent writers."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from embbench.encode.cache import DiskCache, SegmentStore
from embbench.encode.embedder import Embedder, EmbedStats, text_key


def vec_for(key: bytes, dim: int = 8) -> np.ndarray:
    """A deterministic vector derived from the key, so any reader can check what it got."""
    return np.frombuffer(hashlib.sha256(key + b"v").digest()[: dim * 4], dtype=np.uint32).astype(np.float32) / 2**32


class CountingEncoder:
    """Encodes by hashing; counts how many texts it was asked to encode."""

    similarity_fn = "cosine"

    def __init__(self, tag: str = "a"):
        self.tag = tag
        self.calls: list[list[str]] = []

    def identity(self) -> dict:
        return {"backend": "test", "model": self.tag}

    def provenance(self) -> dict:
        return self.identity()

    def builtin_prompts(self) -> dict:
        return {}

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        self.calls.append(list(texts))
        return np.stack([vec_for((prompt + t).encode()) for t in texts])


def test_store_round_trip_and_reopen(tmp_path: Path) -> None:
    store = SegmentStore(tmp_path / "m")
    keys = [hashlib.sha256(str(i).encode()).digest() for i in range(50)]
    vecs = np.stack([vec_for(k) for k in keys])
    store.put_many(keys[:30], vecs[:30])
    store.put_many(keys[30:], vecs[30:])
    again = SegmentStore(tmp_path / "m")  # a new process would see the same
    got = again.get_many([*keys, b"x" * 32])
    assert len(got) == 50 and b"x" * 32 not in got
    for k, v in zip(keys, vecs, strict=True):
        assert np.array_equal(got[k], v)


def test_key_covers_model_prompt_and_text(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    enc_a, enc_b = CountingEncoder("a"), CountingEncoder("b")
    emb_a = Embedder(enc_a, {"query": "query: ", "document": "passage: "}, cache, name="a")
    stats = EmbedStats()
    t = ["один текст", "другой текст"]
    q = emb_a.for_task("t", "retrieval")
    q(t, "query")
    q(t, "document")  # same texts, other prompt: new entries
    assert sum(len(c) for c in enc_a.calls) == 4
    q([*t, "один текст"], "query")  # all cached, duplicates within a call too
    assert sum(len(c) for c in enc_a.calls) == 4
    emb_b = Embedder(enc_b, None, cache, name="b")
    emb_b.embed(t, "", stats)  # another model: its own entries
    assert sum(len(c) for c in enc_b.calls) == 2
    # a fresh process (new Embedder) reads what the first wrote
    enc_a2 = CountingEncoder("a")
    out = Embedder(enc_a2, {"query": "query: "}, cache, name="a").for_task("t2", "retrieval")(t, "query")
    assert enc_a2.calls == []
    assert np.array_equal(out[0], vec_for(b"query: " + "один текст".encode()))
    info = {tuple(r["names"]): r for r in cache.info()}
    assert info[("a",)]["entries"] == 4 and info[("b",)]["entries"] == 2
    assert cache.clear("b") == 1 and [r["names"] for r in cache.info()] == [["a"]]


def test_text_key_distinguishes_prompt_boundary() -> None:
    assert text_key("m", "ab", "c") != text_key("m", "a", "bc")
    assert text_key("m1", "", "x") != text_key("m2", "", "x")


WRITER = textwrap.dedent(
    """
    import hashlib, sys, numpy as np
    sys.path.insert(0, {tests!r})
    from test_cache import vec_for
    from embbench.encode.cache import SegmentStore
    store = SegmentStore(__import__("pathlib").Path(sys.argv[1]))
    tag = sys.argv[2]
    i = 0
    while True:
        keys = [hashlib.sha256(f"{{tag}}-{{i}}-{{j}}".encode()).digest() for j in range(200)]
        store.put_many(keys, np.stack([vec_for(k, 8) for k in keys]))
        i += 1
        if i == int(sys.argv[3]):
            break
    """
)


def _spawn(folder: Path, tag: str, rounds: int) -> subprocess.Popen:
    code = WRITER.format(tests=str(Path(__file__).parent))
    return subprocess.Popen([sys.executable, "-c", code, str(folder), tag, str(rounds)])


def _check_all_readable(folder: Path) -> int:
    store = SegmentStore(folder)
    store._refresh()
    keys = list(store.index)
    got = store.get_many(keys)
    for k in keys:
        assert np.array_equal(got[k], vec_for(k, 8)), "torn or wrong vector"
    return len(keys)


@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9])
def test_sigkill_mid_write_leaves_a_readable_cache(tmp_path: Path, delay: float) -> None:
    folder = tmp_path / "m"
    proc = _spawn(folder, "k", 10**6)
    deadline = time.monotonic() + 120
    while not any(folder.glob("*.keys")):  # python start-up: seconds on a loaded machine, so wait for it
        assert proc.poll() is None and time.monotonic() < deadline, "the writer never wrote a segment"
        time.sleep(0.02)
    time.sleep(delay)  # then some more segments, killed at a point that varies with delay
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n = _check_all_readable(folder)
    assert n > 0 and n % 200 == 0  # only whole segments are visible
    # a later writer continues in the same folder
    store = SegmentStore(folder)
    key = hashlib.sha256(b"after").digest()
    store.put_many([key], vec_for(key, 8)[None])
    assert _check_all_readable(folder) == n + 1


def test_two_writers_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    procs = [_spawn(folder, tag, 25) for tag in ("p1", "p2")]
    for p in procs:
        assert p.wait(timeout=120) == 0
    assert _check_all_readable(folder) == 2 * 25 * 200
