"""The /v1/embeddings payload: batches cut by count and estimated tokens; base64 and list answers read alike.

The wire tests run against the recording fake server on 127.0.0.1 (embeddings_server), which answers base64 as
asked, lists whatever is asked, or 422 to base64 (a server that knows only floats).
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from embbench.encode.backends.openai_api import EmbeddingAPIError, OpenAIEmbeddingsEncoder
from embbench.encode.backends.openai_payload import batches, decode, estimate_tokens, vector
from embbench.spec import ModelSpec
from tests.encode.embeddings_server import MODEL, EmbeddingsServer, expected

KEY_ENV = "EMBBENCH_PAYLOAD_TEST_API_KEY"
TEXTS = ["Кошка спит.", "A cat sleeps.", "Поезд опоздал на двадцать минут.", "", "Мы варили борщ.", "ok"]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-payload-test-4e5f6a")


def encoder(url: str, *, batch_size: int = 4, **options: Any) -> OpenAIEmbeddingsEncoder:
    opts = {"base_url": url, "api_key_env": KEY_ENV, "backoff": 0.01, **options}
    spec = ModelSpec(name="p", model=MODEL, backend="openai", batch_size=batch_size, options=opts)
    return OpenAIEmbeddingsEncoder(spec)


def test_estimate_tokens_counts_utf8_bytes() -> None:
    assert estimate_tokens("") == 1
    assert estimate_tokens("abcdef") == 3  # 6 bytes
    assert estimate_tokens("абвгде") == 5  # 12 bytes: a Cyrillic letter is two


def test_batches_cut_by_count_and_by_tokens() -> None:
    texts = ["я" * 30, "я" * 30, "я" * 30, "b", "я" * 200, "c", "d"]  # estimates 21, 21, 21, 1, 134, 1, 1
    assert [len(b) for b in batches(texts, 3)] == [3, 3, 1]
    assert [len(b) for b in batches(texts, 3, max_tokens=50)] == [2, 2, 1, 2]  # the 134-token text alone
    assert [len(b) for b in batches(texts, 100, max_tokens=43)] == [2, 2, 1, 2]  # 21 + 21 fits in 43, a third does not
    assert [t for b in batches(texts, 2, max_tokens=10**6) for t in b] == texts  # order kept, nothing lost
    assert batches([], 4, 10) == []


def test_the_token_budget_cuts_the_requests() -> None:
    with EmbeddingsServer() as server:
        enc = encoder(server.url, batch_size=10, max_tokens_per_batch=30)
        texts = ["слово " * 4] * 3 + ["x"] * 3
        assert [estimate_tokens(t) for t in texts] == [15, 15, 15, 1, 1, 1]  # 44 bytes; 1 byte
        np.testing.assert_array_equal(enc.encode(texts, ""), expected(texts))
    assert [len(p.texts) for p in server.posts] == [2, 4]  # 15 + 15 = 30 fits; 15 + 1 + 1 + 1 too
    assert enc.provenance()["tokens_estimated"] == 3 * 15 + 3 * 1


@pytest.mark.parametrize("mode", ["base64", "lists", "no-base64"])
def test_base64_and_lists_give_the_same_vectors(mode: str) -> None:
    """Whatever the server does with encoding_format, the rows are the float32 values it computed, bit for bit."""
    with EmbeddingsServer(mode=mode) as server:
        enc = encoder(server.url, batch_size=2)
        vecs = enc.encode(TEXTS, "")
        again = enc.encode(TEXTS[:2], "")
    np.testing.assert_array_equal(vecs, expected(TEXTS))
    np.testing.assert_array_equal(again, expected(TEXTS[:2]))
    assert vecs.dtype == np.float32 and enc.retries == 0
    asked = [p.encoding_format for p in server.posts]
    if mode == "no-base64":  # refused once, then lists for good (the refused batch sent again)
        assert asked == ["base64", "float", "float", "float", "float"]
        assert enc.provenance()["encoding_format"] == "float"
    else:
        assert asked == ["base64"] * 4 and enc.provenance()["encoding_format"] == "base64"


def test_decode_reads_base64_little_endian_float32() -> None:
    v = np.array([1.5, -2.25, 3.0e-8, 7.0], dtype=np.float32)
    little = base64.b64encode(v.astype("<f4").tobytes()).decode()
    np.testing.assert_array_equal(vector(little), v)
    np.testing.assert_array_equal(vector(v.tolist()), v)
    answer = {"data": [{"index": 1, "embedding": little}, {"index": 0, "embedding": (v * 2).tolist()}]}
    rows, tokens = decode(answer, 2)
    np.testing.assert_array_equal(rows, np.stack([v * 2, v]))
    assert tokens is None
    assert decode({**answer, "usage": {"prompt_tokens": 9}}, 2)[1] == 9


@pytest.mark.parametrize(
    "embedding",
    [
        base64.b64encode(b"\x00" * 10).decode(),  # not a whole number of float32 values
        "not base64 at all!",
        {"values": [1.0]},
        [[1.0, 2.0]],
    ],
)
def test_a_broken_embedding_is_an_unexpected_answer(embedding: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        vector(embedding)


def test_rows_of_different_widths_stop_the_model() -> None:
    class Uneven(EmbeddingsServer):
        def answer(self, texts: list[str], fmt: str | None) -> dict[str, Any]:
            out = super().answer(texts, fmt)
            out["data"][0]["embedding"] = [1.0, 2.0]
            return out

    with Uneven() as server:
        enc = encoder(server.url)
        with pytest.raises(EmbeddingAPIError, match=r"unexpected answer.*not all one width"):
            enc.encode(TEXTS[:2], "")
