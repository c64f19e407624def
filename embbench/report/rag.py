"""The RAG-facing rows of the report: retrieval metrics per task, compression variants, models not evaluated.

Formats read here (each optional; absent means "nothing to show"):

- ``TaskResult.compression`` (written by the compression sweep): a list of variants of the same vectors, each
  ``{"dim": int, "precision": "float32"|"float16"|"int8"|"binary"|"binary+rescore", "bytes_per_vector": int,
  "score": float}`` with score the task's main metric on its 0..1 scale (the full-dimension float32 variant
  equals main_score); ``index_mb_per_1m_docs`` may be given, else it is bytes_per_vector (10^6 vectors / 10^6).
- ``<output>/not_evaluated.json`` (written by the runner): ``[{"model": str, "reason": str}, ...]``, the models of
  models.yaml that have no result (not downloadable offline, failed to load, unusable vectors).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from embbench.report.board import Leaderboard
from embbench.report.model import rnd
from embbench.results import TaskResult

RAG_CATEGORIES = ("retrieval", "reranking")
RAG_METRICS = [
    ("ndcg_at_10", "nDCG@10"),
    ("recall_at_10", "Recall@10"),
    ("recall_at_100", "Recall@100"),
    ("mrr_at_10", "MRR@10"),
]
PRECISIONS = ("float32", "float16", "int8", "binary", "binary+rescore")
NOT_EVALUATED = "not_evaluated.json"


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def rag_rows(records: list[TaskResult], board: Leaderboard) -> list[dict[str, Any]]:
    """Per retrieval/reranking task, per model with a score there (best first): the RAG metrics x 100."""
    by_key = {(r.model, r.task): r for r in records}
    out = []
    for t, c, metric in board.tasks:
        if c not in RAG_CATEGORIES:
            continue
        here = [m for m in board.models if (m, t) in board.scores]
        for m in sorted(here, key=lambda m: (-board.scores[(m, t)], m)):
            metrics = by_key[(m, t)].metrics or {}
            row: dict[str, Any] = {"task": t, "category": c, "model": m, "main_metric": metric}
            for key, _ in RAG_METRICS:
                v = _num(metrics.get(key))
                row[key] = None if v is None else rnd(100 * v)
            out.append(row)
    return out


def compression_rows(records: list[TaskResult], board: Leaderboard) -> tuple[list[dict[str, Any]], list[str]]:
    """leaderboard.json's "compression": a row per (model, task, variant), and warnings about malformed variants."""
    order = {m: i for i, m in enumerate(board.ranked_models())}
    tindex = {t: i for i, (t, _, _) in enumerate(board.tasks)}
    out: list[dict[str, Any]] = []
    bad: list[str] = []
    for r in sorted(records, key=lambda r: (tindex.get(r.task, 0), order.get(r.model, 0))):
        if not r.compression:
            continue
        full = r.main_score
        for v in r.compression:
            dim, nbytes, score = v.get("dim"), _num(v.get("bytes_per_vector")), _num(v.get("score"))
            if not isinstance(dim, int) or v.get("precision") not in PRECISIONS or nbytes is None or score is None:
                bad.append(f"{r.model}/{r.task}: compression variant {v!r} is malformed; it is left out")
                continue
            mb = _num(v.get("index_mb_per_1m_docs"))
            out.append(
                {
                    "model": r.model,
                    "task": r.task,
                    "dim": dim,
                    "precision": v["precision"],
                    "bytes_per_vector": int(nbytes),
                    "index_mb_per_1m_docs": rnd(nbytes if mb is None else mb, 1),
                    "score": score,
                    "delta_vs_full": None if full is None else rnd(100 * (score - full)),
                }
            )
    return out, bad


def load_not_evaluated(output: Path) -> tuple[list[dict[str, str]], list[str]]:
    """<output>/not_evaluated.json as [{model, reason}] and warnings (an unreadable file is reported, not fatal)."""
    path = output / NOT_EVALUATED
    if not path.is_file():
        return [], []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return [], [f"{path} is unreadable ({exc}); the models not evaluated are not listed"]
    if not isinstance(raw, list) or not all(isinstance(e, dict) and e.get("model") for e in raw):
        return [], [f"{path} is not a list of {{model, reason}} objects; the models not evaluated are not listed"]
    out = [{"model": str(e["model"]), "reason": str(e.get("reason") or "no reason given")} for e in raw]
    return sorted(out, key=lambda e: e["model"]), []
