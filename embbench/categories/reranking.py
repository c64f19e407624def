"""Reranking: score each query's candidate list by embedding similarity, metrics as retrieval (MAP@1000)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embbench.categories._common import Columns, Embed, RankFn
from embbench.categories.retrieval import METRICS as RETRIEVAL_METRICS
from embbench.categories.retrieval import Qrels, Run, score_run_items, similarity_matrix
from embbench.categories.search import candidate_topk, from_params
from embbench.errors import UserError

VERSION = 1  # protocol version: bump when DEFAULTS or the scoring change, so stored results are recomputed
MAIN_METRIC = "map_at_1000"
METRICS = RETRIEVAL_METRICS  # scored as retrieval
TOP_K = 1000
DEFAULTS: dict[str, Any] = {"similarity_fn": "cosine"}


@dataclass(frozen=True)
class Data:
    """Queries, distinct candidate documents, each query's candidate ids, and which candidates are relevant."""

    queries: dict[str, str]
    corpus: dict[str, str]
    candidates: dict[str, list[str]]
    qrels: Qrels
    fingerprint: str

    @property
    def n_items(self) -> int:
        return len(self.queries)


def to_data(columns: Columns, where: Path | str) -> Data:
    """Data from either the values queries, corpus, candidates (query id -> candidate document ids) and qrels, or
    the row columns query, positive and negative (lists of texts; identical texts share one document id)."""
    v = columns.values
    if "positive" not in v:
        qrels = {str(q): {str(d): int(g) for d, g in docs.items()} for q, docs in v["qrels"].items() if docs}
        queries = {str(q): t for q, t in v["queries"].items() if str(q) in qrels}  # mteb drops unjudged queries
        candidates = {q: list(v["candidates"].get(q, [])) for q in queries}
        corpus = {str(d): t for d, t in v["corpus"].items()}
    else:
        queries, corpus, candidates, qrels = _from_rows(v["query"], v["positive"], v["negative"])
    if not queries:
        raise UserError(columns.where("positive", where), "no row has a positive candidate", field="positive")
    return Data(queries, corpus, candidates, {q: qrels[q] for q in queries}, columns.fingerprint)


def _from_rows(
    query: Sequence[str], positive: Sequence[list[str]], negative: Sequence[list[str]]
) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]], Qrels]:
    corpus: dict[str, str] = {}
    by_text: dict[str, str] = {}
    queries: dict[str, str] = {}
    candidates: dict[str, list[str]] = {}
    qrels: Qrels = {}
    for i, (q, pos, neg) in enumerate(zip(query, positive, negative, strict=True)):
        if not pos:
            continue  # no relevant candidate: mteb drops such queries
        qid = f"q{i}"
        queries[qid] = q
        ids: list[str] = []
        for doc in [d.strip() for d in list(pos) + list(neg)]:  # mteb strips document texts
            did = by_text.get(doc)
            if did is None:
                did = by_text[doc] = f"d{len(corpus)}"
                corpus[did] = doc
            if did not in ids:
                ids.append(did)
        candidates[qid] = ids
        qrels[qid] = {by_text[d.strip()]: 1 for d in pos}
    return queries, corpus, candidates, qrels


def evaluate(data: Data, embed: Embed, params: dict[str, Any]) -> dict[str, float]:
    """Encode every distinct candidate once (role document) and every query (role query); rank candidates."""
    return evaluate_items(data, embed, params)[0]


def evaluate_items(data: Data, embed: Embed, params: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """evaluate() plus per-query values."""
    import torch

    dids = list(data.corpus)
    pos = {d: i for i, d in enumerate(dids)}
    d_vecs = embed([data.corpus[d] for d in dids], "document")
    qids = list(data.queries)
    q_vecs = embed([data.queries[q] for q in qids], "query")
    run: Run = {}
    search = from_params(params)
    if not search.default:  # on the encoder's GPU (categories/search.py): the same scores, one transfer back
        rows = [[pos[d] for d in data.candidates[q]] for q in qids]
        tops = candidate_topk(q_vecs, d_vecs, rows, TOP_K, params["similarity_fn"], search)
        for qid, (values, at) in zip(qids, tops, strict=True):
            run[qid] = {data.candidates[qid][i]: float(s) for s, i in zip(values, at, strict=True)}
    else:
        for qi, qid in enumerate(qids):
            cand = data.candidates[qid]
            sims = similarity_matrix(q_vecs[qi : qi + 1], d_vecs[[pos[d] for d in cand]], params["similarity_fn"])[0]
            top = torch.topk(sims, min(TOP_K, len(cand)))  # mteb scores every candidate and keeps the best 1000
            run[qid] = {cand[i]: float(s) for s, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)}
    return score_run_items(data.qrels, run, keep=TOP_K)  # stored ranking: every candidate, as mteb reranks them


def evaluate_ranking(data: Data, rank: RankFn, params: dict[str, Any]) -> dict[str, float]:
    """Score a ranking baseline (BM25) over each query's candidates with the same metrics."""
    return evaluate_ranking_items(data, rank, params)[0]


def evaluate_ranking_items(data: Data, rank: RankFn, params: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """evaluate_ranking() plus per-query values."""
    dids = list(data.corpus)
    pos = {d: i for i, d in enumerate(dids)}
    qids = list(data.queries)
    cands = [[pos[d] for d in data.candidates[q]] for q in qids]
    hits = rank([data.queries[q] for q in qids], [data.corpus[d] for d in dids], cands, TOP_K)
    run = {q: {dids[j]: float(s) for j, s in h.items()} for q, h in zip(qids, hits, strict=True)}
    return score_run_items(data.qrels, run, keep=TOP_K)  # stored ranking: every candidate, as mteb reranks them
