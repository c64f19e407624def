"""Leaderboards (Markdown, CSV, JSON) rendered from the result files; never the source of truth."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .config import CATEGORIES
from .results import load_results, write_json_atomic

LABEL = {
    "classification": "Classification",
    "multilabel_classification": "MultilabelClassification",
    "clustering": "Clustering",
    "pair_classification": "PairClassification",
    "retrieval": "Retrieval",
    "reranking": "Reranking",
    "sts": "STS",
}


@dataclass(frozen=True)
class Leaderboard:
    """Scores (x100) per model and task, with category means and the overall means."""

    tasks: list[tuple[str, str, str]]  # (task, category, main_metric), ordered by category then name
    models: list[str]
    scores: dict[tuple[str, str], float]  # (model, task) -> main score x 100
    not_applicable: frozenset[tuple[str, str]] = frozenset()  # (model, task) the category has no meaning for

    def categories(self) -> list[str]:
        present = {c for _, c, _ in self.tasks}
        return [c for c in CATEGORIES if c in present]

    def category_mean(self, model: str, category: str) -> float | None:
        """Mean over the category's tasks; None if the model lacks any of them (never a partial mean)."""
        return _mean([self.scores.get((model, t)) for t, c, _ in self.tasks if c == category])

    def mean_task(self, model: str) -> float | None:
        return _mean([self.scores.get((model, t)) for t, _, _ in self.tasks])

    def mean_category(self, model: str) -> float | None:
        return _mean([self.category_mean(model, c) for c in self.categories()])

    def count(self, model: str) -> int:
        return sum((model, t) in self.scores for t, _, _ in self.tasks)

    def ranked_models(self) -> list[str]:
        """Models by Mean (Task), complete ones first, then by how many tasks they have."""

        def key(m: str) -> tuple[int, float, int]:
            mt = self.mean_task(m)
            return (0 if mt is not None else 1, -(mt or 0.0), -self.count(m))

        return sorted(self.models, key=key)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per model: n/N, the means, each category mean and each task score (None = missing)."""
        out = []
        for m in self.ranked_models():
            row: dict[str, Any] = {
                "model": m,
                "tasks": f"{self.count(m)}/{len(self.tasks)}",
                "mean_task": self.mean_task(m),
                "mean_category": self.mean_category(m),
            }
            for c in self.categories():
                row[f"mean_{c}"] = self.category_mean(m, c)
            for t, _, _ in self.tasks:
                row[t] = "n/a" if (m, t) in self.not_applicable else self.scores.get((m, t))
            out.append(row)
        return out


def _mean(values: list[float | None]) -> float | None:
    if not values or any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return None
    return sum(v for v in values if v is not None) / len(values)


def build(records: list[dict[str, Any]]) -> Leaderboard:
    """A Leaderboard from result records."""
    tasks: dict[str, tuple[str, str]] = {}
    for r in records:
        tasks.setdefault(r["task"], (r["category"], r["main_metric"]))
    order = sorted(tasks.items(), key=lambda kv: (CATEGORIES.index(kv[1][0]) if kv[1][0] in CATEGORIES else 99, kv[0]))
    models = sorted({r["model"] for r in records})
    scores = {(r["model"], r["task"]): 100.0 * float(r["main_score"]) for r in records if r["main_score"] is not None}
    na = frozenset((r["model"], r["task"]) for r in records if r["main_score"] is None)
    return Leaderboard([(t, c, m) for t, (c, m) in order], models, scores, na)


def _fmt(v: float | str | None) -> str:
    return "" if v is None else v if isinstance(v, str) else f"{v:.2f}"


def markdown(board: Leaderboard, records: list[dict[str, Any]]) -> str:
    """The wiki page: summary table, per-task table, task list and provenance."""
    cats = board.categories()
    lines = [
        "# embbench leaderboard",
        "",
        f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} from {len(records)} result files "
        "by `embbench report`. Scores are each task's main metric x 100. A mean is blank when the model lacks "
        "a task it covers (never a mean over what it has).",
        "",
        "## Summary",
        "",
    ]
    head = ["Model", "n/N", "Mean (Task)", "Mean (Category)", *[LABEL[c] for c in cats]]
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for row in board.rows():
        cells = [
            row["model"],
            row["tasks"],
            _fmt(row["mean_task"]),
            _fmt(row["mean_category"]),
            *[_fmt(row[f"mean_{c}"]) for c in cats],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Per task", ""]
    head = ["Model", *[f"{t}<br>{LABEL[c]}" for t, c, _ in board.tasks]]
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * len(board.tasks)) + "|"]
    for row in board.rows():
        lines.append("| " + " | ".join([row["model"], *[_fmt(row[t]) for t, _, _ in board.tasks]]) + " |")
    lines += [
        "",
        "## Tasks",
        "",
        "| Task | Category | Main metric | Items | Source | License |",
        "|---|---|---|---:|---|---|",
    ]
    info = {r["task"]: r for r in records}
    for t, c, m in board.tasks:
        r = info[t]
        ti = r.get("task_info", {})
        lines.append(
            f"| {t} | {LABEL[c]} | {m} | {r.get('n_items', '')} | {ti.get('source', '')} | {ti.get('license', '')} |"
        )
    lines += ["", "## Models", "", "| Model | Source | Revision / content hash | Prompts used |", "|---|---|---|---|"]
    seen: dict[str, dict[str, Any]] = {}
    prompts: dict[str, set[str]] = {}
    for r in records:
        seen.setdefault(r["model"], r.get("model_info", {}))
        for role, p in (r.get("prompts") or {}).items():
            if p:
                prompts.setdefault(r["model"], set()).add(f"{role}: `{p}`")
    for m in board.models:
        mi = seen[m]
        rev = mi.get("revision") or str(mi.get("model", ""))[:24]
        lines.append(f"| {m} | {mi.get('source', '')} | {rev} | {'; '.join(sorted(prompts.get(m, []))) or 'none'} |")
    return "\n".join(lines) + "\n"


def csv_text(board: Leaderboard) -> str:
    """Wide CSV: a row per model, the means, then a column per task (x100)."""
    buf = io.StringIO()
    rows = board.rows()
    cols = [
        "model",
        "tasks",
        "mean_task",
        "mean_category",
        *[f"mean_{c}" for c in board.categories()],
        *[t for t, _, _ in board.tasks],
    ]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for row in rows:
        w.writerow(["" if row[c] is None else (f"{row[c]:.4f}" if isinstance(row[c], float) else row[c]) for c in cols])
    return buf.getvalue()


def write_reports(output: Path) -> list[Path]:
    """Render leaderboard.md / .csv / .json under output from output/results."""
    records = load_results(output)
    board = build(records)
    paths = [output / "leaderboard.md", output / "leaderboard.csv", output / "leaderboard.json"]
    output.mkdir(parents=True, exist_ok=True)
    _write_text(paths[0], markdown(board, records))
    _write_text(paths[1], csv_text(board))
    write_json_atomic(
        paths[2],
        {"tasks": [{"task": t, "category": c, "main_metric": m} for t, c, m in board.tasks], "rows": board.rows()},
    )
    return paths


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
