"""The compression sweep (categories/compression.py): hand-computed truncation, int8 and binary scores with the
keyword fake encoder, the full float32 variant equal to the main score bit for bit, and nothing re-encoded.

KeywordEncoder vectors are 0/1 per keyword: cosine = |S∩T| / sqrt(|S|·|T|), Hamming distance = |S△T|, and the
float query's dot product with a document's bits = |S∩T|, so every expected ranking below is worked out by hand.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np
import pytest

from embbench.categories import compression, reranking, retrieval
from embbench.encode.embedder import Embedder
from tests.fakes import KeywordEncoder, make_embed

RANK2 = round(1 / math.log2(3), 5)  # nDCG of a single relevant document at rank 2
VOCAB = ["alpha", "beta", "gamma", "delta", "epsilon"]


def params(module: Any, **overrides: Any) -> dict[str, Any]:
    return {**module.DEFAULTS, **overrides}


def by_variant(rows: list[dict[str, Any]]) -> dict[tuple[int, str], float]:
    return {(r["dim"], r["precision"]): r["score"] for r in rows}


def test_truncation_hand_computed():
    # q {alpha, gamma}; r {alpha} (relevant); x {alpha, beta, gamma}.
    #  full width: cos(q, x) = 2/sqrt(6) = .816 > cos(q, r) = 1/sqrt(2) = .707 -> r 2nd: nDCG@10 = 1/log2(3)
    #  first 2 dims (alpha, beta), renormalised: q -> {alpha}: cos(q, r) = 1 > cos(q, x) = 1/sqrt(2) -> r 1st: 1
    enc = KeywordEncoder(VOCAB[:3])
    data = retrieval.Data({"q": "alpha gamma"}, {"r": "alpha", "x": "alpha beta gamma"}, {"q": {"r": 1}}, "fp")
    rows = compression.sweep("retrieval", data, make_embed(enc), params(retrieval), "ndcg_at_10", dims=(2, 8))
    scores = by_variant(rows)
    assert scores[(3, "float32")] == RANK2
    assert scores[(2, "float32")] == 1.0
    assert [(r["dim"], r["precision"]) for r in rows][:2] == [(3, "float32"), (2, "float32")]  # 8 >= 3: no row
    assert {r["dim"]: r["bytes_per_vector"] for r in rows if r["precision"] == "float32"} == {3: 12, 2: 8}


# q {alpha, beta}; r {alpha, beta, gamma, delta, epsilon} (relevant); z {alpha, gamma}
#  float cosine:  r 2/sqrt(10) = .632 > z 1/2            -> r 1st
#  Hamming:       r |S△T| = 3  >  z 2                     -> r 2nd
#  rescore (float q . bits): r |S∩T| = 2 > z 1            -> r 1st (the shortlist of 2 x 10 holds both)
#  int8, calibrated on the two documents: alpha and gamma are 1 in both (constant: every code -128, the query's
#  too), beta/delta/epsilon are 0 or 1 (codes -128 / 126: 1 is 254 steps of 1/255 after flooring).
#   q = (-128, 126, -128, -128, -128), r = (-128, 126, -128, 126, 126), z = (-128,) * 5
#   q.z = 4*16384 - 126*128 = 49408; q.r = 16384 + 15876 + 16384 - 2*16128 = 16388; |z| > |r| only slightly,
#   so cos(q, z) = .605 > cos(q, r) = .203 -> r 2nd
QUANT_QUERIES = {"q": "alpha beta"}
QUANT_CORPUS = {"r": "alpha beta gamma delta epsilon", "z": "alpha gamma"}


def test_int8_and_binary_hand_computed():
    enc = KeywordEncoder(VOCAB)
    data = retrieval.Data(QUANT_QUERIES, QUANT_CORPUS, {"q": {"r": 1}}, "fp")
    rows = compression.sweep("retrieval", data, make_embed(enc), params(retrieval), "ndcg_at_10", dims=())
    assert by_variant(rows) == {
        (5, "float32"): 1.0,
        (5, "float16"): 1.0,  # 0/1 are exact in half precision
        (5, "int8"): RANK2,
        (5, "binary"): RANK2,
        (5, "binary+rescore"): 1.0,
    }
    assert {r["precision"]: r["bytes_per_vector"] for r in rows} == {
        "float32": 20,
        "float16": 10,
        "int8": 5,
        "binary": 1,  # 5 bits packed into one byte
        "binary+rescore": 1,
    }
    assert all(r["index_mb_per_1m_docs"] == r["bytes_per_vector"] for r in rows)  # 10^6 vectors, 10^6 bytes a MB


def test_int8_codes_are_calibrated_on_the_documents():
    enc = KeywordEncoder(VOCAB)
    docs = enc.encode(list(QUANT_CORPUS.values()))
    codes = compression.to_int8(docs)(enc.encode(["alpha beta"]))
    assert codes.tolist() == [[-128, 126, -128, -128, -128]]


def test_reranking_variants_hand_computed():
    # the same texts as candidates of one query: MAP@1000 is 1 at rank 1 and 1/2 at rank 2
    enc = KeywordEncoder(VOCAB)
    data = reranking.Data(QUANT_QUERIES, QUANT_CORPUS, {"q": ["z", "r"]}, {"q": {"r": 1}}, "fp")
    rows = compression.sweep("reranking", data, make_embed(enc), params(reranking), "map_at_1000", dims=(2,))
    assert by_variant(rows) == {
        (5, "float32"): 1.0,
        (2, "float32"): 1.0,  # (alpha, beta): r -> (1, 1) = q, z -> (1, 0)
        (5, "float16"): 1.0,
        (5, "int8"): 0.5,
        (5, "binary"): 0.5,
        (5, "binary+rescore"): 1.0,
    }


def test_rescoring_only_sees_the_hamming_shortlist():
    # q {alpha, beta}; r (relevant) at Hamming 3; z {alpha, gamma} and w {beta, gamma} at Hamming 2.
    # top_k 1: the shortlist is 2 x 1 = z and w, so r is never rescored (nDCG@1 = 0, as sentence-transformers'
    # semantic_search with top_k=1 would return); top_k 2: all four candidates are rescored, r (dot 2) is first.
    enc = KeywordEncoder(VOCAB)
    corpus = {**QUANT_CORPUS, "w": "beta gamma"}
    data = retrieval.Data(QUANT_QUERIES, corpus, {"q": {"r": 1}}, "fp")
    embed = make_embed(enc)
    one, _ = compression.rescore_items(data, embed, params(retrieval), top_k=1)
    assert one["ndcg_at_1"] == 0.0
    two, _ = compression.rescore_items(data, embed, params(retrieval), top_k=2)
    assert two["ndcg_at_1"] == 1.0
    assert compression.cutoff("ndcg_at_10") == 10 and compression.cutoff("map_at_1000") == 1000


class HashEncoder(KeywordEncoder):
    """Dense pseudo-random unit vectors per text (deterministic): realistic float ties-free scores."""

    def encode(self, texts: list[str], prompt: str = "") -> np.ndarray:
        self.calls.append((list(texts), prompt))
        out = []
        for t in texts:
            rng = np.random.default_rng(zlib.crc32((prompt + t).encode()))
            v = rng.standard_normal(96).astype(np.float32)
            out.append(v / np.linalg.norm(v))
        return np.stack(out) if out else np.zeros((0, 96), dtype=np.float32)


@pytest.fixture
def dense_task():
    rng = np.random.default_rng(0)
    corpus = {f"d{i}": f"document {i}" for i in range(60)}
    queries = {f"q{i}": f"query {i}" for i in range(20)}
    qrels = {q: {f"d{j}": 1 for j in rng.choice(60, 2, replace=False)} for q in queries}
    return retrieval.Data(queries, corpus, qrels, "fp")


def test_full_float32_equals_the_main_score_bit_for_bit_and_nothing_is_reencoded(dense_task):
    enc = HashEncoder(["x"])
    embedder = Embedder(enc, {})
    main, _ = retrieval.evaluate_items(dense_task, embedder.for_task("t", "retrieval"), params(retrieval))
    encoded = len(enc.calls)
    sweep_embed = embedder.for_task("t", "retrieval")
    rows = compression.sweep("retrieval", dense_task, sweep_embed, params(retrieval), "ndcg_at_10")
    assert rows[0]["dim"] == 96 and rows[0]["precision"] == "float32"
    assert rows[0]["score"] == main["ndcg_at_10"]  # bit for bit
    assert [r["dim"] for r in rows if r["precision"] == "float32"] == [96, 64, 32]
    assert [r["precision"] for r in rows[3:]] == ["float16", "int8", "binary", "binary+rescore"]
    assert all(0.0 <= r["score"] <= 1.0 for r in rows)
    # nothing re-encoded: the sweep asked the cache once per role, every vector was there
    assert len(enc.calls) == encoded
    s = sweep_embed.stats
    assert (s.texts, s.unique, s.from_cache, s.encoded) == (80, 80, 80, 0)


def test_the_embed_is_asked_once_per_call_however_many_variants():
    enc = KeywordEncoder(VOCAB)
    embed = make_embed(enc)
    data = retrieval.Data(QUANT_QUERIES, QUANT_CORPUS, {"q": {"r": 1}}, "fp")
    rows = compression.sweep("retrieval", data, embed, params(retrieval), "ndcg_at_10", dims=(2, 3, 4))
    assert len(rows) == 8
    assert embed.roles == ["query", "document"]


def test_applies_to_retrieval_and_reranking_only():
    assert [c for c in ("retrieval", "reranking", "sts", "classification") if compression.applies(c)] == [
        "retrieval",
        "reranking",
    ]
