"""Unit tests of the seven category protocols, their loaders and prompt resolution, with hand-computed values.

Every embedding comes from tests/fakes.py's KeywordEncoder: a text's vector has 1.0 at each vocabulary keyword it
contains. Two texts with keyword sets S and T therefore have dot = |S∩T|, cosine = |S∩T| / sqrt(|S|·|T|),
squared Euclidean distance = Manhattan distance = |S△T|, so every expected metric below is worked out by hand
(the arithmetic is in the comments) and asserted exactly (pytest.approx only absorbs float rounding).
"""

from __future__ import annotations

import json
import math
import os
import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import pytest

from embbench import categories
from embbench.categories import (
    classification,
    clustering,
    multilabel_classification,
    pair_classification,
    reranking,
    retrieval,
    sts,
)
from embbench.data import load as load_data
from embbench.encode.embedder import Embedder
from embbench.errors import UserError
from embbench.spec import LocalSource, TaskSpec
from embbench.spec.prompts import candidate_keys, resolve_prompt
from tests.fakes import KeywordEncoder, make_embed

LOG2_3 = math.log2(3)  # discount of rank 2 in nDCG (rank r is discounted by log2(r + 1))


# tiny k-means fits and matmuls are far slower with several OpenMP/BLAS threads on a busy CPU
pytestmark = pytest.mark.usefixtures("single_thread")


def params(module: Any, **overrides: Any) -> dict[str, Any]:
    """A category's DEFAULTS with some overrides (as spec.resolve_params would give)."""
    out = dict(module.DEFAULTS)
    for key in overrides:
        assert key in out, f"{key} is not a parameter of {module.__name__}"
    out.update(overrides)
    return out


def check_keywords(enc: KeywordEncoder, expected: dict[str, set[str]]) -> None:
    """Guard the hand arithmetic: each test text contains exactly the keywords the comments assume."""
    for text, keys in expected.items():
        assert enc.keywords(text) == keys, text


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def task_spec(folder: Path, category: str, **kw: Any) -> TaskSpec:
    return TaskSpec(name="tiny", category=category, source=LocalSource(folder), file=folder / "tiny.yaml", **kw)


def test_every_category_module_has_the_interface():
    for name in categories.NAMES:
        mod = categories.get(name)
        assert callable(mod.to_data) and callable(mod.evaluate) and callable(mod.evaluate_items)
        assert isinstance(mod.DEFAULTS, dict)
        assert isinstance(mod.MAIN_METRIC, str) and mod.MAIN_METRIC in mod.METRICS
        assert mod.VERSION == 1
    assert sts.MAIN_METRIC == "cosine_spearman"
    assert pair_classification.MAIN_METRIC == "max_ap"
    assert retrieval.MAIN_METRIC == "ndcg_at_10"
    assert reranking.MAIN_METRIC == "map_at_1000"
    assert classification.MAIN_METRIC == "accuracy"
    assert multilabel_classification.MAIN_METRIC == "accuracy"
    assert clustering.MAIN_METRIC == "v_measure"
    with pytest.raises(KeyError):
        categories.get("regression")


# --------------------------------------------------------------------------------------------------- fakes


def test_keyword_encoder_one_hot_and_prefix_matching():
    enc = KeywordEncoder(["кошк", "диван", "спит"])
    v = enc.encode(["Кошка спит на диване, кошка!", "Собака лает"], "")
    # "Кошка" and "кошка" -> one 1.0; "диване" starts with "диван"; nothing in the second text
    assert v.dtype == np.float32
    assert v.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    # a keyword matches the start of a word, never its middle
    assert enc.keywords("неспит") == set()
    assert enc.keywords("спится") == {"спит"}
    assert enc.encode([], "").shape == (0, 3)
    # the prompt is prepended before matching, as a backend does
    assert enc.encode(["на"], "кошка: ").tolist() == [[1.0, 0.0, 0.0]]
    with pytest.raises(ValueError):
        KeywordEncoder(["кошк", "кошк"])


def test_fake_embed_records_roles_and_prompts():
    enc = KeywordEncoder(["запрос", "документ", "кошк"])
    embed = make_embed(enc, {"query": "запрос: ", "document": "документ: "})
    q = embed(["кошка"], "query")
    d = embed(["кошка"], "document")
    n = embed(["кошка"], None)
    assert q.tolist() == [[1.0, 0.0, 1.0]]
    assert d.tolist() == [[0.0, 1.0, 1.0]]
    assert n.tolist() == [[0.0, 0.0, 1.0]]
    assert embed.roles == ["query", "document", None]
    assert embed.texts("query") == ["кошка"]


def test_keyword_encoder_behind_the_real_embedder_seam():
    """The fake satisfies the backend protocol: Embedder resolves the prompt and caches by (prompt, text)."""
    enc = KeywordEncoder(["запрос", "документ", "кошк"])
    embedder = Embedder(enc, {"retrieval-query": "запрос: ", "document": "документ: "})
    embed = embedder.for_task("Tiny", "retrieval")
    assert embed(["кошка", "кошка"], "query").tolist() == [[1.0, 0.0, 1.0]] * 2
    assert embed(["кошка"], "document").tolist() == [[0.0, 1.0, 1.0]]
    assert embed(["кошка"], None).tolist() == [[0.0, 0.0, 1.0]]  # no key matches: no prompt
    embed(["кошка"], "query")  # already in memory: not encoded again
    assert enc.calls == [(["кошка"], "запрос: "), (["кошка"], "документ: "), (["кошка"], "")]
    assert embed.prompts_used == {"query": "запрос: ", "document": "документ: ", "text": ""}


# --------------------------------------------------------------------------------------------------- STS

STS_VOCAB = ["кошк", "спит", "диван", "собак", "бежит", "парк", "пляж", "поезд", "прибыл", "вокзал", "ушёл", "депо"]
STS_VOCAB += ["мальчик", "читает", "книг", "дожд", "заливает", "улиц"]
# Four pairs of three-keyword sentences sharing m = 3, 2, 1, 0 keywords: cosine = m/3 = 1, 2/3, 1/3, 0.
STS_PAIRS = [
    ("Кошка спит на диване.", "На диване спит кошка."),  # m = 3
    ("Собака бежит по парку.", "Собака бежит по пляжу."),  # m = 2
    ("Поезд прибыл на вокзал.", "Поезд ушёл в депо."),  # m = 1
    ("Мальчик читает книгу.", "Дождь заливает улицы."),  # m = 0
]
STS_GOLD = [4.0, 5.0, 2.0, 1.0]  # score_range [0, 5]


def sts_data(gold: list[float] = STS_GOLD) -> sts.Data:
    s1, s2 = zip(*STS_PAIRS, strict=True)
    return sts.Data(list(s1), list(s2), gold, (0.0, 5.0), "fp")


def test_sts_hand_computed_correlations():
    enc = KeywordEncoder(STS_VOCAB)
    check_keywords(
        enc,
        {
            STS_PAIRS[0][0]: {"кошк", "спит", "диван"},
            STS_PAIRS[1][1]: {"собак", "бежит", "пляж"},
            STS_PAIRS[2][1]: {"поезд", "ушёл", "депо"},
            STS_PAIRS[3][1]: {"дожд", "заливает", "улиц"},
        },
    )
    embed = make_embed(enc)
    out = sts.evaluate(sts_data(), embed, params(sts))
    # cosine x = [1, 2/3, 1/3, 0] (∝ [3, 2, 1, 0]); gold y = [4, 5, 2, 1] (normalising to [0, 1] is linear).
    # Spearman: ranks(x) = [4, 3, 2, 1], ranks(y) = [3, 4, 2, 1], d = [1, -1, 0, 0], Σd² = 2,
    #   rho = 1 - 6·2 / (4·(16 - 1)) = 1 - 12/60 = 0.8
    # Pearson: x - x̄ ∝ [1.5, 0.5, -0.5, -1.5], y - ȳ = [1, 2, -1, -2];
    #   Σ = 1.5 + 1 + 0.5 + 3 = 6, Σdx² = 5, Σdy² = 10  ->  r = 6 / sqrt(50) = 0.848528...
    r = 6 / math.sqrt(50)
    assert out["cosine_spearman"] == pytest.approx(0.8)
    assert out["cosine_pearson"] == pytest.approx(r)
    # the model's own similarity (cosine by default) is the same vector
    assert out["spearman"] == pytest.approx(0.8)
    assert out["pearson"] == pytest.approx(r)
    # Manhattan distance = |S△T| = 2(3 - m) = [0, 2, 4, 6]: negated, it is linear in m -> same r and rho
    assert out["manhattan_spearman"] == pytest.approx(0.8)
    assert out["manhattan_pearson"] == pytest.approx(r)
    # Euclidean distance = sqrt(2(3 - m)) is monotone in m (same ranks) but not linear
    assert out["euclidean_spearman"] == pytest.approx(0.8)
    assert out["euclidean_pearson"] != pytest.approx(r)
    # both columns embedded separately, with no role (mteb's prompt_type=None)
    assert embed.roles == [None, None]
    assert set(out) == {f"{p}{m}" for p in ("cosine_", "manhattan_", "euclidean_", "") for m in ("pearson", "spearman")}


def test_sts_dot_similarity_and_perfect_order():
    enc = KeywordEncoder(STS_VOCAB)
    # gold in the same order as m: every correlation of an increasing function of m is rho = 1
    out = sts.evaluate(sts_data([5.0, 3.0, 1.0, 0.0]), make_embed(enc), params(sts, similarity_fn="dot"))
    assert out["cosine_spearman"] == pytest.approx(1.0)
    assert out["spearman"] == pytest.approx(1.0)  # dot = m
    # Pearson of dot = [3, 2, 1, 0] with gold [5, 3, 1, 0] (mean 2.25): dx = [1.5, .5, -.5, -1.5],
    #   dy = [2.75, .75, -1.25, -2.25]; Σdxdy = 4.125 + .375 + .625 + 3.375 = 8.5; Σdx² = 5;
    #   Σdy² = 7.5625 + .5625 + 1.5625 + 5.0625 = 14.75  ->  r = 8.5 / sqrt(73.75) = 0.98978...
    assert out["pearson"] == pytest.approx(8.5 / math.sqrt(5 * 14.75))


def test_sts_loader(tmp_path):
    write_jsonl(
        tmp_path / "test.jsonl",
        [
            {"sentence1": "Кошка спит.", "sentence2": "Кот спит.", "score": 4.5},
            {"sentence1": "Идёт дождь.", "sentence2": "Светит солнце.", "score": 0},
        ],
    )
    data = load_data(task_spec(tmp_path, "sts", score_range=(0.0, 5.0)))
    assert data.sentences1 == ["Кошка спит.", "Идёт дождь."]
    assert data.sentences2 == ["Кот спит.", "Светит солнце."]
    assert data.scores == [4.5, 0.0]
    assert data.score_range == (0.0, 5.0)
    assert data.n_items == 2
    assert len(data.fingerprint) == 64
    # a score outside the declared range names the row
    with pytest.raises(UserError, match=r"row 1.*outside score_range"):
        load_data(task_spec(tmp_path, "sts", score_range=(0.0, 4.0)))
    # CSV: numbers arrive as text
    (tmp_path / "test.jsonl").unlink()
    (tmp_path / "test.csv").write_text("sentence1,sentence2,score\nа,б,1\nв,г,2.5\n", encoding="utf-8")
    assert load_data(task_spec(tmp_path, "sts", score_range=(0.0, 5.0))).scores == [1.0, 2.5]
    # all gold scores equal: a correlation is undefined
    (tmp_path / "test.csv").write_text("sentence1,sentence2,score\nа,б,1\nв,г,1\n", encoding="utf-8")
    with pytest.raises(UserError, match="all gold scores are equal"):
        load_data(task_spec(tmp_path, "sts", score_range=(0.0, 5.0)))


# --------------------------------------------------------------------------------------------------- pairs

PAIR_VOCAB = [*STS_VOCAB, "улыба", "солн", "свет"]
# pair, keyword sets, label; cos / dot / euclidean / manhattan
PAIRS = [
    ("Кошка спит на диване.", "На диване спит кошка.", 1),  # 3 vs 3 share 3: cos 1,   dot 3, euc 0,  man 0
    ("Собака бежит по парку.", "Собака бежит по пляжу.", 0),  # 3 vs 3 share 2: cos 2/3, dot 2, euc √2, man 2
    ("Мальчик читает.", "Мальчик улыбается.", 1),  # 2 vs 2 share 1:             cos 1/2, dot 1, euc √2, man 2
    ("Поезд прибыл на вокзал.", "Поезд ушёл в депо.", 1),  # 3 vs 3 share 1:    cos 1/3, dot 1, euc 2,  man 4
    ("Дождь заливает.", "Солнце светит.", 0),  # 2 vs 2 share 0:                 cos 0,   dot 0, euc 2,  man 4
]


def test_pair_classification_hand_computed():
    enc = KeywordEncoder(PAIR_VOCAB)
    check_keywords(
        enc,
        {
            "Мальчик читает.": {"мальчик", "читает"},
            "Мальчик улыбается.": {"мальчик", "улыба"},
            "Дождь заливает.": {"дожд", "заливает"},
            "Солнце светит.": {"солн", "свет"},
        },
    )
    s1, s2, labels = (list(c) for c in zip(*PAIRS, strict=True))
    data = pair_classification.Data(s1, s2, labels, "fp")
    embed = make_embed(enc)
    out = pair_classification.evaluate(data, embed, params(pair_classification))
    assert embed.roles == [None, None]

    # cosine (and "similarity" = the model's cosine): order 1, 2/3, 1/2, 1/3, 0 -> labels 1, 0, 1, 1, 0.
    #  accuracy when the top i+1 are called positive (2 negatives in all):
    #   i=0: (1 + 2)/5   i=1: (1 + 1)/5   i=2: (2 + 1)/5   i=3: (3 + 1)/5 = 0.8  <- best
    #  F1 (3 positives): i=0: P 1, R 1/3, F1 .5 | i=1: P 1/2, R 1/3, F1 .4 | i=2: P 2/3, R 2/3, F1 2/3
    #                    i=3: P 3/4, R 1, F1 = 2·.75/1.75 = 6/7  <- best
    #  AP: positives at ranks 1, 3, 4 -> (1 + 2/3 + 3/4) / 3 = 29/36
    for name in ("cosine", "similarity"):
        assert out[f"{name}_accuracy"] == pytest.approx(0.8)
        assert out[f"{name}_f1"] == pytest.approx(6 / 7)
        assert out[f"{name}_precision"] == pytest.approx(3 / 4)
        assert out[f"{name}_recall"] == pytest.approx(1.0)
        assert out[f"{name}_ap"] == pytest.approx(29 / 36)

    # dot: 3, 2, 1, 1, 0 -> pairs 3 and 4 tie (a threshold never splits a tie, mteb's sweep skips i=2).
    #  accuracy: i=0 3/5, i=1 2/5, i=3 4/5 -> 0.8; F1 best at i=3: 6/7 (P 3/4, R 1)
    #  AP (sklearn groups ties): thresholds 3: P 1, R 1/3 | 2: P 1/2, R 1/3 | 1: P 3/4, R 1 | 0: P 3/5, R 1
    #   AP = 1/3·1 + 0·1/2 + 2/3·3/4 = 1/3 + 1/2 = 5/6
    assert out["dot_accuracy"] == pytest.approx(0.8)
    assert out["dot_f1"] == pytest.approx(6 / 7)
    assert out["dot_precision"] == pytest.approx(3 / 4)
    assert out["dot_ap"] == pytest.approx(5 / 6)

    # Euclidean 0, √2, √2, 2, 2 (ascending is more similar); Manhattan 0, 2, 2, 4, 4: same order and ties.
    #  ascending labels 1 | 0 1 | 1 0. accuracy: i=0 (1 + 2)/5 = .6, i=2 (2 + 1)/5 = .6 -> 0.6
    #  F1: i=0 .5, i=2 P 2/3, R 2/3 -> 2/3
    #  AP on -distance: 0: P 1, R 1/3 | -√2: P 2/3, R 2/3 | -2: P 3/5, R 1 -> 1/3 + 2/9 + 1/5 = 34/45
    for name in ("euclidean", "manhattan"):
        assert out[f"{name}_accuracy"] == pytest.approx(0.6)
        assert out[f"{name}_f1"] == pytest.approx(2 / 3)
        assert out[f"{name}_precision"] == pytest.approx(2 / 3)
        assert out[f"{name}_recall"] == pytest.approx(2 / 3)
        assert out[f"{name}_ap"] == pytest.approx(34 / 45)

    # max over the five variants, metric by metric
    assert out["max_ap"] == pytest.approx(5 / 6)
    assert out["max_accuracy"] == pytest.approx(0.8)
    assert out["max_f1"] == pytest.approx(6 / 7)
    assert out["max_precision"] == pytest.approx(3 / 4)
    assert out["max_recall"] == pytest.approx(1.0)


def test_pair_classification_similarity_fn_dot():
    s1, s2, labels = (list(c) for c in zip(*PAIRS, strict=True))
    out = pair_classification.evaluate(
        pair_classification.Data(s1, s2, labels, "fp"),
        make_embed(KeywordEncoder(PAIR_VOCAB)),
        params(pair_classification, similarity_fn="dot"),
    )
    assert out["similarity_ap"] == pytest.approx(5 / 6)  # the "dot" numbers above
    assert out["cosine_ap"] == pytest.approx(29 / 36)


def test_pair_threshold_sweeps_directly():
    # scores 0.9 (1), 0.8 (0), 0.7 (1), 0.7 (0), 0.1 (0): a threshold can't split the 0.7 tie
    scores = np.array([0.9, 0.8, 0.7, 0.7, 0.1])
    labels = np.array([1, 0, 1, 0, 0])
    # accuracy (top i+1 called positive; 3 negatives): i=0 (1 + 3)/5 = .8, i=1 (1 + 2)/5, i=3 (2 + 1)/5 -> 0.8
    assert pair_classification.best_accuracy(scores, labels, True) == pytest.approx(0.8)
    # F1: i=0 P 1, R 1/2 -> 2/3; i=1 P 1/2, R 1/2 -> 1/2; i=3 P 2/4, R 1 -> 2/3 (not > 2/3: the first is kept)
    assert pair_classification.best_f1(scores, labels, True) == pytest.approx((2 / 3, 1.0, 0.5))
    # as distances (low = similar) the order reverses: 0.1 (0), 0.7 0.7 (1, 0), 0.8 (0), 0.9 (1); calling the first
    #  i+1 "similar" turns each negative among them into an error:
    #  accuracy: i=0 (0 + 2)/5, i=2 (1 + 1)/5, i=3 (1 + 0)/5 -> 0.4; F1: i=0 no hit; i=2 P 1/3, R 1/2 -> .4;
    #  i=3 P 1/4, R 1/2 -> 1/3
    assert pair_classification.best_accuracy(scores, labels, False) == pytest.approx(0.4)
    assert pair_classification.best_f1(scores, labels, False) == pytest.approx((0.4, 1 / 3, 0.5))


def test_pair_classification_loader(tmp_path):
    (tmp_path / "dev.csv").write_text(
        "sentence1,sentence2,label\nКошка спит.,Кот спит.,1\nИдёт дождь.,Светит солнце.,0\n", encoding="utf-8"
    )
    data = load_data(task_spec(tmp_path, "pair_classification", eval_split="dev"))
    assert data.labels == [1, 0]
    assert data.sentences1 == ["Кошка спит.", "Идёт дождь."]
    assert data.n_items == 2
    (tmp_path / "dev.csv").write_text("sentence1,sentence2,label\nа,б,1\nв,г,1\n", encoding="utf-8")
    with pytest.raises(UserError, match="both labels"):
        load_data(task_spec(tmp_path, "pair_classification", eval_split="dev"))
    (tmp_path / "dev.csv").write_text("sentence1,sentence2,label\nа,б,2\nв,г,0\n", encoding="utf-8")
    with pytest.raises(UserError, match="row 1"):
        load_data(task_spec(tmp_path, "pair_classification", eval_split="dev"))


# --------------------------------------------------------------------------------------------------- retrieval

RET_VOCAB = ["москв", "столиц", "метро", "байкал", "озер", "ледник", "тюлен", "шторм"]
RET_QUERIES = {
    "q1": "Москва — столица какой страны?",  # {москв, столиц}
    "q2": "Когда открыли метро?",  # {метро}
    "q3": "Байкал — озеро или море?",  # {байкал, озер}
}
RET_CORPUS = {
    "d1": "Москва является столицей России.",  # {москв, столиц}
    "d2": "В Москве построили метро.",  # {москв, метро}
    "d3": "Метро Москвы — гордость столицы.",  # {москв, столиц, метро}
    "d4": "Первое метро открыли в Лондоне в 1863 году.",  # {метро}
    "d5": "Байкал расположен в Восточной Азии.",  # {байкал}
    "d6": "Ладожское озеро: ледник, тюлени, шторма.",  # {озер, ледник, тюлен, шторм}
}
RET_QRELS = {"q1": {"d3": 2, "d2": 1}, "q2": {"d4": 1}, "q3": {"d6": 1}}
# cosines (zero where not listed):
#   q1: d1 1, d3 2/√6 = .816, d2 1/2            -> ranking d1, d3 (rel 2), d2 (rel 1), then ties at 0
#   q2: d4 1, d2 1/√2 = .707, d3 1/√3 = .577    -> d4 (rel 1) first
#   q3: d5 1/√2 = .707, d6 1/(√2·2) = .354      -> d5, d6 (rel 1)


def test_retrieval_hand_computed_metrics():
    enc = KeywordEncoder(RET_VOCAB)
    check_keywords(
        enc,
        {
            RET_QUERIES["q1"]: {"москв", "столиц"},
            RET_QUERIES["q3"]: {"байкал", "озер"},
            RET_CORPUS["d2"]: {"москв", "метро"},
            RET_CORPUS["d3"]: {"москв", "столиц", "метро"},
            RET_CORPUS["d4"]: {"метро"},
            RET_CORPUS["d5"]: {"байкал"},
            RET_CORPUS["d6"]: {"озер", "ледник", "тюлен", "шторм"},
        },
    )
    data = retrieval.Data(RET_QUERIES, RET_CORPUS, RET_QRELS, "fp")
    embed = make_embed(enc)
    out = retrieval.evaluate(data, embed, params(retrieval))
    assert embed.calls == [("query", list(RET_QUERIES.values())), ("document", list(RET_CORPUS.values()))]

    # nDCG (trec_eval: gain = grade, discount log2(rank + 1)):
    #  q1: DCG@1 = 0; DCG@3 = 2/log2(3) + 1/log2(4); IDCG@3 = 2/1 + 1/log2(3)
    #  q2: 1 at every k.   q3: DCG@1 = 0; DCG@3 = 1/log2(3), IDCG = 1.
    ndcg_q1 = (2 / LOG2_3 + 1 / 2) / (2 + 1 / LOG2_3)  # 0.669672...
    assert out["ndcg_at_1"] == round((0 + 1 + 0) / 3, 5) == 0.33333
    for k in (3, 5, 10, 1000):
        assert out[f"ndcg_at_{k}"] == round((ndcg_q1 + 1 + 1 / LOG2_3) / 3, 5) == 0.76687
    # MAP (AP divided by all relevant docs of the query): q1 relevant at ranks 2, 3 -> (1/2 + 2/3)/2 = 7/12;
    #  q2 1; q3 relevant at rank 2 -> 1/2.  MAP@1 = (0 + 1 + 0)/3.  MAP@3.. = (7/12 + 1 + 1/2)/3 = 25/36
    assert out["map_at_1"] == 0.33333
    for k in (3, 10, 1000):
        assert out[f"map_at_{k}"] == round(25 / 36, 5) == 0.69444
    # recall: @1 only q2 -> 1/3; @3 all found
    assert out["recall_at_1"] == 0.33333
    assert out["recall_at_3"] == out["recall_at_1000"] == 1.0
    assert out["accuracy"] == out["recall_at_1"]
    # precision: P@1 = 1/3; P@3 = (2/3 + 1/3 + 1/3)/3 = 4/9; P@10 = (2 + 1 + 1)/10/3 (divides by k, not hits)
    assert out["precision_at_1"] == 0.33333
    assert out["precision_at_3"] == round(4 / 9, 5) == 0.44444
    assert out["precision_at_10"] == round(4 / 30, 5) == 0.13333
    # hit rate (trec "success"): @1 1/3, @3 1
    assert out["hit_rate_at_1"] == 0.33333
    assert out["hit_rate_at_3"] == 1.0
    # MRR: first relevant at ranks 2, 1, 2 -> @1 (0 + 1 + 0)/3, @3 (1/2 + 1 + 1/2)/3 = 2/3 (not rounded by mteb)
    assert out["mrr_at_1"] == pytest.approx(1 / 3)
    assert out["mrr_at_3"] == pytest.approx(2 / 3)
    assert out["mrr_at_1000"] == pytest.approx(2 / 3)
    # every k of every family is reported
    for fam in ("ndcg_at", "map_at", "recall_at", "precision_at", "hit_rate_at", "mrr_at"):
        assert {f"{fam}_{k}" for k in retrieval.K_VALUES} <= set(out)


def test_retrieval_corpus_chunks_do_not_change_the_result():
    data = retrieval.Data(RET_QUERIES, RET_CORPUS, RET_QRELS, "fp")
    enc = KeywordEncoder(RET_VOCAB)
    whole = retrieval.evaluate(data, make_embed(enc), params(retrieval))
    for chunk in (1, 2, 4):
        assert retrieval.evaluate(data, make_embed(enc), params(retrieval, corpus_chunk_size=chunk)) == whole


def test_retrieval_ignore_identical_ids():
    # RiaNews-style self-retrieval: the query "a1" is the title of article a1, whose own body is in the corpus.
    enc = KeywordEncoder(RET_VOCAB)
    queries = {"a1": "Москва — столица."}  # {москв, столиц}
    corpus = {
        "a1": "Москва — столица России.",  # {москв, столиц}: cos 1 (the query's own id)
        "a2": "Метро Москвы — гордость столицы.",  # {москв, столиц, метро}: cos 2/√6, the relevant doc
        "a3": "Первое метро.",  # {метро}: cos 0
    }
    data = retrieval.Data(queries, corpus, {"a1": {"a2": 1}}, "fp")
    kept = retrieval.evaluate(data, make_embed(enc), params(retrieval))
    # a1 first, a2 second: nDCG@1 = 0, nDCG@10 = 1/log2(3), MRR@10 = 1/2
    assert kept["ndcg_at_1"] == 0.0
    assert kept["ndcg_at_10"] == round(1 / LOG2_3, 5) == 0.63093
    assert kept["mrr_at_10"] == pytest.approx(0.5)
    dropped = retrieval.evaluate(data, make_embed(enc), params(retrieval, ignore_identical_ids=True))
    # a1 removed from the hits: a2 is first
    assert dropped["ndcg_at_1"] == dropped["ndcg_at_10"] == dropped["recall_at_1"] == 1.0
    assert dropped["mrr_at_1"] == pytest.approx(1.0)
    # precision counts the retrieved list: P@3 = 1/3 either way (only 2 hits remain, trec divides by k)
    assert dropped["precision_at_3"] == kept["precision_at_3"] == 0.33333


def test_retrieval_ties_are_broken_by_doc_id_descending():
    # two identical documents tie at cosine 1; pytrec_eval (trec_eval) and mteb's MRR rank the larger id first
    enc = KeywordEncoder(RET_VOCAB)
    corpus = {"a": "Метро открыли.", "b": "Метро построили.", "c": "Байкал."}  # {метро}, {метро}, {байкал}
    queries = {"q": "Где метро?"}
    low = retrieval.evaluate(retrieval.Data(queries, corpus, {"q": {"a": 1}}, "fp"), make_embed(enc), params(retrieval))
    # ranking b, a, c: the relevant "a" is 2nd -> nDCG@1 0, MRR@1 0, MRR@10 1/2, nDCG@10 1/log2(3)
    assert low["ndcg_at_1"] == 0.0 and low["mrr_at_1"] == 0.0
    assert low["mrr_at_10"] == pytest.approx(0.5)
    assert low["ndcg_at_10"] == 0.63093
    high = retrieval.evaluate(
        retrieval.Data(queries, corpus, {"q": {"b": 1}}, "fp"), make_embed(enc), params(retrieval)
    )
    assert high["ndcg_at_1"] == high["mrr_at_1"] == 1.0


def test_retrieval_ignore_identical_ids_keeps_at_most_999_hits_like_mteb():
    # mteb (search_wrappers.py) keeps a heap of top_k = 1000 hits per query; the evaluator then pops the hit whose
    # id equals the query id, so 999 remain. The relevant doc ranked 1001st is therefore never seen by mteb.
    n = 1002
    angles = np.arange(n) * (math.pi / 2) / (n + 100)  # cosine with [1, 0] strictly decreasing in i
    vecs = {f"t{i}": np.array([math.cos(a), math.sin(a)], dtype=np.float32) for i, a in enumerate(angles)}
    vecs["query"] = np.array([1.0, 0.0], dtype=np.float32)

    def embed(texts, role):
        return np.stack([vecs[t] for t in texts])

    corpus = {f"n{i}": f"t{i}" for i in range(n)}
    data = retrieval.Data({"n0": "query"}, corpus, {"n0": {"n1000": 1}}, "fp")  # n1000 is 1001st, n0 is 1st
    out = retrieval.evaluate(data, embed, params(retrieval, ignore_identical_ids=True))
    assert out["recall_at_1000"] == 0.0  # mteb: n1000 fell outside the 1000-hit heap


def test_retrieval_loader(tmp_path):
    write_jsonl(
        tmp_path / "corpus.jsonl",
        [
            {"_id": "d1", "title": "Москва", "text": "Столица России."},
            {"_id": "d2", "title": "", "text": "Метро открыли в 1935 году."},
            {"_id": 3, "text": "Байкал — самое глубокое озеро."},  # integer id, no title
        ],
    )
    write_jsonl(
        tmp_path / "queries.jsonl",
        [
            {"_id": "q1", "text": "Столица России?"},
            {"_id": "q2", "text": "Когда открыли метро?"},
            {"_id": "q3", "text": "Самое глубокое озеро?"},  # no judgement: dropped (as mteb)
            {"_id": "q4", "text": "Что-то ещё?"},  # only a 0 judgement: kept (mteb drops only empty qrels)
        ],
    )
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\nq2\t3\t0\nq4\td1\t0\n", encoding="utf-8"
    )
    data = load_data(task_spec(tmp_path, "retrieval"))
    assert data.corpus == {
        "d1": "Москва Столица России.",  # mteb's document text: title + " " + text
        "d2": "Метро открыли в 1935 году.",
        "3": "Байкал — самое глубокое озеро.",
    }
    assert data.queries == {"q1": "Столица России?", "q2": "Когда открыли метро?", "q4": "Что-то ещё?"}
    assert data.qrels == {"q1": {"d1": 1}, "q2": {"d2": 2, "3": 0}, "q4": {"d1": 0}}
    assert data.n_items == 3
    # qrels without a header line are read too
    (tmp_path / "qrels" / "test.tsv").write_text("q1\td1\t1\n", encoding="utf-8")
    assert load_data(task_spec(tmp_path, "retrieval")).qrels == {"q1": {"d1": 1}}
    # a qrels id missing from the corpus is an error that names it
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tnope\t1\n", encoding="utf-8")
    with pytest.raises(UserError, match="corpus id 'nope'"):
        load_data(task_spec(tmp_path, "retrieval"))
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nzz\td1\t1\n", encoding="utf-8")
    with pytest.raises(UserError, match="query id 'zz'"):
        load_data(task_spec(tmp_path, "retrieval"))
    with pytest.raises(UserError, match="qrels file not found"):
        load_data(task_spec(tmp_path, "retrieval", eval_split="dev"))


def test_retrieval_loader_rejects_duplicate_ids(tmp_path):
    write_jsonl(tmp_path / "corpus.jsonl", [{"_id": "d1", "text": "а"}, {"_id": "d1", "text": "б"}])
    write_jsonl(tmp_path / "queries.jsonl", [{"_id": "q1", "text": "в"}])
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text("q1\td1\t1\n", encoding="utf-8")
    with pytest.raises(UserError, match="duplicate id 'd1'"):
        load_data(task_spec(tmp_path, "retrieval"))


# --------------------------------------------------------------------------------------------------- reranking

RERANK_ROWS = [
    {
        "query": "Москва — столица?",  # {москв, столиц}
        "positive": ["В Москве построили метро."],  # P {москв, метро}: cos 1/2
        "negative": ["Москва является столицей России.", "Байкал расположен в Азии."],  # N {москв, столиц}: 1; B 0
    },
    {"query": "Где Байкал?", "positive": [], "negative": ["Байкал расположен в Азии."]},  # no positive: dropped
    {
        "query": "Москва — столица России?",  # {москв, столиц}: the same vector as query 0
        # N is relevant here: cos 1; X {москв, столиц, метро}: cos 2/√6; P is a negative here: cos 1/2
        "positive": ["Москва является столицей России.", "Метро Москвы — гордость столицы."],
        "negative": ["В Москве построили метро.", "В Москве построили метро."],  # duplicated within the list
    },
]


def test_reranking_loader_shares_ids_of_identical_texts(tmp_path):
    write_jsonl(tmp_path / "test.jsonl", RERANK_ROWS)
    data = load_data(task_spec(tmp_path, "reranking"))
    # four distinct candidate texts (P, N, B, X) among the 3 + 4 + 1 listed: one id each, in first-seen order
    assert data.corpus == {
        "d0": "В Москве построили метро.",
        "d1": "Москва является столицей России.",
        "d2": "Байкал расположен в Азии.",
        "d3": "Метро Москвы — гордость столицы.",
    }
    assert list(data.queries) == ["q0", "q2"]  # row 1 has no positive (mteb drops such queries); ids keep row numbers
    assert data.candidates == {"q0": ["d0", "d1", "d2"], "q2": ["d1", "d3", "d0"]}
    assert data.qrels == {"q0": {"d0": 1}, "q2": {"d1": 1, "d3": 1}}
    assert data.n_items == 2
    write_jsonl(tmp_path / "test.jsonl", [RERANK_ROWS[1]])
    with pytest.raises(UserError, match="no row has a positive"):
        load_data(task_spec(tmp_path, "reranking"))


def test_reranking_hand_computed_metrics(tmp_path):
    write_jsonl(tmp_path / "test.jsonl", RERANK_ROWS)
    data = load_data(task_spec(tmp_path, "reranking"))
    enc = KeywordEncoder(RET_VOCAB)
    embed = make_embed(enc)
    out = reranking.evaluate(data, embed, params(reranking))
    # every distinct candidate encoded once as a document, then the queries
    assert embed.calls == [("document", list(data.corpus.values())), ("query", list(data.queries.values()))]
    # q0 ranks N (1), P (1/2, relevant), B (0): AP = 1/2; nDCG@10 = 1/log2(3); RR = 1/2
    # q2 ranks N (1, rel), X (.816, rel), P (1/2): AP = 1; nDCG = 1; RR = 1
    assert out["map_at_1000"] == round((0.5 + 1) / 2, 5) == 0.75
    assert out["ndcg_at_10"] == round((1 / LOG2_3 + 1) / 2, 5) == 0.81546
    assert out["mrr_at_10"] == pytest.approx(0.75)
    assert out["recall_at_1"] == round((0 + 1 / 2) / 2, 5) == 0.25
    # only candidates are ranked: the Baikal doc is never a hit for q2, so P@10 = 2/10 there, 1/10 for q0
    assert out["precision_at_10"] == round((0.1 + 0.2) / 2, 5) == 0.15


def test_reranking_over_1000_candidates_keeps_the_best_1000_like_mteb():
    n = 1001
    angles = np.arange(n)[::-1] * (math.pi / 2) / (n + 100)  # the LAST candidate is the most similar
    vecs = {f"c{i}": np.array([math.cos(a), math.sin(a)], dtype=np.float32) for i, a in enumerate(angles)}
    vecs["query"] = np.array([1.0, 0.0], dtype=np.float32)

    def embed(texts, role):
        return np.stack([vecs[t] for t in texts])

    cands = [f"d{i}" for i in range(n)]
    data = reranking.Data(
        {"q0": "query"}, {f"d{i}": f"c{i}" for i in range(n)}, {"q0": cands}, {"q0": {"d1000": 1}}, "fp"
    )
    out = reranking.evaluate(data, embed, params(reranking))
    assert out["ndcg_at_1"] == 1.0  # mteb: d1000 has the highest similarity of all 1001 candidates


# --------------------------------------------------------------------------------------------------- classification

CLS_VOCAB = ["матч", "выбор", "спектакл"]
CLS_TRAIN = [
    ("Матч закончился со счётом 2:1.", "спорт"),
    ("Выборы пройдут в сентябре.", "политика"),
    ("Спектакль идёт три часа.", "культура"),
    ("Вчерашний матч собрал полный стадион.", "спорт"),
    ("Результаты выборов объявят завтра.", "политика"),
    ("Премьера спектакля прошла с успехом.", "культура"),
    ("Этот матч решит судьбу чемпионата.", "спорт"),
    ("Кандидаты готовятся к выборам.", "политика"),
    ("Билеты на спектакль раскуплены.", "культура"),
    ("Матчи плей-офф начнутся в мае.", "спорт"),
    ("Выборный штаб открылся в центре.", "политика"),
    ("Новый спектакль поставил молодой режиссёр.", "культура"),
]
CLS_TEST = [
    ("Матч перенесли из-за дождя.", "спорт"),
    ("Судья остановил матч.", "спорт"),
    ("Явка на выборах выросла.", "политика"),
    ("Выборы мэра назначены на осень.", "политика"),
    ("Спектакль получил премию.", "культура"),
    ("Актёры репетируют спектакль.", "культура"),
]


def cls_data(test: list[tuple[str, str]] = CLS_TEST, train: list[tuple[str, str]] = CLS_TRAIN) -> classification.Data:
    return classification.Data(
        [t for t, _ in train], [lab for _, lab in train], [t for t, _ in test], [lab for _, lab in test], "fp"
    )


def test_classification_separable_is_perfect():
    enc = KeywordEncoder(CLS_VOCAB)
    for text, lab in CLS_TRAIN + CLS_TEST:
        assert enc.keywords(text) == {{"спорт": "матч", "политика": "выбор", "культура": "спектакл"}[lab]}, text
    embed = make_embed(enc)
    out = classification.evaluate(cls_data(), embed, params(classification, n_experiments=3, samples_per_label=2))
    # one-hot classes: every logistic regression separates them, so every experiment is perfect
    for metric in ("accuracy", "f1", "f1_weighted", "precision", "precision_weighted", "recall", "recall_weighted"):
        assert out[metric] == pytest.approx(1.0), metric
    assert "ap" not in out  # only binary tasks report AP
    # the union of the experiments' training rows is embedded once, then the test texts, all without a role
    labels = sorted({lab for _, lab in CLS_TRAIN})
    y = [labels.index(lab) for _, lab in CLS_TRAIN]
    union = sorted(set().union(*classification.undersample(y, 3, 2, 42)))
    assert embed.calls == [(None, [CLS_TRAIN[i][0] for i in union]), (None, [t for t, _ in CLS_TEST])]


def test_classification_binary_reports_ap():
    train = [row for row in CLS_TRAIN if row[1] != "культура"]
    test = [row for row in CLS_TEST if row[1] != "культура"]
    out = classification.evaluate(
        cls_data(test, train), make_embed(KeywordEncoder(CLS_VOCAB)), params(classification, n_experiments=2)
    )
    assert out["accuracy"] == out["ap"] == out["ap_weighted"] == pytest.approx(1.0)


def test_classification_one_error_hand_computed():
    # the first test text says "выборы" but is labelled sport: every experiment predicts politics for it
    test = [("Выборы в федерацию футбола.", "спорт"), *CLS_TEST[1:]]
    out = classification.evaluate(
        cls_data(test), make_embed(KeywordEncoder(CLS_VOCAB)), params(classification, n_experiments=3)
    )
    # accuracy 5/6. Per class (support 2 each):
    #  sport:    TP 1, FN 1, FP 0 -> P 1,   R 1/2, F1 2/3
    #  politics: TP 2, FN 0, FP 1 -> P 2/3, R 1,   F1 4/5
    #  culture:  TP 2              -> P 1,   R 1,   F1 1
    # macro F1 = (2/3 + 4/5 + 1)/3 = 37/45; P = (1 + 2/3 + 1)/3 = 8/9; R = (1/2 + 1 + 1)/3 = 5/6
    # weighted = macro here (equal supports)
    assert out["accuracy"] == pytest.approx(5 / 6)
    assert out["f1"] == out["f1_weighted"] == pytest.approx(37 / 45)
    assert out["precision"] == out["precision_weighted"] == pytest.approx(8 / 9)
    assert out["recall"] == out["recall_weighted"] == pytest.approx(5 / 6)


def test_classification_undersample_replays_mtebs_reshuffle():
    labels = [0, 1, 0, 2, 1, 0, 2, 1, 0, 1, 2, 0]
    got = classification.undersample(labels, n_experiments=3, samples_per_label=2, seed=42)

    # the documented procedure, replayed with numpy: ONE index list, shuffled in place by a fresh
    # RandomState(42) in every experiment (so experiment i sees the permutation applied i + 1 times),
    # then the first 2 indices of each label in that order
    idxs = list(range(len(labels)))
    expected = []
    for _ in range(3):
        np.random.RandomState(42).shuffle(idxs)
        seen: Counter[int] = Counter()
        chosen = []
        for i in idxs:
            if seen[labels[i]] < 2:
                chosen.append(i)
                seen[labels[i]] += 1
        expected.append(chosen)
    assert got == expected

    # hand trace of experiment 1: RandomState(42).permutation(12) = 10 9 0 8 5 2 1 11 4 7 3 6, labels
    #  2 1 0 0 0 0 1 0 1 1 2 2 -> keep 10 (2), 9 (1), 0 (0), 8 (0), skip 5 2, keep 1 (1), skip 11 4 7, keep 3 (2)
    assert list(np.random.RandomState(42).permutation(12)) == [10, 9, 0, 8, 5, 2, 1, 11, 4, 7, 3, 6]
    assert got[0] == [10, 9, 0, 8, 1, 3]
    # experiment 2 applies the same permutation to the already shuffled list: a different subset
    assert got[1] == [3, 7, 10, 4, 2, 0]
    assert got[2] == [8, 11, 3, 10, 7, 1]
    for chosen in got:
        assert Counter(labels[i] for i in chosen) == {0: 2, 1: 2, 2: 2}
    # fewer examples than samples_per_label: all of them are kept
    assert sorted(classification.undersample([0, 0, 1], 1, 5, 42)[0]) == [0, 1, 2]


def test_classification_loader(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": t, "label": lab} for t, lab in CLS_TRAIN])
    write_jsonl(tmp_path / "test.jsonl", [{"text": "Матч перенесли.", "label": "спорт"}])
    data = load_data(task_spec(tmp_path, "classification"))
    assert data.train_texts == [t for t, _ in CLS_TRAIN]
    assert data.train_labels == [lab for _, lab in CLS_TRAIN]
    assert data.test_texts == ["Матч перенесли."] and data.test_labels == ["спорт"]
    assert data.n_items == 1
    # integer labels are kept as text
    write_jsonl(tmp_path / "train.jsonl", [{"text": f"т{i}", "label": i % 2} for i in range(4)])
    assert load_data(task_spec(tmp_path, "classification")).train_labels == ["0", "1", "0", "1"]
    # a class with a single training example
    write_jsonl(
        tmp_path / "train.jsonl", [{"text": "а", "label": 0}, {"text": "б", "label": 0}, {"text": "в", "label": 1}]
    )
    with pytest.raises(UserError, match="class '1' has 1 example"):
        load_data(task_spec(tmp_path, "classification"))
    # a single class
    write_jsonl(tmp_path / "train.jsonl", [{"text": "а", "label": 0}, {"text": "б", "label": 0}])
    with pytest.raises(UserError, match="only one class"):
        load_data(task_spec(tmp_path, "classification"))
    # a list where one label is expected
    write_jsonl(tmp_path / "train.jsonl", [{"text": "а", "label": [0]}])
    with pytest.raises(UserError, match="row 1"):
        load_data(task_spec(tmp_path, "classification"))


# --------------------------------------------------------------------------------------------------- multilabel

ML_VOCAB = ["рад", "груст", "смешан", "страш"]
ML_JOY = ["Я так рад нашей встрече!", "Радуюсь каждому дню.", "Рада видеть тебя снова.", "Какая радость!"]
ML_SAD = ["Мне грустно сегодня.", "Грусть не проходит.", "Грустная песня звучит весь вечер.", "Как же грустно."]
ML_MIX = [
    "Рад, но грустно: смешанные чувства.",
    "Смешанные чувства: и радость, и грусть.",
    "Смешанное настроение — радостно и грустно.",
    "Смешанные эмоции: радостно, но грустно.",
]
ML_FEAR = ["Мне страшно одному.", "Страшный сон приснился.", "Страшно выходить ночью.", "Это страшная история."]
ML_NONE = ["Завтра будет дождь.", "Поезд отправляется в полдень."]
ML_TRAIN = (
    [(t, ["joy"]) for t in ML_JOY]
    + [(t, ["sadness"]) for t in ML_SAD]
    + [(t, ["joy", "sadness"]) for t in ML_MIX]
    + [(t, ["fear"]) for t in ML_FEAR]  # a label the test split never has: dropped by the binarizer (as mteb)
    + [(t, []) for t in ML_NONE]  # no label: never sampled
)
ML_TEST = [
    ("Очень рад за вас.", ["joy"]),
    ("Радостный день.", ["joy"]),
    ("Грустно и одиноко.", ["sadness"]),
    ("Грустный фильм.", ["sadness"]),
    ("Смешанные чувства: радостно и грустно.", ["joy", "sadness"]),
    ("Смешанно: рад и грущу, грустно.", ["joy", "sadness"]),
]


def ml_data(test: list[tuple[str, list[str]]] = ML_TEST) -> multilabel_classification.Data:
    return multilabel_classification.Data(
        [t for t, _ in ML_TRAIN], [ls for _, ls in ML_TRAIN], [t for t, _ in test], [ls for _, ls in test], "fp"
    )


def ml_keywords_check(enc: KeywordEncoder) -> None:
    groups = {"joy": {"рад"}, "sadness": {"груст"}, "fear": {"страш"}}
    for text, labels in ML_TRAIN + ML_TEST:
        keys = set().union(*(groups[lab] for lab in labels)) if labels else set()
        if len(labels) == 2:
            keys.add("смешан")
        assert enc.keywords(text) == keys, text


def test_multilabel_separable_is_perfect():
    # samples_per_label = 100 keeps every labelled training row in every experiment, so each test text has 4 exact
    # duplicates (distance 0) among its 5 nearest neighbours: every per-label majority vote is right.
    enc = KeywordEncoder(ML_VOCAB)
    ml_keywords_check(enc)
    embed = make_embed(enc)
    out = multilabel_classification.evaluate(
        ml_data(), embed, params(multilabel_classification, n_experiments=3, samples_per_label=100)
    )
    assert out == pytest.approx({"accuracy": 1.0, "lrap": 1.0, "f1": 1.0, "hamming": 1.0})
    # the 16 labelled rows are embedded (once), never the two unlabelled ones; then the test texts
    assert embed.roles == [None, None]
    assert sorted(embed.calls[0][1]) == sorted(t for t, ls in ML_TRAIN if ls)
    assert embed.calls[1][1] == [t for t, _ in ML_TEST]


def test_multilabel_one_error_hand_computed():
    # a 7th test text reads sad but is labelled joy: predicted {sadness}, true {joy}
    test = [*ML_TEST, ("Грустные новости.", ["joy"])]
    out = multilabel_classification.evaluate(
        ml_data(test), make_embed(KeywordEncoder(ML_VOCAB)), params(multilabel_classification, samples_per_label=100)
    )
    # exact match 6/7; Hamming score per row |T∩P|/|T∪P| = 0/2 for that row -> 6/7
    # macro F1 over (joy, sadness): joy TP 4, FN 1, FP 0 -> 8/9; sadness TP 4, FP 1, FN 0 -> 8/9 -> 8/9
    # LRAP (on hard 0/1 predictions): that row's true label joy scores 0 while sadness scores 1 -> rank 2,
    #   one relevant label within -> 1/2; every other row 1 -> (6 + 1/2)/7 = 13/14
    assert out["accuracy"] == pytest.approx(6 / 7)
    assert out["hamming"] == pytest.approx(6 / 7)
    assert out["f1"] == pytest.approx(8 / 9)
    assert out["lrap"] == pytest.approx(13 / 14)


def test_hamming_score_hand_example():
    y_true = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 0]])
    y_pred = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1]])
    # rows: 1/2 (one of two), 1/1, both empty = 1.0, 0/3  ->  (0.5 + 1 + 1 + 0)/4 = 0.625
    assert multilabel_classification.hamming_score(y_true, y_pred) == pytest.approx(0.625)
    assert multilabel_classification.hamming_score(np.zeros((2, 3)), np.zeros((2, 3))) == 1.0


def test_multilabel_undersample_shares_one_generator():
    labels = [["a"], ["b"], ["a", "b"], [], ["a"], ["b"], [], ["a"], ["b"], ["a", "b"]]
    rng = np.random.default_rng(42)
    got = [multilabel_classification.undersample(labels, 2, rng) for _ in range(3)]

    # replay mteb's _undersample_data_indices: the SAME default_rng(42) shuffles a fresh arange(n) each time;
    # a row is kept while any of its labels is under quota, then all its labels are counted
    ref_rng = np.random.default_rng(42)
    expected = []
    for _ in range(3):
        idxs = list(np.arange(len(labels)))
        ref_rng.shuffle(idxs)
        count: defaultdict[str, int] = defaultdict(int)
        chosen = []
        for i in idxs:
            if any(count[lab] < 2 for lab in labels[i]):
                chosen.append(i)
                for lab in labels[i]:
                    count[lab] += 1
        expected.append(chosen)
    assert got == expected
    assert got[0] != got[1] or got[1] != got[2]  # the generator state carries on between experiments
    for chosen in got:
        assert 3 not in chosen and 6 not in chosen  # rows without labels are never picked
        count = Counter(lab for i in chosen for lab in labels[i])
        assert count["a"] >= 2 and count["b"] >= 2
        # every kept row still had a label under quota when it was reached
        running: Counter[str] = Counter()
        for i in chosen:
            assert any(running[lab] < 2 for lab in labels[i])
            running.update(labels[i])


def test_multilabel_refuses_a_test_split_mteb_would_subsample():
    data = ml_data()
    with pytest.raises(UserError, match="max_eval_samples"):
        multilabel_classification.evaluate(
            data, make_embed(KeywordEncoder(ML_VOCAB)), params(multilabel_classification, max_eval_samples=5)
        )


def test_multilabel_loader(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": t, "labels": ls} for t, ls in ML_TRAIN])
    (tmp_path / "test.csv").write_text(
        'text,labels\nОчень рад.,"[""joy""]"\nНичего.,[]\nОба.,"[""joy"", ""sadness""]"\n', encoding="utf-8"
    )
    data = load_data(task_spec(tmp_path, "multilabel_classification"))
    assert data.train_labels == [ls for _, ls in ML_TRAIN]
    assert data.test_texts == ["Очень рад.", "Ничего.", "Оба."]
    assert data.test_labels == [["joy"], [], ["joy", "sadness"]]  # JSON lists inside CSV cells
    write_jsonl(tmp_path / "train.jsonl", [{"text": "а", "labels": []}])
    with pytest.raises(UserError, match="no training row has any label"):
        load_data(task_spec(tmp_path, "multilabel_classification"))


# --------------------------------------------------------------------------------------------------- clustering

CLU_VOCAB = ["матч", "выбор", "спектакл"]
CLU_TEMPLATES = {
    "спорт": "Матч номер {} завершился.",
    "политика": "Выборы в округе {} прошли спокойно.",
    "культура": "Спектакль {} понравился зрителям.",
}
# mteb's bootstrap draws 16 384 documents per k-means fit; 600 keep the same procedure fast
CLU_FAST = {"n_clusters": 3, "max_documents_per_cluster": 600}


def clu_data(per_cluster: int = 10, shuffle_labels: bool = False) -> clustering.Data:
    texts = [tpl.format(i) for tpl in CLU_TEMPLATES.values() for i in range(per_cluster)]
    labels = [lab for lab in CLU_TEMPLATES for _ in range(per_cluster)]
    if shuffle_labels:
        labels = [str(v) for v in np.random.RandomState(0).permutation(labels)]
    return clustering.Data(texts, labels, "fp")


def test_clustering_separated_clusters_score_one():
    embed = make_embed(KeywordEncoder(CLU_VOCAB))
    out = clustering.evaluate(clu_data(), embed, params(clustering))  # mteb's 10 fits of 16 384 draws
    # three distinct points, three clusters: k-means++ seeds one centre on each, every bootstrap is perfect
    assert out == pytest.approx({"v_measure": 1.0, "v_measure_std": 0.0, "ami": 1.0, "ami_std": 0.0})
    # all 30 texts (fewer than max_document_to_embed) embedded once, in mteb's random.Random(42).sample order
    order = random.Random(42).sample(range(30), 30)
    assert embed.calls == [(None, [clu_data().texts[i] for i in order])]


def test_clustering_random_labels_score_near_zero():
    out = clustering.evaluate(
        clu_data(per_cluster=100, shuffle_labels=True),
        make_embed(KeywordEncoder(CLU_VOCAB)),
        params(clustering, n_clusters=3, max_documents_per_cluster=3000),
    )
    # the clusters are found perfectly, but the gold labels are independent of them
    assert 0.0 <= out["v_measure"] < 0.1
    assert abs(out["ami"]) < 0.1
    assert out["v_measure_std"] > 0  # each bootstrap draw (with replacement) gives a different contingency table


def test_clustering_replays_mtebs_bootstrap():
    """mteb's procedure, replayed with sklearn: one random.Random(seed) samples the documents to embed, then draws
    max_documents_per_cluster indices WITH replacement for each of n_clusters MiniBatchKMeans fits."""
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.metrics import adjusted_mutual_info_score, v_measure_score

    data = clu_data(per_cluster=20, shuffle_labels=True)
    enc = KeywordEncoder(CLU_VOCAB)
    p = params(clustering, n_clusters=4, max_documents_per_cluster=500, max_document_to_embed=50)
    out = clustering.evaluate(data, make_embed(enc), p)

    rng = random.Random(42)
    picked = rng.sample(range(60), k=50)
    x = enc.encode([data.texts[i] for i in picked])
    y = np.array([data.labels[i] for i in picked])
    model = MiniBatchKMeans(n_clusters=3, batch_size=512, init="k-means++", n_init=1, random_state=42)
    vs, amis = [], []
    for _ in range(4):
        draw = rng.choices(range(50), k=500)
        pred = model.fit_predict(x[draw])
        vs.append(v_measure_score(y[draw], pred))
        amis.append(adjusted_mutual_info_score(y[draw], pred))
    assert out["v_measure"] == pytest.approx(np.mean(vs))
    assert out["v_measure_std"] == pytest.approx(np.std(vs))
    assert out["ami"] == pytest.approx(np.mean(amis))


def test_clustering_embeds_at_most_max_document_to_embed():
    embed = make_embed(KeywordEncoder(CLU_VOCAB))
    clustering.evaluate(clu_data(), embed, params(clustering, **{**CLU_FAST, "max_document_to_embed": 12}))
    assert len(embed.calls) == 1 and len(embed.calls[0][1]) == 12
    embed = make_embed(KeywordEncoder(CLU_VOCAB))
    # fraction 0.5 of 30 -> int(15.0) = 15 documents
    clustering.evaluate(
        clu_data(),
        embed,
        params(clustering, **{**CLU_FAST, "max_document_to_embed": None, "max_fraction_of_documents_to_embed": 0.5}),
    )
    assert len(embed.calls[0][1]) == 15
    with pytest.raises(UserError, match="only one of"):
        clustering.evaluate(
            clu_data(),
            make_embed(KeywordEncoder(CLU_VOCAB)),
            params(clustering, max_fraction_of_documents_to_embed=0.5),
        )


def test_clustering_loader(tmp_path):
    write_jsonl(tmp_path / "test.jsonl", [{"text": "Матч.", "label": "спорт"}, {"text": "Выборы.", "label": 7}])
    data = load_data(task_spec(tmp_path, "clustering"))
    assert data.texts == ["Матч.", "Выборы."] and data.labels == ["спорт", "7"]
    write_jsonl(tmp_path / "test.jsonl", [{"text": "Матч.", "label": "спорт"}, {"text": "Гол.", "label": "спорт"}])
    with pytest.raises(UserError, match="at least two distinct labels"):
        load_data(task_spec(tmp_path, "clustering"))
    write_jsonl(tmp_path / "test.jsonl", [{"text": "   ", "label": "спорт"}])
    with pytest.raises(UserError, match=r"row 1.*empty"):
        load_data(task_spec(tmp_path, "clustering"))


# --------------------------------------------------------------------------------------------------- prompts

PROMPTS = {
    "Tiny-query": "task+role: ",
    "Tiny": "task: ",
    "retrieval-query": "category+role: ",
    "retrieval": "category: ",
    "query": "role: ",
    "document": "role-doc: ",
}


def test_prompt_precedence_task_role_then_task_then_category_role_then_category_then_role():
    table = dict(PROMPTS)
    assert resolve_prompt(table, "Tiny", "retrieval", "query") == "task+role: "
    del table["Tiny-query"]
    assert resolve_prompt(table, "Tiny", "retrieval", "query") == "task: "  # task beats category+role
    del table["Tiny"]
    assert resolve_prompt(table, "Tiny", "retrieval", "query") == "category+role: "
    del table["retrieval-query"]
    assert resolve_prompt(table, "Tiny", "retrieval", "query") == "category: "  # category beats role
    del table["retrieval"]
    assert resolve_prompt(table, "Tiny", "retrieval", "query") == "role: "
    del table["query"]
    assert resolve_prompt(table, "Tiny", "retrieval", "query") is None
    assert resolve_prompt(table, "Tiny", "retrieval", "document") == "role-doc: "


def test_prompt_role_keys_need_a_role():
    # without a role (classification, clustering, STS, pairs) only task and category keys apply
    assert resolve_prompt(PROMPTS, "Other", "sts", None) is None
    assert resolve_prompt(PROMPTS, "Tiny", "sts", None) == "task: "
    assert resolve_prompt({"retrieval-query": "x", "retrieval": "c"}, "T", "retrieval", None) == "c"
    assert resolve_prompt(PROMPTS, "Other", "sts", "document") == "role-doc: "
    assert resolve_prompt(None, "Tiny", "retrieval", "query") is None
    assert resolve_prompt({}, "Tiny", "retrieval", "query") is None


def test_prompt_mteb_task_type_spellings():
    assert resolve_prompt({"PairClassification": "p: "}, "TERRa", "pair_classification", None) == "p: "
    assert resolve_prompt({"MultilabelClassification": "m: "}, "CEDR", "multilabel_classification", None) == "m: "
    assert resolve_prompt({"STS": "s: "}, "X", "sts", None) == "s: "
    assert resolve_prompt({"Reranking-document": "rd: ", "document": "d: "}, "X", "reranking", "document") == "rd: "
    # category+role in mteb spelling still beats bare category in ours (precedence is by level, then spelling)
    assert resolve_prompt({"Retrieval-query": "A", "retrieval": "B"}, "X", "retrieval", "query") == "A"
    # at the same level our spelling is tried first
    assert resolve_prompt({"Retrieval": "A", "retrieval": "B"}, "X", "retrieval", None) == "B"
    assert candidate_keys("RuBQ", "reranking", "query") == [
        "RuBQ-query",
        "RuBQ",
        "reranking-query",
        "Reranking-query",
        "reranking",
        "Reranking",
        "query",
    ]


def test_empty_prompt_is_returned_not_skipped():
    # FRIDA's RiaNewsRetrievalHardNegatives.v2 -> "": no prefix, and it blocks the fallbacks
    table = {"RiaNewsRetrievalHardNegatives.v2": "", "Retrieval-query": "search_query: ", "query": "q: "}
    assert resolve_prompt(table, "RiaNewsRetrievalHardNegatives.v2", "retrieval", "query") == ""
    assert resolve_prompt(table, "RiaNews", "retrieval", "query") == "search_query: "
    assert resolve_prompt({"Tiny-query": "", "Tiny": "t: "}, "Tiny", "retrieval", "query") == ""


@pytest.mark.parametrize("fn", ["cosine", "dot", "euclidean"])
def test_chunked_exact_search_equals_brute_force_and_never_builds_the_full_matrix(
    fn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from embbench.categories import retrieval as retrieval_mod

    rng = np.random.default_rng(7)
    q, d = rng.standard_normal((23, 16), dtype=np.float32), rng.standard_normal((211, 16), dtype=np.float32)
    full = retrieval_mod.similarity_matrix(q, d, fn)
    ref_scores, ref_idx = torch.topk(full, 10, dim=1)
    shapes: list[tuple[int, int]] = []
    real = retrieval_mod.similarity_matrix

    def spy(qv: np.ndarray, dv: np.ndarray, f: str) -> Any:
        shapes.append((len(qv), len(dv)))
        return real(qv, dv, f)

    monkeypatch.setattr(retrieval_mod, "similarity_matrix", spy)
    scores, idx = retrieval_mod.exact_search(q, d, 10, fn, chunk=50, query_batch=4)
    assert max(a for a, _ in shapes) <= 4 and max(b for _, b in shapes) <= 50  # never queries x documents at once
    assert len(shapes) == math.ceil(23 / 4) * math.ceil(211 / 50)  # every (query batch, chunk) once
    np.testing.assert_array_equal(idx, ref_idx.numpy())  # random floats: no ties, so the same order
    np.testing.assert_allclose(scores, ref_scores.numpy(), rtol=1e-6, atol=1e-6)  # float32 sums, other shapes
    # a k above the corpus size returns the whole corpus, ranked
    _, all_idx = retrieval_mod.exact_search(q, d[:7], 1000, fn, chunk=3, query_batch=5)
    assert all_idx.shape == (23, 7) and all(sorted(row) == list(range(7)) for row in all_idx.tolist())
