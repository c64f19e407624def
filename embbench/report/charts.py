"""Charts for the leaderboards (PNG and SVG): quality vs throughput with the Pareto front, and category means.

matplotlib is optional (the `report` extra): without it the charts are skipped with one warning line.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

_warned = False


def pareto_front(points: list[tuple[str, float, float]]) -> list[str]:
    """Names of the points (name, speed, quality) no other point beats on both (higher is better on both)."""
    front = []
    for name, x, y in points:
        dominated = any((ox >= x and oy >= y) and (ox > x or oy > y) for other, ox, oy in points if other != name)
        if not dominated:
            front.append(name)
    return front


def _matplotlib() -> Any:
    global _warned
    try:
        import matplotlib
    except ImportError:
        if not _warned:
            print(
                "warning: matplotlib is not installed: charts skipped (pip install 'embbench[report]')",
                file=sys.stderr,
                flush=True,
            )
            _warned = True
        return None
    matplotlib.rcParams["svg.hashsalt"] = "embbench"  # stable ids: a re-render gives the same SVG
    matplotlib.rcParams["svg.fonttype"] = "path"
    return matplotlib


def _save(fig: Any, out_dir: Path, name: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    # via per-process temporary files and renames: two concurrent runs never leave (or read) a torn chart
    tmp_png, tmp_svg = (out_dir / f".{p.name}.{os.getpid()}.tmp" for p in (png, svg))
    fig.savefig(tmp_png, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(tmp_svg, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    os.replace(tmp_png, png)
    os.replace(tmp_svg, svg)
    return png, svg


def quality_vs_speed(
    points: list[tuple[str, float, float]],
    out_dir: Path,
    name: str = "quality_vs_speed",
    *,
    baselines: list[tuple[str, float]] | None = None,
    quality: str = "Mean (Task)",
) -> bool:
    """Scatter of a quality score against texts/s (log x), the Pareto front highlighted; models with a score but no
    throughput (ranking baselines such as BM25, never probed) as dashed horizontal lines at their score."""
    mpl = _matplotlib()
    if mpl is None or not points:
        return False
    baselines = baselines or []
    from matplotlib.figure import Figure

    front = set(pareto_front(points))
    fig = Figure(figsize=(7.5, 4.8))
    ax = fig.add_subplot()
    for model, x, y in points:
        on = model in front
        ax.scatter([x], [y], s=60 if on else 36, color="#d62728" if on else "#7f7f7f", zorder=3)
        ax.annotate(model, (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    fp = sorted((x, y) for m, x, y in points if m in front)
    if len(fp) > 1:
        ax.plot([p[0] for p in fp], [p[1] for p in fp], color="#d62728", linewidth=1.2, zorder=2, label="Pareto front")
        ax.legend(loc="best", fontsize=8)
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))
    xs = [p[1] for p in points]
    lo, hi = min(xs), max(xs)
    if lo == hi:
        ax.set_xlim(lo / 2, hi * 2)
    else:
        ax.set_xlim(lo / 1.6, hi * 1.6)
    for model, y in baselines:
        ax.axhline(y, color="#1f77b4", linestyle="--", linewidth=1.0, zorder=1)
        ax.annotate(
            f"{model} (no throughput probe)",
            (ax.get_xlim()[0], y),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=8,
            color="#1f77b4",
        )
    top = max([y for _, _, y in points] + [y for _, y in baselines])
    ax.set_ylim(0, min(100.0, top * 1.12) if top > 0 else 1.0)
    ax.set_xlabel("Throughput, texts/s (log scale: the axis does not start at zero)")
    ax.set_ylabel(f"{quality} (axis from 0)")
    ax.set_title(f"Quality ({quality}) vs throughput (red: Pareto front)")
    ax.grid(True, which="both", alpha=0.3)
    _save(fig, out_dir, name)
    return True


def category_bars(
    models: list[str],
    categories: list[str],
    values: dict[str, list[float | None]],
    out_dir: Path,
    name: str = "categories",
) -> bool:
    """Grouped bars: a group per category, a bar per model (missing means are left out)."""
    mpl = _matplotlib()
    if mpl is None or not models or not categories:
        return False
    from matplotlib.figure import Figure

    # wide and large-type: the HTML page shows it at full width (up to 1100 px), readable without zooming
    fig = Figure(figsize=(max(11.0, 1.0 * len(categories) + 0.25 * len(models) * len(categories)), 5.2))
    ax = fig.add_subplot()
    width = 0.8 / len(models)
    cmap = mpl.colormaps["tab10" if len(models) <= 10 else "tab20"]
    for i, m in enumerate(models):
        xs = [k + (i - (len(models) - 1) / 2) * width for k in range(len(categories))]
        ys = [math.nan if v is None else v for v in values[m]]
        ax.bar(xs, ys, width=width, label=m, color=cmap(i % cmap.N))
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels(categories, rotation=15, ha="right", fontsize=11)
    ax.tick_params(axis="y", labelsize=11)
    ax.set_ylim(0, 100)
    ax.set_ylabel("Category mean (x 100, axis from 0)", fontsize=11)
    ax.set_title("Mean score per category", fontsize=13)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=min(len(models), 4), frameon=False)
    _save(fig, out_dir, name)
    return True


def compression_chart(rows: list[dict[str, Any]], out_dir: Path, name: str = "compression") -> bool:
    """Score (x 100) against index MB per 1M docs (log x), a line per (model, task) through its variants."""
    mpl = _matplotlib()
    if mpl is None or not rows:
        return False
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 5.2))
    ax = fig.add_subplot()
    series: dict[tuple[str, str], list[tuple[float, float, str]]] = {}
    for r in rows:
        label = r["precision"] if r["precision"] != "float32" else f"{r['dim']}d"
        series.setdefault((r["model"], r["task"]), []).append(
            (float(r["index_mb_per_1m_docs"]), 100 * r["score"], label)
        )
    for (model, task), pts in series.items():
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", linewidth=1.2, label=f"{model} / {task}")
        for x, y, label in pts:
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(3, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_ylim(0, 100)
    ax.set_xlabel("Index MB per 1M docs (log scale: the axis does not start at zero)")
    ax.set_ylabel("Score (x 100, axis from 0)")
    ax.set_title("Compression: quality vs index size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    _save(fig, out_dir, name)
    return True


def _quality_points(report: dict[str, Any]) -> tuple[list[tuple[str, float, float]], list[tuple[str, float]], str]:
    """The headline use's scores (the first use of the decision, e.g. rag) against texts/s, and the models with
    a score but no throughput; Mean (Task) when the report has no decision."""
    uses = list((report.get("decision") or {}).values())
    if uses and uses[0]["candidates"]:
        cands = uses[0]["candidates"]
        pts = [(c["model"], float(c["texts_per_s"]), float(c["score"])) for c in cands if c.get("texts_per_s")]
        base = [(c["model"], float(c["score"])) for c in cands if not c.get("texts_per_s")]
        return pts, base, f"{uses[0]['use']} score"
    quality = {r["model"]: r["mean_task"] for r in report["rows"]}
    pts = [
        (s["model"], float(s["texts_per_s"]), float(quality[s["model"]]))
        for s in report["speed"]
        if s["texts_per_s"] and quality.get(s["model"]) is not None
    ]
    return pts, [], "Mean (Task)"


def write_charts(report: dict[str, Any], out_dir: Path, rel: str = "charts") -> list[dict[str, str]]:
    """The charts a report dict supports; returns [{name, title, png, svg}] with paths relative to the report."""
    made = []
    points, baselines, label = _quality_points(report)
    if quality_vs_speed(points, out_dir, baselines=baselines, quality=label):
        made.append(
            {
                "name": "quality_vs_speed",
                "title": f"Quality ({label}) vs throughput (texts/s), Pareto front in red",
                "png": f"{rel}/quality_vs_speed.png",
                "svg": f"{rel}/quality_vs_speed.svg",
            }
        )
    cats = report["categories"]
    models = [r["model"] for r in report["rows"]]
    values = {r["model"]: [r[f"mean_{c['category']}"] for c in cats] for r in report["rows"]}
    if category_bars(models, [c["label"] for c in cats], values, out_dir):
        made.append(
            {
                "name": "categories",
                "title": "Mean score per category",
                "png": f"{rel}/categories.png",
                "svg": f"{rel}/categories.svg",
            }
        )
    if compression_chart(report.get("compression") or [], out_dir):
        made.append(
            {
                "name": "compression",
                "title": "Compression: quality vs index size (MB per 1M docs)",
                "png": f"{rel}/compression.png",
                "svg": f"{rel}/compression.svg",
            }
        )
    return made
