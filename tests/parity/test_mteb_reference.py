"""Checks of the mteb reference runner itself (conversion unit test; a tiny real mteb run marked slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("mteb")

from tests.parity.mteb_reference import default_model_path, mteb_scores, reranking_to_retrieval


def test_reranking_conversion_dedups_texts_in_first_appearance_order() -> None:
    rows = [
        {"query": "a?", "positive": ["P1"], "negative": ["N1", "N2", "N1"]},
        {"query": "b?", "positive": ["N2", "P2"], "negative": ["P1", "N3"]},
    ]
    corpus, queries, qrels, top_ranked = reranking_to_retrieval(rows)
    assert corpus == [
        {"_id": "d0", "text": "P1"},
        {"_id": "d1", "text": "N1"},
        {"_id": "d2", "text": "N2"},
        {"_id": "d3", "text": "P2"},
        {"_id": "d4", "text": "N3"},
    ]
    assert queries == [{"_id": "q0", "text": "a?"}, {"_id": "q1", "text": "b?"}]
    assert qrels == {"q0": {"d0": 1}, "q1": {"d2": 1, "d3": 1}}
    assert top_ranked == {"q0": ["d0", "d1", "d2"], "q1": ["d2", "d3", "d0", "d4"]}


def test_unknown_and_missing_params_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown params"):
        mteb_scores("clustering", tmp_path, default_model_path(), {"n_cluster": 3})
    with pytest.raises(ValueError, match="requires params"):
        mteb_scores("sts", tmp_path, default_model_path(), {"min_score": 0})


@pytest.mark.slow
def test_tiny_sts_run_is_deterministic(tmp_path: Path) -> None:
    pairs = [
        ("Кошка спит на диване.", "Кот дремлет на софе.", 4.5),
        ("Мальчик играет в футбол.", "Ребёнок гоняет мяч.", 3.8),
        ("Идёт дождь.", "На улице солнечно.", 0.5),
        ("Я люблю чай.", "Мне нравится чай.", 4.8),
        ("Поезд опаздывает.", "Собака лает во дворе.", 0.0),
    ]
    with (tmp_path / "test.jsonl").open("w", encoding="utf-8") as handle:
        for s1, s2, score in pairs:
            handle.write(json.dumps({"sentence1": s1, "sentence2": s2, "score": score}, ensure_ascii=False))
            handle.write("\n")
    params = {"min_score": 0, "max_score": 5}
    first = mteb_scores("sts", tmp_path, default_model_path(), params)
    second = mteb_scores("sts", tmp_path, default_model_path(), params)
    assert first == second
    assert first["main_score"] == first["cosine_spearman"]
    assert isinstance(first["main_score"], float)
