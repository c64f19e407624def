"""Cache keys cannot collide across part boundaries, other formats never match, and folders are private."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import numpy as np

from embbench.encode.cache import FORMAT, DiskCache, SegmentStore
from embbench.encode.embedder import Embedder, EmbedStats, identity_key, text_key


class Encoder:
    """Vectors from a hash of prompt + text; records what it was asked to encode."""

    similarity_fn = "cosine"

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def identity(self) -> dict:
        return {"backend": "test", "model": "keys"}

    def provenance(self) -> dict:
        return self.identity()

    def builtin_prompts(self) -> dict:
        return {}

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        self.asked += [(prompt, t) for t in texts]
        digests = [hashlib.sha256(f"{len(prompt)}|{prompt}|{t}".encode()).digest()[:16] for t in texts]
        return np.stack([np.frombuffer(d, dtype=np.uint8).astype(np.float32) for d in digests])


def old_key(model_key: str, prompt: str, text: str) -> bytes:
    """The key of cache format 1, kept here to show the inputs it confused."""
    return hashlib.sha256(f"{model_key}\x00{prompt}\x00{text}".encode()).digest()


# pairs of different (model key, prompt, text) that format 1 gave one key
COLLIDED = [
    (("m", "a\x00b", "c"), ("m", "a", "b\x00c")),
    (("m", "query: \x00", "x"), ("m", "query: ", "\x00x")),
    (("m\x00p", "", "t"), ("m", "p", "\x00t")),
]


def test_inputs_with_nul_no_longer_collide() -> None:
    for a, b in COLLIDED:
        assert old_key(*a) == old_key(*b)  # the bug: one key for two inputs
        assert text_key(*a) != text_key(*b), (a, b)
    assert text_key("m", "ab", "c") != text_key("m", "a", "bc")
    assert text_key("m", "p", "t") == text_key("m", "p", "t")


def test_embedder_encodes_both_inputs_that_collided(tmp_path: Path) -> None:
    """Format 1 served the vector of ('a', 'b\\0c') for ('a\\0b', 'c'): now each is encoded and kept apart."""
    enc = Encoder()
    emb = Embedder(enc, None, DiskCache(tmp_path), name="keys")
    first = emb.embed(["b\x00c"], "a", EmbedStats())
    second = emb.embed(["c"], "a\x00b", EmbedStats())
    assert enc.asked == [("a", "b\x00c"), ("a\x00b", "c")]
    assert not np.array_equal(first, second)
    again = Embedder(Encoder(), None, DiskCache(tmp_path), name="keys")  # a later run reads both back
    np.testing.assert_array_equal(again.embed(["c"], "a\x00b", EmbedStats()), second)
    np.testing.assert_array_equal(again.embed(["b\x00c"], "a", EmbedStats()), first)


def test_entries_of_format_1_simply_miss(tmp_path: Path) -> None:
    """A cache written by format 1 (folder <model-key>, old keys) is never read: the texts are encoded again."""
    enc = Encoder()
    model_key = identity_key(enc.identity())
    old = SegmentStore(tmp_path / model_key[:32])
    old.put_many([old_key(model_key, "", "текст")], np.full((1, 16), 7.0, dtype=np.float32))
    (tmp_path / model_key[:32] / "meta.json").write_text('{"identity": {"model": "keys"}, "names": ["keys"]}')
    vecs = Embedder(enc, None, DiskCache(tmp_path), name="keys").embed(["текст"], "", EmbedStats())
    assert enc.asked == [("", "текст")] and not (vecs == 7.0).all()
    formats = sorted((r["format"], r["entries"]) for r in DiskCache(tmp_path).info())
    assert formats == [(1, 1), (FORMAT, 1)] and FORMAT >= 2


def test_cache_folders_are_private(tmp_path: Path) -> None:
    root = tmp_path / "shared" / "embbench"
    emb = Embedder(Encoder(), None, DiskCache(root), name="keys")
    emb.embed(["один", "два"], "", EmbedStats())
    folders = [root, *(p for p in root.iterdir() if p.is_dir())]
    assert len(folders) == 2
    for folder in folders:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    files = [p for p in root.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".json", ".npy", ".keys"}
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, p  # neither group nor others can read a vector
    store = SegmentStore(tmp_path / "direct" / "m")  # a store used on its own creates its folder private too
    store.put_many([b"k" * 32], np.zeros((1, 2), dtype=np.float32))
    assert stat.S_IMODE((tmp_path / "direct" / "m").stat().st_mode) == 0o700
