"""Baselines without a neural encoder: BM25 (bm25s, Russian stemming) and static word vectors (navec, model2vec).

BM25 is checked against a ranking computed by hand, on the built-in retrieval task against a seeded random ranker,
and through the runner (n/a on a category it cannot do). navec is checked on toy sentences and through the runner
on the STS task; model2vec on a tiny model folder written here (no network, no distillation).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import pytest

from embbench import categories
from embbench.data import load as load_data
from embbench.encode.backends import Encoder, Ranker, load_encoder
from embbench.errors import UserError
from embbench.results import result_path
from embbench.run.runner import resolve_params, run
from embbench.spec import ModelSpec, load_task

TASKS = Path(__file__).resolve().parents[1] / "embbench" / "resources" / "tasks"

pytest.importorskip("bm25s")
pytest.importorskip("Stemmer")

# ----------------------------------------------------------------------------------------------------------- BM25

# After normalisation (lower-case, ё -> е, \w+, bm25s' Russian stop words "на", "и", "во", "а" removed, Snowball):
#   d0 "Кошка спит на диване."             -> кошк спит диван              dl = 3
#   d1 "Собака и кошка играют во дворе."   -> собак кошк игра двор         dl = 4
#   d2 "Книга лежит на столе."             -> книг леж стол                dl = 3
#   d3 "Ёжик читает книги, а кошка спит."  -> ежик чита книг кошк спит     dl = 5
DOCS = [
    "Кошка спит на диване.",
    "Собака и кошка играют во дворе.",
    "Книга лежит на столе.",
    "Ёжик читает книги, а кошка спит.",
]


def bm25(**options) -> Ranker:
    ranker = load_encoder(ModelSpec(name="bm25", model="bm25", backend="bm25", options=options))
    assert isinstance(ranker, Ranker) and not isinstance(ranker, Encoder)
    return ranker


def test_bm25_matches_hand_computed_lucene_scores():
    # Query "кошка спит" -> [кошк, спит]. N = 4, avgdl = (3 + 4 + 3 + 5) / 4 = 3.75, k1 = 1.5, b = 0.75.
    # idf (lucene) = ln(1 + (N - df + 0.5) / (df + 0.5)):
    #   кошк: df = 3 -> ln(1 + 1.5 / 3.5) = ln(1.428571) = 0.356675
    #   спит: df = 2 -> ln(1 + 2.5 / 2.5) = ln 2      = 0.693147
    # tf part = tf / (tf + k1 (1 - b + b dl / avgdl)), tf = 1 everywhere:
    #   dl = 3: 1 / (1 + 1.5 (0.25 + 0.6)) = 1 / 2.275 = 0.439560
    #   dl = 4: 1 / (1 + 1.5 (0.25 + 0.8)) = 1 / 2.575 = 0.388350
    #   dl = 5: 1 / (1 + 1.5 (0.25 + 1.0)) = 1 / 2.875 = 0.347826
    # d0 = (0.356675 + 0.693147) * 0.439560 = 0.461460
    # d3 = (0.356675 + 0.693147) * 0.347826 = 0.365155
    # d1 =  0.356675 * 0.388350             = 0.138515
    # d2 = 0 (no query term)
    def idf(df: int) -> float:
        return math.log(1 + (4 - df + 0.5) / (df + 0.5))

    def tfc(dl: int) -> float:
        return 1 / (1 + 1.5 * (0.25 + 0.75 * dl / 3.75))

    expected = {0: (idf(3) + idf(2)) * tfc(3), 3: (idf(3) + idf(2)) * tfc(5), 1: idf(3) * tfc(4), 2: 0.0}
    assert expected[0] == pytest.approx(0.461460, abs=1e-6)
    (hits,) = bm25().rank(["кошка спит"], DOCS, None, 10)
    assert list(hits) == [0, 3, 1, 2]
    for j, score in expected.items():
        assert hits[j] == pytest.approx(score, abs=1e-4)
    (top2,) = bm25().rank(["кошка спит"], DOCS, None, 2)
    assert list(top2) == [0, 3]


def test_bm25_stemming_and_yo_normalisation():
    ranker = bm25()
    book, hedgehog, yo_query = ranker.rank(["книга", "ежик", "ЁЖИКИ"], DOCS, None, 4)
    # "книга" matches d2 "Книга" and d3 "книги" (both stem to "книг"); d2 is shorter, so it wins
    assert [j for j, s in book.items() if s > 0] == [2, 3]
    assert [j for j, s in hedgehog.items() if s > 0] == [3]  # "Ёжик" in d3
    assert [j for j, s in yo_query.items() if s > 0] == [3]
    # without stemming "книга" only finds the exact form
    (plain,) = bm25(stemmer="none").rank(["книга"], DOCS, None, 4)
    assert [j for j, s in plain.items() if s > 0] == [2]
    # a query of stop words only scores nothing (but still returns documents, with score 0)
    (stop,) = ranker.rank(["и на во"], DOCS, None, 4)
    assert len(stop) == 4 and set(stop.values()) == {0.0}


def test_bm25_pymorphy_lemmas():
    pytest.importorskip("pymorphy3")
    (hits,) = bm25(stemmer="pymorphy").rank(["книгами ежика"], DOCS, None, 4)
    assert [j for j, s in hits.items() if s > 0] == [3, 2]


def test_bm25_candidates_only():
    ranker = bm25()
    cands = [[3, 1, 2], [0], []]
    hits = ranker.rank(["кошка спит", "книга", "кошка"], DOCS, cands, 1000)
    assert [set(h) for h in hits] == [{1, 2, 3}, {0}, set()]
    assert list(hits[0]) == [3, 1, 2]  # every candidate, best first, zero scores included
    assert hits[1] == {0: 0.0}
    (capped,) = ranker.rank(["кошка спит"], DOCS, [[3, 1, 2, 0]], 2)
    assert list(capped) == [0, 3]


def test_bm25_options_and_identity():
    a, b = bm25(), bm25(k1=1.2, b=0.5, stemmer="none", stopwords=False)
    assert a.identity() != b.identity()
    assert a.identity()["tokenizer"] and a.identity()["k1"] == 1.5 and a.identity()["method"] == "lucene"
    assert "bm25s" in a.provenance()["libraries"]
    for options, field in (({"k2": 1}, "options.k2"), ({"method": "okapi"}, "options.method"), ({"b": 2}, "options.b")):
        with pytest.raises(UserError) as err:
            bm25(**options)
        assert err.value.field == field


def test_missing_extra_is_a_one_line_user_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "bm25s", None)  # import bm25s -> ImportError
    with pytest.raises(UserError) as err:
        bm25(stopwords=False)
    assert "pip install 'embbench[baselines]'" in str(err.value) and "\n" not in str(err.value)


def _random_ranker(seed: int):
    rng = np.random.default_rng(seed)

    def rank(queries, documents, candidates, top_k):
        out = []
        for qi in range(len(queries)):
            pool = np.arange(len(documents)) if candidates is None else np.asarray(candidates[qi])
            scores = rng.random(len(pool))
            best = np.argsort(-scores)[:top_k]
            out.append({int(pool[j]): float(scores[j]) for j in best})
        return out

    return rank


@pytest.mark.parametrize(("task_file", "floor"), [("tydiqa_ru.yaml", 0.75), ("xquad_ru.yaml", 0.9)])
def test_bm25_beats_random_on_builtin_tasks(task_file, floor):
    task = load_task(TASKS / task_file)
    module = categories.get(task.category)
    data, params = load_data(task), resolve_params(task)
    ours = module.evaluate_ranking(data, bm25().rank, params)["ndcg_at_10"]
    chance = module.evaluate_ranking(data, _random_ranker(0), params)["ndcg_at_10"]
    # measured: tydiqa_ru 0.863 vs 0.004 (597 passages); xquad_ru 0.966 (574 queries, 10 candidates each)
    assert ours > floor and ours > chance + 0.4


def test_bm25_through_runner(tmp_path):
    spec = ModelSpec(name="bm25", model="bm25", backend="bm25")
    tasks = [load_task(TASKS / "terra.yaml"), load_task(TASKS / "tydiqa_ru.yaml")]
    summary = run([spec], tasks, tmp_path, log=lambda _m: None)
    assert summary.exit_code == 0 and len(summary.written) == 2
    terra = json.loads(result_path(tmp_path, "bm25", "terra").read_text())
    assert terra["applicable"] is False and terra["main_score"] is None and terra["metrics"] == {}
    tydiqa = json.loads(result_path(tmp_path, "bm25", "tydiqa_ru").read_text())
    assert tydiqa["applicable"] is True and tydiqa["main_metric"] == "ndcg_at_10"
    assert 0.75 < tydiqa["main_score"] <= 1
    assert tydiqa["model_info"]["backend"] == "bm25"


# -------------------------------------------------------------------------------------------------------- navec


@pytest.fixture(scope="module")
def navec() -> Encoder:
    pytest.importorskip("navec")
    pytest.importorskip("natasha")
    enc = load_encoder(ModelSpec(name="navec", model="navec", backend="navec"))
    assert isinstance(enc, Encoder) and not isinstance(enc, Ranker)
    return enc


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_navec_vectors(navec):
    texts = ["Кошка спит на диване.", "Кот дремлет на софе.", "Курс доллара вырос на бирже.", "!!! ???", ""]
    v = navec.encode(texts, "")
    assert v.shape == (5, 300) and v.dtype == np.float32 and np.isfinite(v).all()
    assert _cos(v[0], v[1]) > _cos(v[0], v[2]) + 0.2
    # no known word: navec's '<unk>' vector, never the zero vector (cosine stays defined)
    assert np.linalg.norm(v[3]) > 0 and np.array_equal(v[3], v[4])
    assert navec.provenance()["unknown_vector"] == "<unk>"
    # ё -> е, case, and punctuation do not change a text's vector; unknown words are skipped
    same = navec.encode(["Ёлка, ЁЛКА!", "елка елка", "елка qwxzzyq"], "")
    assert np.allclose(same[0], same[1]) and np.allclose(same[0], same[2])
    # the mean of word vectors
    words = navec.encode(["кошка", "спит"], "")
    assert np.allclose(navec.encode(["кошка спит"], "")[0], words.mean(axis=0), atol=1e-6)
    # the prompt is prepended
    assert np.allclose(navec.encode(["спит"], "кошка ")[0], words.mean(axis=0), atol=1e-6)


def test_navec_identity_and_bad_file(navec, tmp_path):
    ident = navec.identity()
    assert ident["model"].startswith("sha256:") and len(ident["model"]) == 7 + 64
    assert ident["tokenizer"] and ident["backend"] == "navec"
    explicit = load_encoder(
        ModelSpec(name="n", backend="navec", model="pkg://natasha/data/emb/navec_news_v1_1B_250K_300d_100q.tar")
    )
    assert explicit.identity() == ident
    with pytest.raises(UserError) as err:
        load_encoder(ModelSpec(name="n", backend="navec", model=str(tmp_path / "missing.tar")))
    assert err.value.field == "model"
    with pytest.raises(UserError):
        load_encoder(ModelSpec(name="n", backend="navec", model="navec", options={"k1": 1}))


def test_navec_through_runner_on_sts(navec, tmp_path):
    spec = ModelSpec(name="navec", model="navec", backend="navec")
    summary = run([spec], [load_task(TASKS / "stsb_ru.yaml")], tmp_path, log=lambda _m: None)
    assert summary.exit_code == 0
    record = json.loads(result_path(tmp_path, "navec", "stsb_ru").read_text())
    assert record["main_metric"] == "cosine_spearman"
    assert 0.3 < record["main_score"] < 0.9  # measured 0.463
    assert record["model_info"]["model"] == navec.identity()["model"]


# ---------------------------------------------------------------------------------------------------- model2vec


@pytest.fixture(scope="module")
def tiny_model2vec(tmp_path_factory) -> Path:
    """A 5-word model2vec folder written by model2vec itself (word-level tokenizer, hand-set vectors)."""
    pytest.importorskip("model2vec")
    from model2vec import StaticModel
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "кошка": 1, "спит": 2, "собака": 3, "лает": 4}, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    vectors = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=np.float32)
    folder = tmp_path_factory.mktemp("m2v") / "tiny"
    StaticModel(vectors=vectors, tokenizer=tok, normalize=False).save_pretrained(folder)
    return folder


def test_model2vec_local_folder(tiny_model2vec):
    enc = load_encoder(ModelSpec(name="m2v", backend="model2vec", model=str(tiny_model2vec)))
    assert isinstance(enc, Encoder) and enc.similarity_fn == "cosine" and enc.builtin_prompts() == {}
    assert enc.identity()["model"].startswith("local:")
    v = enc.encode(["Кошка спит", "собака лает громко", "ничего", ""], "")
    assert v.dtype == np.float32 and v.shape == (4, 3)
    assert np.allclose(v[0], [0.5, 0.5, 0])  # mean of кошка [1,0,0] and спит [0,1,0]
    assert np.allclose(v[1], [0.5, 0.5, 0])  # собака [1,1,0], лает [0,0,0]; the unknown word is skipped
    assert np.allclose(v[2], [0, 0, 1]) and np.allclose(v[3], [0, 0, 1])  # no known token: the [UNK] vector
    normed = load_encoder(ModelSpec(name="m2v", backend="model2vec", model=str(tiny_model2vec), normalize=True))
    assert normed.identity() != enc.identity()
    assert np.allclose(np.linalg.norm(normed.encode(["кошка спит"], ""), axis=1), 1)


def test_model2vec_needs_a_model():
    pytest.importorskip("model2vec")
    with pytest.raises(UserError) as err:
        load_encoder(ModelSpec(name="m2v", backend="model2vec", model="model2vec"))
    assert err.value.field == "model"
