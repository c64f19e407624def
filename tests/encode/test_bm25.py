"""BM25's tokeniser folds ё into е: a query with ё finds a document with е, and the other way round.

The Snowball stemmer folds ё by itself, so the checks also run without stemming, where only the tokeniser can.
"""

from __future__ import annotations

import pytest

from embbench.encode.backends import Ranker, load_encoder
from embbench.spec import ModelSpec

pytest.importorskip("bm25s")
pytest.importorskip("Stemmer")

DOCS = [
    "Зелёная ёлка стоит во дворе.",  # ё
    "Серый еж спит под елью.",  # е
    "Кот лежит на диване.",
]


def bm25(**options: object) -> Ranker:
    ranker = load_encoder(ModelSpec(name="bm25", model="bm25", backend="bm25", options=dict(options)))
    assert isinstance(ranker, Ranker)
    return ranker


def matched(hits: dict[int, float]) -> list[int]:
    return [j for j, score in hits.items() if score > 0]


@pytest.mark.parametrize("stemmer", ["none", "snowball", "pymorphy"])
def test_yo_and_ye_match_both_ways(stemmer: str) -> None:
    if stemmer == "pymorphy":
        pytest.importorskip("pymorphy3")
    ranker = bm25(stemmer=stemmer, stopwords=False)
    with_ye, with_yo, upper = ranker.rank(["зеленая елка", "ёж", "ЗЕЛЁНАЯ ЁЛКА"], DOCS, None, 3)
    assert matched(with_ye) == [0]  # е in the query, ё in the document
    assert matched(with_yo) == [1]  # ё in the query, е in the document
    assert matched(upper) == [0] and upper[0] == pytest.approx(with_ye[0])  # Ё as well, and the same score


def test_tokeniser_folds_before_stemming() -> None:
    from embbench.encode.backends.bm25 import Tokenizer

    assert Tokenizer("none", stopwords=False)(["Ёлка, ёж и Еж"]) == [["елка", "еж", "и", "еж"]]
