"""The score table: scores (x100) per model and task, category means, overall means, Borda ranks, the model order."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from embbench.categories import NAMES as CATEGORIES
from embbench.report import stats
from embbench.report.model import NA, rnd
from embbench.results import TaskResult


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

    def borda(self) -> dict[str, int]:
        """mteb's Borda rank over the tasks (n/a and missing tasks earn no points)."""
        per_task: dict[str, dict[str, float | None]] = {
            t: {m: self.scores.get((m, t)) for m in self.models} for t, _, _ in self.tasks
        }
        return stats.borda_ranks(per_task) if self.tasks else {}

    def ranked_models(self) -> list[str]:
        """Models by Mean (Task), complete ones first, then by how many tasks they have."""

        def key(m: str) -> tuple[int, float, int, str]:
            mt = self.mean_task(m)
            return (0 if mt is not None else 1, -(mt or 0.0), -self.count(m), m)

        return sorted(self.models, key=key)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per model: n/N, Borda rank, the means, each category mean and each task score, rounded."""
        borda = self.borda()
        out = []
        for m in self.ranked_models():
            row: dict[str, Any] = {
                "model": m,
                "tasks": f"{self.count(m)}/{len(self.tasks)}",
                "borda_rank": borda.get(m),
                "mean_task": rnd(self.mean_task(m)),
                "mean_category": rnd(self.mean_category(m)),
            }
            for c in self.categories():
                row[f"mean_{c}"] = rnd(self.category_mean(m, c))
            for t, _, _ in self.tasks:
                row[t] = NA if (m, t) in self.not_applicable else rnd(self.scores.get((m, t)))
            out.append(row)
        return out


def _mean(values: list[float | None]) -> float | None:
    if not values or any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return None
    return sum(v for v in values if v is not None) / len(values)


def build(records: list[TaskResult]) -> Leaderboard:
    """A Leaderboard from result records."""
    tasks: dict[str, tuple[str, str]] = {}
    for r in records:
        tasks.setdefault(r.task, (r.category, r.main_metric))
    order = sorted(tasks.items(), key=lambda kv: (CATEGORIES.index(kv[1][0]) if kv[1][0] in CATEGORIES else 99, kv[0]))
    models = sorted({r.model for r in records})
    scores = {(r.model, r.task): 100.0 * float(r.main_score) for r in records if r.main_score is not None}
    na = frozenset((r.model, r.task) for r in records if r.main_score is None)
    return Leaderboard([(t, c, m) for t, (c, m) in order], models, scores, na)
