"""A local task folder as neutral columns: which files each category reads, with checks naming file, row, column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from embbench.categories._common import Columns
from embbench.data.files import (
    binary,
    find_split_file,
    fingerprint,
    label,
    label_list,
    number,
    read_id_texts,
    read_qrels,
    read_split,
    text,
    text_list,
)
from embbench.errors import UserError
from embbench.spec.tasks import TaskSpec


def _train_test(folder: Path, task: TaskSpec, label_col: str, check: Callable[[object], object]) -> Columns:
    """Train and eval files with columns text and <label_col>, as train_* / test_* values."""
    cols = {"text": text, label_col: check}
    train_path, train = read_split(folder, task.train_split, cols)
    test_path, test = read_split(folder, task.eval_split, cols)
    key = "label" if label_col == "label" else "labels"
    values = {
        "train_text": [r["text"] for r in train],
        f"train_{key}": [r[label_col] for r in train],
        "test_text": [r["text"] for r in test],
        f"test_{key}": [r[label_col] for r in test],
    }
    return Columns(values, fingerprint([train_path, test_path]), {f"train_{key}": str(train_path)})


def _one_split(folder: Path, split: str, cols: dict[str, Callable[[object], object]]) -> Columns:
    path, rows = read_split(folder, split, cols)
    values = {c: [r[c] for r in rows] for c in cols}
    return Columns(values, fingerprint([path]), dict.fromkeys(cols, str(path)))


def _beir(folder: Path, split: str) -> Columns:
    """corpus, queries and qrels/<split>.tsv (BEIR layout); every judged id must exist."""
    corpus_path = find_split_file(folder, "corpus")
    queries_path = find_split_file(folder, "queries")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    corpus = read_id_texts(corpus_path, with_title=True)
    queries = read_id_texts(queries_path, with_title=False)
    qrels = read_qrels(qrels_path)
    for qid, docs in qrels.items():
        if qid not in queries:
            raise UserError(
                qrels_path,
                f"query id '{qid}' is not in {queries_path.name}",
                field="query-id",
                fix="remove the line or add the query",
            )
        for did in docs:
            if did not in corpus:
                raise UserError(
                    qrels_path,
                    f"corpus id '{did}' is not in {corpus_path.name}",
                    field="corpus-id",
                    fix="remove the line or add the document",
                )
    values = {"queries": queries, "corpus": corpus, "qrels": qrels}
    return Columns(values, fingerprint([corpus_path, queries_path, qrels_path]), {"qrels": str(qrels_path)})


def read_columns(task: TaskSpec, folder: Path) -> Columns:
    """The columns a task's category builds its Data from, read from the task's data folder."""
    category, split = task.category, task.eval_split
    if category == "classification":
        return _train_test(folder, task, "label", label)
    if category == "multilabel_classification":
        return _train_test(folder, task, "labels", label_list)
    if category == "clustering":
        return _one_split(folder, split, {"text": text, "label": label})
    if category == "pair_classification":
        return _one_split(folder, split, {"sentence1": text, "sentence2": text, "label": binary})
    if category == "sts":
        cols = _one_split(folder, split, {"sentence1": text, "sentence2": text, "score": number})
        return Columns({**cols.values, "score_range": task.score_range}, cols.fingerprint, cols.origin)
    if category == "reranking":
        return _one_split(folder, split, {"query": text, "positive": text_list, "negative": text_list})
    if category == "retrieval":
        return _beir(folder, split)
    raise UserError(task.file, f"local data is not supported for {category}", field="category")
