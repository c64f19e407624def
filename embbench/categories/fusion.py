"""Pipeline stages over stored runs: reciprocal-rank and score fusion, reranked runs, and their scoring."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from embbench.categories.retrieval import RUN_TOP_K, Qrels, Run, ranked, score_run_items, top_run

RRF_K = 60  # as mteb's HybridSearch and Cormack et al. (2009)
CATEGORIES = ("retrieval", "reranking")  # the categories whose results are rankings a pipeline can reuse


def rrf(runs: Sequence[Run], k: int = RRF_K, top_k: int = RUN_TOP_K) -> Run:
    """Reciprocal rank fusion: a document's score is the sum over the runs of 1 / (k + its rank), rank 1 the
    best (a run that lacks the document adds nothing); each query keeps its top_k fused documents."""
    fused: Run = {}
    for qid in _query_ids(runs):
        scores: dict[str, float] = {}
        for run in runs:
            for rank, (doc, _) in enumerate(ranked(run.get(qid, {})), start=1):
                scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
        fused[qid] = scores
    return top_run(fused, top_k)


def score_fusion(runs: Sequence[Run], weights: Sequence[float] | None = None, top_k: int = RUN_TOP_K) -> Run:
    """Weighted sum of each run's scores, min-max normalised per query (a run that lacks a document adds 0; a
    query whose scores in a run are all equal gets 1.0 there); weights default to equal."""
    w = list(weights) if weights is not None else [1.0 / len(runs)] * len(runs)
    if len(w) != len(runs):
        raise ValueError(f"{len(w)} weights for {len(runs)} runs")
    fused: Run = {}
    for qid in _query_ids(runs):
        scores: dict[str, float] = {}
        for run, weight in zip(runs, w, strict=True):
            for doc, value in min_max(run.get(qid, {})).items():
                scores[doc] = scores.get(doc, 0.0) + weight * value
        fused[qid] = scores
    return top_run(fused, top_k)


def min_max(docs: Mapping[str, float]) -> dict[str, float]:
    """Scores scaled to [0, 1] by the query's own minimum and maximum (all 1.0 when they are equal)."""
    if not docs:
        return {}
    lo, hi = min(docs.values()), max(docs.values())
    if hi == lo:
        return dict.fromkeys(docs, 1.0)
    return {d: (s - lo) / (hi - lo) for d, s in docs.items()}


def candidates(run: Run, top_k: int) -> dict[str, list[str]]:
    """Each query's top_k document ids of a first stage, best first: what a reranker scores."""
    return {q: [d for d, _ in ranked(docs)[:top_k]] for q, docs in run.items()}


def reranked(cands: Mapping[str, Sequence[str]], scores: Mapping[str, Sequence[float]]) -> Run:
    """The run of a reranker: each query's candidates with the reranker's scores (only those; the first stage's
    documents beyond top_k are dropped, as mteb's reranking of saved predictions does)."""
    return {q: dict(zip(docs, map(float, scores[q]), strict=True)) for q, docs in cands.items()}


def score(qrels: Qrels, run: Run, keep: int = RUN_TOP_K) -> tuple[dict[str, float], dict[str, Any]]:
    """A fused or reranked run scored with the category's metrics: retrieval's pytrec_eval metrics, which are
    also reranking's (MAP@1000, MRR as mteb's reranking protocol); per-query detail and the top `keep` as a run."""
    return score_run_items(qrels, run, keep=keep)


def _query_ids(runs: Sequence[Run]) -> list[str]:
    return list(dict.fromkeys(q for run in runs for q in run))
