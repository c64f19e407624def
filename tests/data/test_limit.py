"""--limit N: the first N items of each built-in task (test texts, pairs or queries), training data whole."""

from __future__ import annotations

import dataclasses

import pytest

from embbench.data import load
from embbench.spec import load_task
from tests.conftest import TASKS

FILES = ["terra", "stsb_ru", "sentirueval2016", "sensitive_topics_clustering", "tydiqa_ru", "xquad_ru"]


@pytest.mark.parametrize("name", FILES)
def test_limit_keeps_the_first_n_items(name: str) -> None:
    task = load_task(TASKS / f"{name}.yaml")
    full, cut = load(task), load(dataclasses.replace(task, limit=7))
    assert cut.n_items == 7 < full.n_items
    assert cut.fingerprint != full.fingerprint  # a partial result is never taken for the full one
    if name == "sentirueval2016":
        assert cut.train_texts == full.train_texts and cut.test_texts == full.test_texts[:7]


def test_retrieval_limit_keeps_judged_documents_and_distractors() -> None:
    task = load_task(TASKS / "tydiqa_ru.yaml")
    full, cut = load(task), load(dataclasses.replace(task, limit=5))
    assert list(cut.queries) == [q for q in full.queries if q in full.qrels][:5]
    judged = {d for q in cut.queries for d in cut.qrels[q]}
    assert judged <= set(cut.corpus) and len(cut.corpus) == len(judged) + 50
