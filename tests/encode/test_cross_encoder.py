"""encode/backends/cross_encoder.py: a tiny random-weight CrossEncoder scores pairs as sentence-transformers does,
and its disk cache makes a second reranker on the same pairs score nothing (the model is not even loaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embbench.encode.backends.cross_encoder import CrossEncoderReranker
from embbench.encode.cache import DiskCache
from embbench.errors import ModelUnavailable
from embbench.spec import RerankerSpec
from tests.fixtures.tiny_cross_encoder import build_tiny_cross_encoder

QUERIES = ["Где живут пингвины?", "Кто написал «Войну и мир»?", "Где живут пингвины?"]
DOCS = ["Пингвины живут в Антарктиде.", "Роман написал Лев Толстой.", "Пингвины живут в Антарктиде."]


@pytest.fixture(scope="module")
def tiny_ce(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_cross_encoder(tmp_path_factory.mktemp("ce") / "tiny-ce")


def test_scores_equal_sentence_transformers_and_are_cached(tiny_ce: Path, tmp_path: Path) -> None:
    from sentence_transformers import CrossEncoder

    cache = DiskCache(tmp_path / "cache")
    first = CrossEncoderReranker(RerankerSpec(model=str(tiny_ce), batch_size=2), cache)
    scores = first.score(QUERIES, DOCS)
    assert scores.dtype == np.float32 and scores.shape == (3,) and np.isfinite(scores).all()
    direct = CrossEncoder(str(tiny_ce)).predict(list(zip(QUERIES, DOCS, strict=True)), show_progress_bar=False)
    np.testing.assert_array_equal(scores, np.asarray(direct, dtype=np.float32))
    assert (first.stats.pairs, first.stats.unique, first.stats.scored, first.stats.from_cache) == (3, 2, 2, 0)

    second = CrossEncoderReranker(RerankerSpec(model=str(tiny_ce), batch_size=7, device="cpu"), cache)
    again = second.score(QUERIES[::-1], DOCS[::-1])
    np.testing.assert_array_equal(again, scores[::-1])
    assert (second.stats.scored, second.stats.from_cache) == (0, 2)
    assert second._model is None  # every score came from the cache: the model never loaded
    assert second.provenance()["device"].startswith("not loaded")


def test_max_length_is_part_of_the_cache_key(tiny_ce: Path, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache")
    CrossEncoderReranker(RerankerSpec(model=str(tiny_ce)), cache).score(QUERIES, DOCS)
    short = CrossEncoderReranker(RerankerSpec(model=str(tiny_ce), max_length=8), cache)
    short.score(QUERIES, DOCS)
    assert short.stats.scored == 2  # another identity: nothing reused


def test_unknown_hub_reranker_offline_is_unavailable() -> None:
    with pytest.raises(ModelUnavailable):
        CrossEncoderReranker(RerankerSpec(model="org/no-such-reranker"))
