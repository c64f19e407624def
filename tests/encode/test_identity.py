"""A sentence-transformers model's cache identity: every field moves the key, and a local folder by its bytes.

Each setting of the identity is changed alone and must give a new cache key (the vectors differ, so serving the
old ones would be wrong); settings that do not change a vector must keep the key (so the cache is reused). The
models are tiny random-weight folders written here (tests/fixtures/tiny_models.py); none is loaded: the identity
needs only the folder.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from embbench.encode.backends.sentence_transformers import SentenceTransformerEncoder
from embbench.encode.cache import DiskCache
from embbench.encode.embedder import Embedder, text_key
from embbench.spec import ModelSpec
from tests.fixtures.tiny_models import build_tiny_plain_model, russian_texts

# identity field -> a value other than the default that changes the vectors
CHANGES: dict[str, Any] = {
    "dtype": "float16",
    "max_seq_length": 16,
    "normalize": True,
    "truncate_dim": 8,
    "pooling": "cls",
    "model_kwargs": {"attn_implementation": "eager"},
    "tokenizer_kwargs": {"do_lower_case": True},
}
# settings that do not change a vector: the cache must be shared across them
NEUTRAL: dict[str, Any] = {"name": "renamed", "batch_size": 3, "optional": True, "device": "cpu"}


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain transformers checkpoint (no modules.json), so that `pooling` may be set."""
    return build_tiny_plain_model("bert", tmp_path_factory.mktemp("identity") / "bert", russian_texts(60))


def cache_key(spec: ModelSpec, cache: DiskCache) -> bytes:
    """The key under which the embedder of this model entry caches the text "x" (no prompt)."""
    embedder = Embedder(SentenceTransformerEncoder(spec), None, cache, name=spec.name)
    return text_key(embedder.model_key, "", "x")


def test_every_identity_field_moves_the_cache_key(plain: Path, tmp_path: Path) -> None:
    base = ModelSpec(name="m", model=str(plain))
    identity = SentenceTransformerEncoder(base).identity()
    # a field added to identity() needs a case in CHANGES; one dropped from it fails here too
    assert set(identity) - {"backend", "model"} == set(CHANGES)
    cache = DiskCache(tmp_path / "cache")
    keys = {"base": cache_key(base, cache)}
    for name, value in CHANGES.items():
        keys[name] = cache_key(dataclasses.replace(base, **{name: value}), cache)
    keys["pooling=mean"] = cache_key(dataclasses.replace(base, pooling="mean"), cache)
    keys["dtype=bfloat16"] = cache_key(dataclasses.replace(base, dtype="bfloat16"), cache)
    same = [(a, b) for a in keys for b in keys if a < b and keys[a] == keys[b]]
    assert same == [], f"settings that share a cache key: {same}"
    assert len(list((tmp_path / "cache").iterdir())) == len(keys)  # one cache folder per configuration


def test_settings_that_keep_the_vectors_keep_the_key(plain: Path, tmp_path: Path) -> None:
    base = ModelSpec(name="m", model=str(plain))
    cache = DiskCache(tmp_path / "cache")
    key = cache_key(base, cache)
    for name, value in NEUTRAL.items():
        assert cache_key(dataclasses.replace(base, **{name: value}), cache) == key, name
    assert cache_key(dataclasses.replace(base, dtype="float32"), cache) == key  # the default, spelled out
    copy = tmp_path / "copy"  # the same bytes elsewhere are the same model
    shutil.copytree(plain, copy)
    assert cache_key(dataclasses.replace(base, model=str(copy)), cache) == key


def model_id(folder: Path) -> str:
    return SentenceTransformerEncoder(ModelSpec(name="m", model=str(folder))).identity()["model"]


def test_a_local_folder_is_identified_by_its_bytes(plain: Path, tmp_path: Path) -> None:
    """A weight file edited in place (same name, size and mtime) is another model; restored, the same again."""
    folder = tmp_path / "model"
    shutil.copytree(plain, folder)
    before = model_id(folder)
    weights = folder / "model.safetensors"
    stat = weights.stat()
    raw = bytearray(weights.read_bytes())
    middle = len(raw) - 64  # inside the tensor data (the header is at the start)
    raw[middle] ^= 0x01
    weights.write_bytes(bytes(raw))
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert weights.stat().st_size == stat.st_size
    edited = model_id(folder)
    assert edited != before
    raw[middle] ^= 0x01
    weights.write_bytes(bytes(raw))
    assert model_id(folder) == before
    (folder / "extra.txt").write_text("a new file")  # a file added (or renamed) changes it too
    assert model_id(folder) not in (before, edited)
    (folder / "extra.txt").unlink()
    (folder / ".git").mkdir()  # a git checkout's metadata is not the model
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert model_id(folder) == before


def test_folder_hash_keeps_file_boundaries(tmp_path: Path) -> None:
    """{a: "bc"} and {ab: "c"} are different folders: names and contents cannot run into each other."""
    from embbench.encode.backends.sentence_transformers import _folder_hash

    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "a").write_bytes(b"bc")
    (two / "ab").write_bytes(b"c")
    three = tmp_path / "three"  # {a: "", b: "c"} against {a: "bc"}: an empty file cannot vanish either
    three.mkdir()
    (three / "a").write_bytes(b"")
    (three / "b").write_bytes(b"c")
    assert len({_folder_hash(one), _folder_hash(two), _folder_hash(three)}) == 3
