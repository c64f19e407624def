"""Leaderboards rendered from the result files (never the source of truth).

`build_report` turns the result files (and the optional speed files ``<output>/speed/<model>.json``) into one
JSON-able dict whose numbers are rounded once, by `rnd`; every document (Markdown, tidy and wide CSV, JSON, HTML)
is rendered from that dict, so the numbers agree everywhere.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from embbench._io import atomic_write_text
from embbench.categories import LABELS
from embbench.categories import NAMES as CATEGORIES
from embbench.report import stats
from embbench.report.published import with_published  # ruMTEB reference rows "<model> (published)"
from embbench.results import load_results, write_json_atomic

LABEL = LABELS

DECIMALS = 2  # scores (x100), means and interval bounds
ALPHA = 0.05
TIE = "≈"  # marks a model not significantly worse than the best one on a task
NA = "n/a"

# model_info fields that describe the model's configuration (shown in the header, compared by `embbench diff`)
CONFIG_FIELDS = (
    "backend",
    "model",
    "revision",
    "dtype",
    "max_seq_length",
    "normalize",
    "truncate_dim",
    "pooling",
    "similarity_fn",
    "model_kwargs",
    "tokenizer_kwargs",
)


def rnd(x: float | None, decimals: int = DECIMALS) -> float | None:
    """The one rounding every document uses."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), decimals)


def fmt(v: float | int | str | None, decimals: int = DECIMALS) -> str:
    """A rounded number as text ('' for missing, strings such as 'n/a' as they are)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    return f"{v:.{decimals}f}"


# ------------------------------------------------------------------------------------------ the score table


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


# ------------------------------------------------------------------------------------------ the report dict


def load_speed(output: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Speed files <output>/speed/<model>.json (optional) and warnings about unreadable ones."""
    out: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    for path in sorted((output / "speed").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            warnings.append(f"speed file {path} is unreadable ({exc}); it is left out")
            continue
        if not isinstance(data, dict):
            warnings.append(f"speed file {path} is not a JSON object; it is left out")
            continue
        out[str(data.get("model") or path.stem)] = data
    return out, warnings


def _num(d: dict[str, Any], key: str) -> float | None:
    v = d.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def speed_row(model: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The rounded speed and size numbers of one model, as every document shows them."""
    hw = raw.get("hardware") or {}
    params = _num(raw, "n_params")
    index = _num(raw, "index_bytes_per_1m")
    dim = _num(raw, "dim")
    batch = _num(raw, "batch_size")
    return {
        "model": model,
        "texts_per_s": rnd(_num(raw, "throughput_texts_per_s"), 1),
        "tokens_per_s": rnd(_num(raw, "throughput_tokens_per_s"), 0),
        "batch_size": None if batch is None else int(batch),
        "latency_ms_p50": rnd(_num(raw, "latency_ms_p50"), 1),
        "latency_ms_p95": rnd(_num(raw, "latency_ms_p95"), 1),
        "peak_rss_mb": rnd(_num(raw, "peak_rss_mb"), 0),
        "peak_gpu_mb": rnd(_num(raw, "peak_gpu_mb"), 0),
        "params_m": None if params is None else rnd(params / 1e6, 1),
        "dim": None if dim is None else int(dim),
        "index_mb_per_1m": None if index is None else rnd(index / 1e6, 0),
        "load_s": rnd(_num(raw, "load_seconds"), 1),
        "device": hw.get("device"),
        "dtype": hw.get("dtype"),
        "machine": machine_id(hw),
        "date": raw.get("date"),
    }


SPEED_COLUMNS = [  # (key, header, decimals)
    ("texts_per_s", "Texts/s", 1),
    ("tokens_per_s", "Tokens/s", 0),
    ("batch_size", "Batch", 0),
    ("latency_ms_p50", "p50 ms", 1),
    ("latency_ms_p95", "p95 ms", 1),
    ("peak_rss_mb", "Peak RSS MB", 0),
    ("peak_gpu_mb", "Peak GPU MB", 0),
    ("params_m", "Params (M)", 1),
    ("dim", "Dim", 0),
    ("index_mb_per_1m", "Index MB / 1M docs", 0),
    ("load_s", "Load s", 1),
]


def machine_id(hw: dict[str, Any]) -> str:
    """A short description of the machine (what makes speed numbers comparable)."""
    parts = [str(hw.get(k)) for k in ("cpu", "gpu") if hw.get(k)]
    if hw.get("threads"):
        parts.append(f"{hw['threads']} threads")
    if hw.get("hostname_hash"):
        parts.append(f"host {str(hw['hostname_hash'])[:8]}")
    return ", ".join(parts) or "unknown machine"


def truncation_rows(records: list[dict[str, Any]], board: Leaderboard) -> list[dict[str, Any]]:
    """Per (model, task) that recorded it: how many texts the model's token limit cut."""
    out = []
    order = {m: i for i, m in enumerate(board.ranked_models())}
    tindex = {t: i for i, (t, _, _) in enumerate(board.tasks)}
    for r in sorted(records, key=lambda r: (order.get(r["model"], 0), tindex.get(r["task"], 0))):
        tr = r.get("truncation")
        if not isinstance(tr, dict):
            continue
        share = _num(tr, "share_truncated")
        out.append(
            {
                "model": r["model"],
                "task": r["task"],
                "max_tokens": tr.get("max_tokens"),
                "pct_truncated": None if share is None else rnd(100 * share, 1),
                "tokens_per_1000_chars": rnd(_num(tr, "tokens_per_1000_chars"), 0),
                "texts": tr.get("texts"),
            }
        )
    return out


def truncation_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model: its token limit(s), mean tokens per 1000 characters over the tasks, % truncated per task."""
    out: dict[str, dict[str, Any]] = {}
    for t in rows:
        m = out.setdefault(t["model"], {"model": t["model"], "max_tokens": [], "_tpc": [], "pct_truncated": {}})
        if t["max_tokens"] is not None and t["max_tokens"] not in m["max_tokens"]:
            m["max_tokens"].append(t["max_tokens"])
        if t["tokens_per_1000_chars"] is not None:
            m["_tpc"].append(t["tokens_per_1000_chars"])
        m["pct_truncated"][t["task"]] = t["pct_truncated"]
    for m in out.values():
        tpc = m.pop("_tpc")
        m["max_tokens"] = ", ".join(str(x) for x in sorted(m["max_tokens"])) or None
        m["tokens_per_1000_chars"] = rnd(sum(tpc) / len(tpc), 0) if tpc else None
    return list(out.values())


def _model_info(records: list[dict[str, Any]], models: list[str]) -> list[dict[str, Any]]:
    out = []
    for m in models:
        mine = [r for r in records if r["model"] == m]
        mi = mine[0].get("model_info") or {}
        prompts: dict[str, list[str]] = {}
        for r in mine:
            for role, p in (r.get("prompts") or {}).items():
                if p and p not in prompts.setdefault(role, []):
                    prompts[role].append(p)
        out.append(
            {
                "model": m,
                "source": mi.get("source"),
                "revision": mi.get("revision"),
                "config": {k: mi.get(k) for k in CONFIG_FIELDS},
                "prompts": prompts,
            }
        )
    return out


def _software(records: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, dict[str, list[str]]]]:
    """Library versions shared by every result, and for each library that differs: version -> models."""
    keys: list[str] = []
    for r in records:
        for k in r.get("versions") or {}:
            if k not in keys:
                keys.append(k)
    common: dict[str, str] = {}
    mixed: dict[str, dict[str, list[str]]] = {}
    for k in keys:
        seen: dict[str, list[str]] = {}
        for r in records:
            v = str((r.get("versions") or {}).get(k, "unknown"))
            if r["model"] not in seen.setdefault(v, []):
                seen[v].append(r["model"])
        if len(seen) == 1:
            common[k] = next(iter(seen))
        else:
            mixed[k] = seen
    return common, mixed


def build_report(
    output: Path, records: list[dict[str, Any]] | None = None, *, n_resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Everything the documents show, rounded once (scores: main metric x 100)."""
    records = load_results(output) if records is None else records
    records = with_published(records)  # + published rows for the ruMTEB tasks the results contain
    board = build(records)
    by_key = {(r["model"], r["task"]): r for r in records}
    warnings: list[str] = []
    resampler = stats.Resampler(n_resamples, seed)  # one bootstrap distribution per result, shared by CI and tests

    # per (model, task): value, interval, tie with the best model
    results: list[dict[str, Any]] = []
    tie_info: dict[tuple[str, str], tuple[bool | None, float | None]] = {}
    best_of: dict[str, str | None] = {}
    for t, _, _ in board.tasks:
        present = {
            m: board.scores[(m, t)]
            for m in board.models
            if (m, t) in board.scores and not by_key[(m, t)].get("published")  # published rows: no items, no ties
        }
        fps = {m: (by_key[(m, t)].get("task_info") or {}).get("data_fingerprint") for m in present}
        if len({fp for fp in fps.values()}) > 1:
            warnings.append(f"task {t}: results come from different data versions (fingerprints differ)")
        best, ties = stats.ties_with_best(
            present,
            {m: by_key[(m, t)].get("items") for m in present},
            n_resamples=n_resamples,
            seed=seed,
            alpha=ALPHA,
            groups=fps,
            resampler=resampler,
        )
        best_of[t] = best
        for m, v in ties.items():
            tie_info[(m, t)] = v
    ranked = board.ranked_models()
    for m in ranked:
        for t, c, metric in board.tasks:
            r = by_key.get((m, t))
            if r is None:
                continue
            ci = resampler.ci(r.get("items"), ALPHA)
            applicable = r["main_score"] is not None
            tied, p = tie_info.get((m, t), (None, None))
            results.append(
                {
                    "model": m,
                    "task": t,
                    "category": c,
                    "metric": metric,
                    "value": rnd(100 * r["main_score"]) if applicable else NA,
                    "ci_low": rnd(100 * ci[0]) if ci and applicable else None,
                    "ci_high": rnd(100 * ci[1]) if ci and applicable else None,
                    "tied_with_best": tied if applicable else None,
                    "best": applicable and best_of.get(t) == m,
                    "p_vs_best": rnd(p, 4),
                    "n_items": r.get("n_items"),
                    "main_score": r["main_score"],
                    "data_fingerprint": (r.get("task_info") or {}).get("data_fingerprint"),
                }
            )

    # speed, size and truncation
    speed_raw, speed_warn = load_speed(output)
    warnings += speed_warn
    speed = [speed_row(m, speed_raw[m]) for m in ranked if m in speed_raw]
    speed += [speed_row(m, speed_raw[m]) for m in sorted(speed_raw) if m not in board.models]
    machines: dict[str, list[str]] = {}
    for s in speed:
        machines.setdefault(s["machine"], []).append(s["model"])
    if len(machines) > 1:
        warnings.append(
            "speed files come from different machines, so speed numbers are not comparable: "
            + "; ".join(f"{', '.join(ms)} on {mach}" for mach, ms in machines.items())
        )
    settings = {(s["device"], s["dtype"]) for s in speed}
    if len(settings) > 1:
        warnings.append("speed was measured with different devices or dtypes (see the Device column)")
    hardware = []
    for mach, ms in machines.items():
        hw = speed_raw[ms[0]].get("hardware") or {}
        hardware.append({"machine": mach, "models": ms, **{k: v for k, v in hw.items() if k != "hostname_hash"}})

    common, mixed = _software([r for r in records if not r.get("published")])
    if mixed:
        warnings.append(
            "results come from different library versions: "
            + "; ".join(
                f"{lib} " + ", ".join(f"{v} ({', '.join(ms)})" for v, ms in seen.items()) for lib, seen in mixed.items()
            )
        )
    info = {r["task"]: r for r in records}
    dates = sorted(str(r.get("date")) for r in records if r.get("date"))
    rows = board.rows()
    pareto = _pareto({s["model"]: s["texts_per_s"] for s in speed}, {r["model"]: r["mean_task"] for r in rows})
    for row in rows:
        row["pareto"] = row["model"] in pareto if row["model"] in {s["model"] for s in speed} else None
    return {
        "schema": 2,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "n_results": len(records),
        "results_dated": [dates[0], dates[-1]] if dates else None,
        "settings": {
            "scale": "main metric x 100",
            "decimals": DECIMALS,
            "interval": f"{100 * (1 - ALPHA):.0f}% percentile bootstrap over the task's items "
            "(clustering: over the protocol's own runs)",
            "tie": f"p >= {ALPHA} in a paired bootstrap test against the best model on the same items; "
            "clustering: Welch's t-test on the runs",
            "n_resamples": n_resamples,
            "seed": seed,
            "alpha": ALPHA,
        },
        "software": common,
        "software_mixed": mixed,
        "hardware": hardware,
        "warnings": warnings,
        "categories": [{"category": c, "label": LABEL.get(c, c)} for c in board.categories()],
        "tasks": [
            {
                "task": t,
                "category": c,
                "label": LABEL.get(c, c),
                "main_metric": metric,
                "n_items": info[t].get("n_items"),
                "description": (info[t].get("task_info") or {}).get("description"),
                "source": (info[t].get("task_info") or {}).get("source"),
                "license": (info[t].get("task_info") or {}).get("license"),
                "data_fingerprint": (info[t].get("task_info") or {}).get("data_fingerprint"),
                "best": best_of.get(t),
            }
            for t, c, metric in board.tasks
        ],
        "models": _model_info(records, ranked),
        "rows": rows,
        "results": results,
        "speed": speed,
        "truncation": (trunc := truncation_rows(records, board)),
        "truncation_by_model": truncation_table(trunc),
        "charts": [],
    }


def _pareto(speed: dict[str, float | None], quality: dict[str, float | None]) -> set[str]:
    from embbench.report.charts import pareto_front

    pts = [(m, speed[m], quality.get(m)) for m in speed]
    return set(pareto_front([(m, s, q) for m, s, q in pts if s is not None and q is not None]))


# ------------------------------------------------------------------------------------------ writing


def write_reports(
    output: Path, *, n_resamples: int = 1000, seed: int = 0, charts: bool = True, html: bool = True
) -> list[Path]:
    """Render leaderboard.md, .csv (tidy), _wide.csv, .json, .html and the charts under output from
    output/results (and output/speed). Returns the paths written."""
    from embbench.report import charts as charts_mod
    from embbench.report.tables import csv_tidy, csv_wide, markdown

    output.mkdir(parents=True, exist_ok=True)
    report = build_report(output, n_resamples=n_resamples, seed=seed)
    written: list[Path] = []
    svgs: dict[str, str] = {}
    if charts:
        made = charts_mod.write_charts(report, output / "charts")
        for c in made:
            written += [output / c["png"], output / c["svg"]]
            svgs[c["name"]] = (output / c["svg"]).read_text(encoding="utf-8")
        report["charts"] = made
    md, tidy, wide, js = (
        output / "leaderboard.md",
        output / "leaderboard.csv",
        output / "leaderboard_wide.csv",
        output / "leaderboard.json",
    )
    atomic_write_text(md, markdown(report))
    atomic_write_text(tidy, csv_tidy(report))
    atomic_write_text(wide, csv_wide(report))
    write_json_atomic(js, report)
    written = [md, tidy, wide, js, *written]
    if html:
        from embbench.report.html import render

        page = output / "leaderboard.html"
        atomic_write_text(page, render(report, svgs))
        written.insert(4, page)
    return written
