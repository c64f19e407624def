"""categories/fusion.py: reciprocal rank and score fusion by hand, fusion of a run with itself, rerank runs."""

from __future__ import annotations

import random

import pytest

from embbench.categories import fusion
from embbench.categories.retrieval import score_run_items, top_run

A = {"q1": {"d1": 3.0, "d2": 2.0, "d3": 1.0}, "q2": {"d4": 0.5, "d5": 0.9}}
B = {"q1": {"d3": 10.0, "d1": 5.0}, "q2": {"d4": 7.0}}


def test_rrf_by_hand() -> None:
    fused = fusion.rrf([A, B], k=60)
    assert fused["q1"] == pytest.approx({"d1": 1 / 61 + 1 / 62, "d2": 1 / 62, "d3": 1 / 63 + 1 / 61})
    assert fused["q2"] == pytest.approx({"d5": 1 / 61, "d4": 1 / 62 + 1 / 61})
    assert list(fused["q1"]) == ["d1", "d3", "d2"]  # best first
    assert list(fusion.rrf([A, B], k=60, top_k=1)["q1"]) == ["d1"]


def test_score_fusion_by_hand() -> None:
    fused = fusion.score_fusion([A, B], weights=[0.25, 0.75])
    # A q1 min-max: d1 1, d2 0.5, d3 0; B q1: d3 1, d1 0; B q2 has one document: 1.0
    assert fused["q1"] == pytest.approx({"d1": 0.25, "d2": 0.125, "d3": 0.75})
    assert fused["q2"] == pytest.approx({"d5": 0.25, "d4": 0.75})
    assert fusion.score_fusion([A, B])["q1"] == pytest.approx({"d1": 0.5, "d2": 0.25, "d3": 0.5})
    with pytest.raises(ValueError):
        fusion.score_fusion([A, B], weights=[1.0])


def test_min_max_of_equal_scores_is_one() -> None:
    assert fusion.min_max({"a": 2.0, "b": 2.0}) == {"a": 1.0, "b": 1.0}
    assert fusion.min_max({}) == {}


def _random_task(seed: int) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    """50 queries, 80 scored documents each (some tied scores), 1-3 graded relevant documents."""
    rng = random.Random(seed)
    qrels, run = {}, {}
    for q in range(50):
        docs = [f"d{rng.randrange(400)}" for _ in range(120)]
        scored = {d: round(rng.random(), 2) for d in dict.fromkeys(docs)}  # rounding makes ties
        run[f"q{q}"] = dict(list(scored.items())[:80])
        qrels[f"q{q}"] = {d: rng.choice([1, 2]) for d in rng.sample(sorted(scored), 3)}
    return qrels, run


@pytest.mark.parametrize("seed", [0, 1])
def test_fusion_of_a_run_with_itself_scores_as_the_run(seed: int) -> None:
    qrels, run = _random_task(seed)
    expected, expected_items = score_run_items(qrels, run)
    for fused in (fusion.rrf([run, run]), fusion.score_fusion([run, run], [0.4, 0.6])):
        metrics, items = fusion.score(qrels, fused)
        assert metrics == expected
        assert items["by_metric"] == expected_items["by_metric"]
        assert [list(d) for d in items["run"].values()] == [list(d) for d in top_run(run).values()]


def test_score_keeps_the_top_k_as_the_stored_run() -> None:
    qrels, run = _random_task(2)
    _, items = fusion.score(qrels, run, keep=5)
    assert all(len(d) == 5 for d in items["run"].values())
    assert items["run"]["q0"] == top_run(run, 5)["q0"]


def test_candidates_and_reranked_run() -> None:
    cands = fusion.candidates(A, top_k=2)
    assert cands == {"q1": ["d1", "d2"], "q2": ["d5", "d4"]}
    run = fusion.reranked(cands, {"q1": [0.1, 0.9], "q2": [0.3, 0.2]})
    assert run == {"q1": {"d1": 0.1, "d2": 0.9}, "q2": {"d5": 0.3, "d4": 0.2}}
