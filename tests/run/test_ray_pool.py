"""The plan that keeps --executor ray bit-identical, without Ray: the backend's batch_order and the chunks built
from whole batches (tests/test_ray.py runs the real pool)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from embbench.encode.backends import BatchOrdered
from embbench.encode.backends.sentence_transformers import SentenceTransformerEncoder, length_order
from embbench.run.ray_pool import MAX_CHUNK, MIN_CHUNK, chunk_plan
from embbench.spec import ModelSpec
from tests.conftest import minilm_path

TEXTS = [("кот " * (1 + (7 * i) % 13)).strip() + f" {i}" for i in range(11)]


def test_batch_order_gives_the_vectors_of_one_local_call() -> None:
    enc = SentenceTransformerEncoder(ModelSpec(name="minilm", model=minilm_path(), batch_size=4))
    assert isinstance(enc, BatchOrdered)
    batches = enc.batch_order(TEXTS)
    assert [len(b) for b in batches] == [4, 4, 3]
    assert np.concatenate(batches).tolist() == length_order(TEXTS).tolist()  # longest first
    whole = enc.encode(TEXTS, "query: ")
    for b in batches:  # each batch alone, as a worker encodes it
        assert enc.encode([TEXTS[i] for i in b], "query: ").tobytes() == whole[b].tobytes()


def test_length_order_interleaves_when_inputs_are_flattened() -> None:
    texts = ["a" * n for n in (3, 9, 1, 7, 5)]
    assert length_order(texts).tolist() == [1, 3, 4, 0, 2]
    assert length_order(texts, flatten=True).tolist() == [1, 2, 3, 0, 4]  # longest, shortest, next longest...


@pytest.mark.parametrize(("n", "workers", "batch"), [(11, 2, 4), (1000, 2, 32), (100_000, 3, 48), (5, 1, 64)])
def test_chunks_are_whole_batches_covering_every_text_once(n: int, workers: int, batch: int) -> None:
    order = np.random.default_rng(n).permutation(n)
    batches = [order[i : i + batch] for i in range(0, n, batch)]
    chunks = chunk_plan(n, workers, batches)
    assert np.concatenate([c.indices for c in chunks]).tolist() == order.tolist()
    for c in chunks:
        assert c.batches is not None and sum(c.batches) == len(c.indices)
        assert all(size == batch for size in c.batches[:-1])
    assert all(len(c.indices) <= math.ceil(MAX_CHUNK / batch) * batch for c in chunks)  # rounded up to batches
    assert len(chunks) == 1 or all(len(c.indices) >= MIN_CHUNK for c in chunks[:-1])


def test_unbatched_backends_get_plain_ranges() -> None:
    chunks = chunk_plan(300, 1, None)
    assert [(c.indices[0], c.indices[-1], c.batches) for c in chunks] == [
        (0, 74, None),
        (75, 149, None),
        (150, 224, None),
        (225, 299, None),
    ]
