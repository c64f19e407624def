"""What the decision is for: uses (a name and the task categories it is judged on) and budgets (limits on cost).

A use's score is the unweighted mean of the model's main scores (x 100) over the use's tasks, i.e. every task of
the run whose category belongs to the use; a model gets a use score only when it has a score on every one of
those tasks (a missing or n/a task leaves it unranked for that use, never a mean over what it has).

The CLI's ``--use NAME=cat1,cat2`` / ``--budget KEY=VALUE`` and the ``report:`` block of models.yaml::

    report:
      uses: {rag: [retrieval, reranking], overall: all}
      budgets: {p95_ms: 50, index_gb: 4}
      gpu_hour_usd: 2.5

are parsed by `parse_use`, `parse_budget` and `parse_report_block`; each mistake is one UserError line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from embbench.categories import LABELS, NAMES
from embbench.errors import UserError

ALL = "all"  # a use over every category present in the run


@dataclass(frozen=True)
class Use:
    """A use: its name and its categories (None: every category the run has)."""

    name: str
    categories: tuple[str, ...] | None

    def label(self) -> str:
        if self.categories is None:
            return "all tasks"
        return " + ".join(LABELS.get(c, c) for c in self.categories)


# the default uses: `rag` (the headline) first, then `overall`
DEFAULT_USES = (Use("rag", ("retrieval", "reranking")), Use("overall", None))


@dataclass(frozen=True)
class BudgetKey:
    """A budget key: the model fact it limits, its unit, and whether the limit is a maximum or a minimum."""

    fact: str  # a key of the decision's per-model facts
    unit: str
    scale: float = 1.0  # limit in the key's unit = fact value / scale
    minimum: bool = False


# ram_gb/gpu_gb: peak memory in GiB (the speed file's MB are MiB); index_gb: float32 vectors of 1M documents at the
# model's full dimension (10^9 bytes); hours/usd: embedding 1M documents (report/cost.py)
BUDGET_KEYS: dict[str, BudgetKey] = {
    "p95_ms": BudgetKey("latency_ms_p95", "ms"),
    "p50_ms": BudgetKey("latency_ms_p50", "ms"),
    "index_gb": BudgetKey("index_mb_per_1m", "GB", scale=1000.0),
    "ram_gb": BudgetKey("peak_rss_mb", "GB", scale=1024.0),
    "gpu_gb": BudgetKey("peak_gpu_mb", "GB", scale=1024.0),
    "hours_per_1m_docs": BudgetKey("hours_per_1m_docs", "h"),
    "usd_per_1m_docs": BudgetKey("usd_per_1m_docs", "USD"),
    "min_texts_per_s": BudgetKey("texts_per_s", "texts/s", minimum=True),
}


@dataclass(frozen=True)
class Budget:
    """A limit on one fact: `p95_ms ≤ 50`, `min_texts_per_s ≥ 100`."""

    key: str
    limit: float

    @property
    def spec(self) -> BudgetKey:
        return BUDGET_KEYS[self.key]

    def text(self) -> str:
        op = "≥" if self.spec.minimum else "≤"  # no < or > : the Markdown escapes them as entities
        return f"{self.key} {op} {self.limit:g}"

    def check(self, facts: Mapping[str, Any]) -> str | None:
        """None when the model is within the limit or the fact is unknown; else what it breaks, in numbers."""
        v = facts.get(self.spec.fact)
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return None
        value = float(v) / self.spec.scale
        broken = value < self.limit if self.spec.minimum else value > self.limit
        if not broken:
            return None
        return f"{self.key} {value:.3g} (limit {self.limit:g})"


_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")


def _use(name: str, cats: Any, where: str) -> Use:
    if not _NAME.match(name):
        raise UserError(
            where, f"use name {name!r} is not a short name", field="use", fix="e.g. rag=retrieval,reranking"
        )
    if cats == ALL or cats == [ALL] or cats == "*":
        return Use(name, None)
    items = [c.strip() for c in cats.split(",")] if isinstance(cats, str) else cats
    if not isinstance(items, list) or not items or not all(isinstance(c, str) and c for c in items):
        raise UserError(where, f"use {name!r} names no categories", field=name, fix=f"e.g. {name}=retrieval,reranking")
    for c in items:
        if c not in NAMES:
            raise UserError(
                where, f"unknown category {c!r} in use {name!r}", field=name, fix=f"one of {', '.join(NAMES)} or {ALL}"
            )
    return Use(name, tuple(dict.fromkeys(items)))


def parse_use(text: str, where: str = "--use") -> Use:
    """``"rag=retrieval,reranking"`` -> Use("rag", ("retrieval", "reranking")); ``"overall=all"`` -> every category."""
    name, sep, cats = text.partition("=")
    if not sep:
        raise UserError(where, f"{text!r} is not NAME=cat1,cat2", field="use", fix="e.g. --use rag=retrieval,reranking")
    return _use(name.strip(), cats.strip(), where)


def _budget(key: str, raw: Any, where: str) -> Budget:
    if key not in BUDGET_KEYS:
        raise UserError(where, f"unknown budget {key!r}", field="budget", fix=f"one of {', '.join(BUDGET_KEYS)}")
    try:
        limit = float(raw)
    except (TypeError, ValueError):
        raise UserError(where, f"budget {key} is not a number: {raw!r}", field=key, fix=f"e.g. {key}=50") from None
    if isinstance(raw, bool) or not math.isfinite(limit) or limit < 0:
        raise UserError(
            where, f"budget {key} must be a non-negative number, not {raw!r}", field=key, fix=f"e.g. {key}=50"
        )
    return Budget(key, limit)


def parse_budget(text: str, where: str = "--budget") -> Budget:
    """``"p95_ms=50"`` -> Budget("p95_ms", 50.0); the keys are BUDGET_KEYS'."""
    key, sep, value = text.partition("=")
    if not sep:
        raise UserError(where, f"{text!r} is not KEY=VALUE", field="budget", fix="e.g. --budget p95_ms=50")
    return _budget(key.strip(), value.strip(), where)


@dataclass(frozen=True)
class ReportOptions:
    """The decision settings of a `report:` block (None: the defaults)."""

    uses: tuple[Use, ...] | None = None
    budgets: tuple[Budget, ...] = ()
    gpu_hour_usd: float | None = None


def parse_report_block(raw: Any, where: str) -> ReportOptions:
    """The `report:` block of models.yaml: {uses: {name: [categories] | all}, budgets: {key: limit}, gpu_hour_usd}."""
    if raw is None:
        return ReportOptions()
    if not isinstance(raw, dict):
        raise UserError(
            where, "the report block must be a mapping", field="report", fix="e.g. report: {budgets: {p95_ms: 50}}"
        )
    unknown = set(raw) - {"uses", "budgets", "gpu_hour_usd"}
    if unknown:
        raise UserError(
            where, f"unknown key {sorted(unknown)[0]!r}", field="report", fix="use uses, budgets or gpu_hour_usd"
        )
    uses_raw, budgets_raw = raw.get("uses"), raw.get("budgets") or {}
    if uses_raw is not None and (not isinstance(uses_raw, dict) or not uses_raw):
        raise UserError(
            where, "uses must map names to categories", field="report.uses", fix="e.g. uses: {rag: [retrieval]}"
        )
    if not isinstance(budgets_raw, dict):
        raise UserError(
            where, "budgets must map keys to limits", field="report.budgets", fix="e.g. budgets: {p95_ms: 50}"
        )
    uses = None if uses_raw is None else tuple(_use(str(n), c, where) for n, c in uses_raw.items())
    budgets = tuple(_budget(str(k), v, where) for k, v in budgets_raw.items())
    price = raw.get("gpu_hour_usd")
    if price is not None:
        price = _budget("usd_per_1m_docs", price, where).limit  # the same number check
    return ReportOptions(uses, budgets, price)


def use_tasks(use: Use, tasks: list[tuple[str, str, str]]) -> list[str]:
    """The run's tasks a use is judged on ((task, category, metric) in the leaderboard's order)."""
    return [t for t, c, _ in tasks if use.categories is None or c in use.categories]
