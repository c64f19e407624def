"""`--limit N`: the first N items of a task's evaluated split, for a smoke run (the result is recorded as partial).

An item is what the main metric averages over: a test text (classification, clustering), a pair (pair
classification, STS), a query (retrieval, reranking). Training data is kept whole; a retrieval or reranking
corpus keeps the documents the kept queries judge or rank, plus the first 10 x N others as distractors.
"""

from __future__ import annotations

import hashlib
from typing import Any

from embbench.categories._common import Columns

DISTRACTORS_PER_QUERY = 10


def _first(mapping: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {k: mapping[k] for k in keys if k in mapping}


def _queries(values: dict[str, Any], n: int) -> dict[str, Any]:
    """Retrieval / reranking columns cut to the first n judged queries and the documents they need."""
    qrels, queries, corpus = values["qrels"], values["queries"], values["corpus"]
    kept = [q for q in queries if q in qrels][:n]
    out = {**values, "queries": _first(queries, kept), "qrels": _first(qrels, kept)}
    needed = {d for q in kept for d in qrels[q]}
    if "candidates" in values:
        out["candidates"] = _first(values["candidates"], kept)
        needed |= {d for q in kept for d in values["candidates"].get(q, [])}
    others = [d for d in corpus if d not in needed][: DISTRACTORS_PER_QUERY * n]
    out["corpus"] = {d: t for d, t in corpus.items() if d in needed or d in set(others)}
    return out


def limit_columns(columns: Columns, n: int | None) -> Columns:
    """The columns of the first n items (None: all); the fingerprint says the data was cut."""
    if n is None:
        return columns
    values = dict(columns.values)
    if "qrels" in values and "queries" in values:
        values = _queries(values, n)
    elif "test_text" in values:
        values = {k: (v[:n] if k.startswith("test_") else v) for k, v in values.items()}
    else:  # one split of rows: every row-valued column cut alike (score_range is not a column of rows)
        values = {k: (v[:n] if isinstance(v, list) else v) for k, v in values.items()}
    fp = hashlib.sha256(f"{columns.fingerprint}\x00limit={n}".encode()).hexdigest()
    return Columns(values, fp, columns.origin)
