"""Retrieval: exact dense search over the corpus, metrics from pytrec_eval as mteb computes them (nDCG@10)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embbench.categories._common import Columns, Embed, RankFn
from embbench.categories.search import Search, device_search, from_params
from embbench.errors import UserError

VERSION = 1  # protocol version: bump when DEFAULTS or the scoring change, so stored results are recomputed
MAIN_METRIC = "ndcg_at_10"
K_VALUES = (1, 3, 5, 10, 20, 100, 1000)
_AT = ("ndcg_at", "map_at", "recall_at", "precision_at", "hit_rate_at", "mrr_at")
METRICS = ("accuracy", *(f"{m}_{k}" for m in _AT for k in K_VALUES))
DEFAULTS: dict[str, Any] = {"ignore_identical_ids": False, "similarity_fn": "cosine", "corpus_chunk_size": 50000}
RUN_TOP_K = 100  # each query's stored ranking (items["run"]): the top 100 documents, as HAKARI stores
Qrels = dict[str, dict[str, int]]
Run = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Data:
    """BEIR-shaped data: query id -> text, document id -> text, and graded relevance judgements."""

    queries: dict[str, str]
    corpus: dict[str, str]
    qrels: Qrels
    fingerprint: str

    @property
    def n_items(self) -> int:
        return len(self.queries)


def to_data(columns: Columns, where: Path | str) -> Data:
    """Data from the values queries (id -> text), corpus (id -> text) and qrels (query id -> {document id: grade});
    queries without a judgement are dropped, as mteb does."""
    v = columns.values
    judged = {str(q): {str(d): int(g) for d, g in docs.items()} for q, docs in v["qrels"].items() if docs}
    queries = {str(q): t for q, t in v["queries"].items() if str(q) in judged}
    if not queries:
        raise UserError(columns.where("qrels", where), "no query has a relevance judgement", fix="add qrels lines")
    corpus = {str(d): t for d, t in v["corpus"].items()}
    return Data(queries, corpus, {q: judged[q] for q in queries}, columns.fingerprint)


def similarity_matrix(q: np.ndarray, d: np.ndarray, fn: str) -> Any:
    """Query x document scores (a torch tensor) with the model's similarity function."""
    import torch
    from sentence_transformers import util

    tq, td = (
        torch.from_numpy(np.ascontiguousarray(q, dtype=np.float32)),
        torch.from_numpy(np.ascontiguousarray(d, dtype=np.float32)),
    )
    funcs = {
        "cosine": util.cos_sim,
        "dot": util.dot_score,
        "euclidean": util.euclidean_sim,
        "manhattan": util.manhattan_sim,
    }
    return funcs[fn](tq, td)


def exact_search(
    q_vecs: np.ndarray,
    d_vecs: np.ndarray,
    top_k: int,
    fn: str,
    chunk: int = 50000,
    query_batch: int = 1024,
    search: Search | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, doc indices) per query, scanning the corpus in chunks: memory O(batch x chunk); a search
    other than the default (CPU, float32) runs on its device (categories/search.py)."""
    import torch

    if search is not None and not search.default:
        return device_search(q_vecs, d_vecs, top_k, fn, search, chunk, query_batch)

    k = min(top_k, len(d_vecs))
    all_scores = np.empty((len(q_vecs), k), dtype=np.float32)
    all_idx = np.empty((len(q_vecs), k), dtype=np.int64)
    for qs in range(0, len(q_vecs), query_batch):
        best_s: Any = None  # the running top-k (scores, indices) over the chunks so far
        best_i: Any = None
        for ds in range(0, len(d_vecs), chunk):
            sims = similarity_matrix(q_vecs[qs : qs + query_batch], d_vecs[ds : ds + chunk], fn)
            s, i = torch.topk(sims, min(k, sims.shape[1]), dim=1)
            i = i + ds
            if best_s is not None:
                s, i = torch.cat([best_s, s], 1), torch.cat([best_i, i], 1)
                s, pos = torch.topk(s, min(k, s.shape[1]), dim=1)
                i = torch.gather(i, 1, pos)
            best_s, best_i = s, i
        assert best_s is not None and best_i is not None
        all_scores[qs : qs + len(best_s)] = best_s.numpy()
        all_idx[qs : qs + len(best_s)] = best_i.numpy()
    return all_scores, all_idx


def mrr(qrels: Mapping[str, Mapping[str, int]], run: Run, k_values: Sequence[int]) -> dict[str, float]:
    """MRR@k with ties broken by document id, descending (as pytrec_eval and mteb)."""
    out: dict[str, list[float]] = defaultdict(list)
    for qid, docs in run.items():
        best = ranked(docs)[: max(k_values)]
        relevant = {d for d, r in qrels[qid].items() if r > 0}
        for k in k_values:
            rr = next((1.0 / (rank + 1) for rank, (d, _) in enumerate(best[:k]) if d in relevant), 0.0)
            out[f"mrr_at_{k}"].append(rr)
    return {k: sum(v) / len(v) for k, v in out.items()}


def score_run(qrels: Qrels, run: Run, k_values: Sequence[int] = K_VALUES) -> dict[str, float]:
    """nDCG, MAP, recall, precision, hit rate at each k (pytrec_eval, rounded to 5 decimals as mteb) and MRR."""
    return score_run_items(qrels, run, k_values)[0]


def ranked(docs: Mapping[str, float]) -> list[tuple[str, float]]:
    """A query's (document id, score) best first, ties broken by document id descending (as pytrec_eval)."""
    return sorted(docs.items(), key=lambda item: (item[1], item[0]), reverse=True)


def top_run(run: Run, top_k: int = RUN_TOP_K) -> Run:
    """Each query's top_k documents of a run, best first (the stored ranking a later pipeline stage reads)."""
    return {q: dict(ranked(docs)[:top_k]) for q, docs in run.items()}


def score_run_items(
    qrels: Qrels, run: Run, k_values: Sequence[int] = K_VALUES, keep: int = RUN_TOP_K
) -> tuple[dict[str, float], dict[str, Any]]:
    """score_run plus per-query values of the usual main metrics (for intervals and paired tests), and under
    "run" each query's top `keep` documents and scores (the ranking later pipeline stages reuse)."""
    import pytrec_eval

    ks = ",".join(map(str, k_values))
    measures = {f"map_cut.{ks}", f"ndcg_cut.{ks}", f"recall.{ks}", f"P.{ks}", f"success.{ks}"}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    n = len(per_query)
    out: dict[str, float] = {}
    names = (
        ("ndcg_at", "ndcg_cut_"),
        ("map_at", "map_cut_"),
        ("recall_at", "recall_"),
        ("precision_at", "P_"),
        ("hit_rate_at", "success_"),
    )
    for ours, theirs in names:
        for k in k_values:
            out[f"{ours}_{k}"] = round(sum(v[f"{theirs}{k}"] for v in per_query.values()) / n, 5)
    out["accuracy"] = out["recall_at_1"]
    out.update(mrr(qrels, run, k_values))
    qids = sorted(per_query)
    by_metric = {
        f"{ours}_{k}": [per_query[q][f"{theirs}{k}"] for q in qids]
        for ours, theirs in names
        for k in (10, 1000)
        if k in k_values
    }
    return out, {"kind": "mean", "ids": qids, "by_metric": by_metric, "run": top_run(run, keep)}


def evaluate(data: Data, embed: Embed, params: dict[str, Any]) -> dict[str, float]:
    """Encode queries (role query) and documents (role document), search exactly, score the run."""
    return evaluate_items(data, embed, params)[0]


def evaluate_items(data: Data, embed: Embed, params: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """evaluate() plus per-query values."""
    qids, dids = list(data.queries), list(data.corpus)
    q_vecs = embed([data.queries[q] for q in qids], "query")
    d_vecs = embed([data.corpus[d] for d in dids], "document")
    top_k = max(K_VALUES)  # as mteb: identical ids are dropped after the top 1000
    fn, chunk = params["similarity_fn"], params["corpus_chunk_size"]
    scores, idx = exact_search(q_vecs, d_vecs, top_k, fn, chunk, search=from_params(params))
    run: Run = {}
    for qi, qid in enumerate(qids):
        hits = {dids[j]: float(s) for s, j in zip(scores[qi], idx[qi], strict=True)}
        if params["ignore_identical_ids"]:
            hits.pop(qid, None)
        run[qid] = hits
    return score_run_items(data.qrels, run)


def evaluate_ranking(data: Data, rank: RankFn, params: dict[str, Any]) -> dict[str, float]:
    """Score a ranking baseline (BM25) on the corpus with the same metrics."""
    return evaluate_ranking_items(data, rank, params)[0]


def evaluate_ranking_items(data: Data, rank: RankFn, params: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """evaluate_ranking() plus per-query values."""
    qids, dids = list(data.queries), list(data.corpus)
    top_k = max(K_VALUES)  # as mteb: identical ids are dropped after the top 1000
    hits = rank([data.queries[q] for q in qids], [data.corpus[d] for d in dids], None, top_k)
    run: Run = {}
    for qid, scored in zip(qids, hits, strict=True):
        docs = {dids[j]: float(s) for j, s in scored.items()}
        if params["ignore_identical_ids"]:
            docs.pop(qid, None)
        run[qid] = docs
    return score_run_items(data.qrels, run)
