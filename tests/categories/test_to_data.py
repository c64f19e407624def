"""Category modules built from neutral Columns: METRICS names what evaluate returns, the STS range rule, and the
one type rule for a task's params and a backend's options."""

from __future__ import annotations

from typing import Any

import pytest

from embbench import categories
from embbench.categories import sts
from embbench.categories._common import Columns, check_value, merge_options
from embbench.errors import UserError
from tests.fakes import KeywordEncoder, make_embed

VOCAB = ["кот", "пёс", "дом", "лес", "море"]
PAIRS = {
    "sentence1": ["кот дом", "пёс лес", "море", "кот"],
    "sentence2": ["кот", "лес", "дом море", "пёс"],
}
TRAIN = ["кот дом", "кот", "пёс лес", "пёс", "море", "море дом"]
TEST = ["кот лес", "пёс дом", "море кот"]
# per category: neutral columns and params small enough for six texts
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "sts": ({**PAIRS, "score": [4.0, 3.0, 1.0, 0.0], "score_range": (0.0, 5.0)}, {}),
    "pair_classification": ({**PAIRS, "label": [1, 1, 0, 0]}, {}),
    "classification": (
        {"train_text": TRAIN, "train_label": ["a", "a", "b", "b", "c", "c"], "test_text": TEST, "test_label": "abc"},
        {"n_experiments": 2},
    ),
    "multilabel_classification": (
        {
            "train_text": TRAIN,
            "train_labels": [["a"], ["a"], ["b"], ["b", "a"], [], ["c"]],
            "test_text": TEST,
            "test_labels": [["a"], ["b"], []],
        },
        {"n_experiments": 2, "n_neighbors": 2},
    ),
    "clustering": (
        {"text": TRAIN, "label": ["a", "a", "b", "b", "c", "c"]},
        {"n_clusters": 2, "max_documents_per_cluster": 12},
    ),
    "retrieval": (
        {
            "queries": {"q1": "кот", "q2": "лес", "q3": "дом"},
            "corpus": {"d1": "кот дом", "d2": "пёс лес", "d3": "море"},
            "qrels": {"q1": {"d1": 1}, "q2": {"d2": 2}, "q3": {}},
        },
        {},
    ),
    "reranking": (
        {"query": ["кот", "лес", "море"], "positive": [["кот дом"], ["пёс лес"], []], "negative": [["море"], [], []]},
        {},
    ),
}


def build(category: str, values: dict[str, Any]) -> Any:
    return categories.get(category).to_data(Columns(values, "f" * 64), "task.yaml")


@pytest.mark.parametrize("category", categories.NAMES)
def test_metrics_names_what_evaluate_returns(category: str) -> None:
    module = categories.get(category)
    values, overrides = CASES[category]
    data = build(category, values)
    metrics = module.evaluate(data, make_embed(KeywordEncoder(VOCAB)), {**module.DEFAULTS, **overrides})
    expected = set(module.METRICS)
    if category == "classification":  # three classes: no average precision (binary tasks only)
        expected -= {"ap", "ap_weighted"}
    assert set(metrics) == expected
    assert module.MAIN_METRIC in metrics and data.fingerprint == "f" * 64


def test_queries_without_judgements_are_dropped_as_mteb_does() -> None:
    data = build("retrieval", CASES["retrieval"][0])
    assert list(data.queries) == ["q1", "q2"] and list(data.qrels) == ["q1", "q2"]
    reranked = build("reranking", CASES["reranking"][0])
    assert list(reranked.queries) == ["q0", "q1"]
    assert reranked.candidates == {"q0": ["d0", "d1"], "q1": ["d2"]}  # one id per distinct text


def test_sts_without_a_score_range_takes_the_gold_range_and_the_same_scores() -> None:
    values = CASES["sts"][0]
    declared = build("sts", values)
    own = build("sts", {**values, "score_range": None})
    assert own.score_range == (0.0, 4.0) and declared.score_range == (0.0, 5.0)
    params = sts.DEFAULTS
    a = sts.evaluate(declared, make_embed(KeywordEncoder(VOCAB)), params)
    b = sts.evaluate(own, make_embed(KeywordEncoder(VOCAB)), params)
    assert a == pytest.approx(b, abs=1e-12)  # mteb's normalisation is linear: correlations do not change


def test_sts_checks_a_declared_range_and_needs_varying_scores() -> None:
    values = CASES["sts"][0]
    with pytest.raises(UserError, match=r"row 1: field 'score': score 4.0 is outside score_range \[0, 3\]"):
        build("sts", {**values, "score_range": (0.0, 3.0)})
    with pytest.raises(UserError, match="all gold scores are equal"):
        build("sts", {**values, "score": [2.0] * 4, "score_range": None})


def test_errors_name_the_file_the_values_came_from() -> None:
    values = {"text": ["a", "b"], "label": ["x", "x"]}
    with pytest.raises(UserError, match=r"^data/test.jsonl: field 'label'"):
        categories.get("clustering").to_data(Columns(values, "", {"label": "data/test.jsonl"}), "task.yaml")
    with pytest.raises(UserError, match=r"^task.yaml: field 'label'"):  # hub columns: the task file
        categories.get("clustering").to_data(Columns(values, ""), "task.yaml")


# default, given value, what is kept (None: refused)
RULE = [
    (1.5, 2, 2.0),  # a whole number for a float: kept as a float
    (1.5, 2.5, 2.5),
    (1.5, True, None),  # a bool is not a number
    (3, 4, 4),
    (3, 4.0, None),  # no decimals for an int
    (3, True, None),
    (True, False, False),
    (True, 0, None),
    ("cosine", "dot", "dot"),
    ("cosine", 1, None),
    (None, 0.25, 0.25),  # a None default takes any value
]


@pytest.mark.parametrize(("default", "value", "kept"), RULE)
def test_one_type_rule_for_params_and_options(default: Any, value: Any, kept: Any) -> None:
    if kept is None:
        with pytest.raises(UserError, match=r"field 'params\.k'"):
            check_value(default, value, "t.yaml", "params.k")
        return
    got = check_value(default, value, "t.yaml", "params.k")
    assert got == kept and type(got) is type(kept)


def test_merge_options_names_the_owner_and_the_choices() -> None:
    assert merge_options({"k1": 1.5, "b": 0.75}, {"k1": 2}, "m.yaml") == {"k1": 2.0, "b": 0.75}
    with pytest.raises(UserError) as info:
        merge_options({"k1": 1.5}, {"k2": 1}, "m.yaml", "options", "option", " for backend 'bm25'")
    assert str(info.value) == (
        "m.yaml: field 'options.k2': unknown option 'k2' for backend 'bm25' (fix: use one of: k1)"
    )
