"""The decision-facing table sections: a decision table per use, not evaluated, RAG view, cost, compression."""

from __future__ import annotations

from typing import Any

from embbench.report.model import Cell, HeaderCell, Table, fmt, num_cell, text_cell
from embbench.report.rag import RAG_METRICS

ROLE = {"recommended": "recommended", "runner_up": "runner-up", "over_budget": "over budget", "ranked": ""}


def tables(data: dict[str, Any]) -> list[Table]:
    """decision_<use> per use, then not_evaluated, rag, cost and compression when they have rows."""
    out = [decision_table(d) for d in data["decision"].values()]
    if data["not_evaluated"]:
        out.append(not_evaluated_table(data))
    if data["rag"]:
        out.append(rag_table(data))
    if any(c.get("hours_per_1m_docs") is not None for c in data["cost"]):
        out.append(cost_table(data))
    if data.get("cost_by_task"):
        out.append(cost_by_task_table(data))
    if data["compression"]:
        out.append(compression_table(data))
    return out


def cost_by_task_table(data: dict[str, Any]) -> Table:
    """Per model and task with recorded text lengths: hours and USD for 1M texts of the task's own length."""
    header = [
        HeaderCell("Model", numeric=False),
        HeaderCell("Task", numeric=False),
        HeaderCell("Mean chars", key="mean_chars"),
        HeaderCell("Hours / 1M docs", key="hours_per_1m_docs"),
        HeaderCell("USD / 1M docs", key="usd_per_1m_docs"),
        HeaderCell("Share embedded", key="share_of_tokens_embedded"),
    ]
    rows = [
        [
            text_cell(c["model"]),
            text_cell(c["task"]),
            num_cell(c["mean_chars"], 0),
            num_cell(c["hours_per_1m_docs"], 2),
            num_cell(c["usd_per_1m_docs"], 2),
            num_cell(c["share_of_tokens_embedded"], 2),
        ]
        for c in data["cost_by_task"]
    ]
    return Table("cost_by_task", "Cost per task (the task's own text lengths)", header, rows)


def _use_score(c: dict[str, Any]) -> Cell:
    detail = f" [{fmt(c['ci_low'])}, {fmt(c['ci_high'])}]" if c.get("ci_low") is not None else ""
    return Cell(c["score"], fmt(c["score"]), "num", detail=detail, best=c["role"] == "recommended")


def _test(c: dict[str, Any]) -> Cell:
    """The paired test against the best-scoring model: 'best', 'p = 0.001', 'p = 0.4 (tied)', a small-sample mark."""
    p = c.get("p_vs_best")
    if p == 1.0 and c.get("significant") is None:
        return Cell(None, "best", "text")
    if p is None:
        return Cell(None, "no test", "text")
    text = f"p = {p:g}" + ("" if c["significant"] else " (tied)")
    if c.get("small_sample"):
        text += " (small sample)"
    return Cell(p, text, "num")


def _pareto(c: dict[str, Any]) -> Cell:
    fronts = [n for k, n in (("pareto_throughput", "speed"), ("pareto_index_size", "size")) if c.get(k)]
    return text_cell(", ".join(fronts))


def decision_table(d: dict[str, Any]) -> Table:
    """Per ranked model of a use: role, use score with its interval, the test vs the best, the facts, Pareto, budget."""
    header = [
        HeaderCell("Model", numeric=False),
        HeaderCell("Role", numeric=False),
        HeaderCell(f"{d['use']} score", key="score"),
        HeaderCell("vs best", key="p_vs_best", numeric=False),
        HeaderCell("Texts/s"),
        HeaderCell("p95 ms"),
        HeaderCell("Peak RSS MB"),
        HeaderCell("Index MB / 1M docs"),
        HeaderCell("Hours / 1M docs"),
        HeaderCell("USD / 1M docs"),
        HeaderCell("Pareto", numeric=False),
        HeaderCell("Over budget", numeric=False),
    ]
    rows = [
        [
            text_cell(c["model"]),
            text_cell(ROLE.get(c["role"], c["role"])),
            _use_score(c),
            _test(c),
            num_cell(c.get("texts_per_s"), 1),
            num_cell(c.get("latency_ms_p95"), 1),
            num_cell(c.get("peak_rss_mb"), 0),
            num_cell(c.get("index_mb_per_1m"), 0),
            num_cell(c.get("hours_per_1m_docs"), 2),
            num_cell(c.get("usd_per_1m_docs"), 2),
            _pareto(c),
            text_cell(", ".join(c["breaks"]), "text"),
        ]
        for c in d["candidates"]
    ]
    return Table(f"decision_{d['use']}", f"{d['use']}: {d['label']}", header, rows)


def not_evaluated_table(data: dict[str, Any]) -> Table:
    header = [HeaderCell("Model", numeric=False), HeaderCell("Reason", numeric=False)]
    rows = [[text_cell(e["model"]), text_cell(e["reason"], "text")] for e in data["not_evaluated"]]
    return Table("not_evaluated", "Not evaluated", header, rows)


def rag_table(data: dict[str, Any]) -> Table:
    """Per retrieval/reranking task and model: nDCG@10, Recall@10, Recall@100, MRR@10 (x 100)."""
    header = [
        HeaderCell("Task", numeric=False),
        HeaderCell("Model", numeric=False),
        *[HeaderCell(label, key=key) for key, label in RAG_METRICS],
    ]
    rows = [
        [text_cell(r["task"]), text_cell(r["model"]), *[num_cell(r[k]) for k, _ in RAG_METRICS]] for r in data["rag"]
    ]
    return Table("rag", "RAG view", header, rows)


def cost_table(data: dict[str, Any]) -> Table:
    header = [
        HeaderCell("Model", numeric=False),
        HeaderCell("Hours / 1M docs", key="hours_per_1m_docs"),
        HeaderCell("GPU-hours / 1M docs", key="gpu_hours_per_1m_docs"),
        HeaderCell("USD / 1M docs", key="usd_per_1m_docs"),
        HeaderCell("Tokens / doc read", key="tokens_per_doc"),
        HeaderCell("Tokens / doc (whole)", key="tokens_per_doc_uncut"),
        HeaderCell("Share embedded", key="share_of_tokens_embedded"),
        HeaderCell("Device", numeric=False),
    ]
    rows = [
        [
            text_cell(c["model"]),
            num_cell(c.get("hours_per_1m_docs"), 2),
            num_cell(c.get("gpu_hours_per_1m_docs"), 2),
            num_cell(c.get("usd_per_1m_docs"), 2),
            num_cell(c.get("tokens_per_doc"), 0),
            num_cell(c.get("tokens_per_doc_uncut"), 0),
            num_cell(c.get("share_of_tokens_embedded"), 2),
            text_cell(c.get("device") or ""),
        ]
        for c in data["cost"]
    ]
    return Table("cost", "Cost", header, rows)


def compression_table(data: dict[str, Any]) -> Table:
    """Per model, task and variant: dimensions, precision, bytes per vector, index MB per 1M docs, score, delta."""
    header = [
        HeaderCell("Model", numeric=False),
        HeaderCell("Task", numeric=False),
        HeaderCell("Dim"),
        HeaderCell("Precision", numeric=False),
        HeaderCell("Bytes / vector", key="bytes_per_vector"),
        HeaderCell("Index MB / 1M docs", key="index_mb_per_1m_docs"),
        HeaderCell("Score", key="score"),
        HeaderCell("vs full float32", key="delta_vs_full"),
    ]
    rows = [
        [
            text_cell(r["model"]),
            text_cell(r["task"]),
            num_cell(r["dim"], 0),
            text_cell(r["precision"]),
            num_cell(r["bytes_per_vector"], 0),
            num_cell(r["index_mb_per_1m_docs"], 0),
            num_cell(round(100 * r["score"], 2)),
            num_cell(r["delta_vs_full"]),
        ]
        for r in data["compression"]
    ]
    return Table("compression", "Compression", header, rows)
