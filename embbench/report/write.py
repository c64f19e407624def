"""write_reports: render every document of a report (Markdown, tidy and wide CSV, JSON, HTML, charts) under output."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from embbench._io import atomic_write_text
from embbench.report import charts as charts_mod
from embbench.report import csv, markdown
from embbench.report import html as html_mod
from embbench.report.build import build_report
from embbench.report.uses import Budget, Use
from embbench.results import write_json_atomic


def write_reports(
    output: Path,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    charts: bool = True,
    html: bool = True,
    uses: Sequence[Use] | None = None,
    budgets: Sequence[Budget] = (),
    gpu_hour_usd: float | None = None,
    generated_by: str = "embbench report",
) -> list[Path]:
    """Render leaderboard.md, .csv (tidy), _wide.csv, .json, .html and the charts under output from
    output/results (and output/speed, output/not_evaluated.json). Returns the paths written.

    ``uses`` (default: rag = retrieval + reranking, then overall = every category) and ``budgets`` shape the
    decision (see report/uses.py for parse_use / parse_budget); ``gpu_hour_usd`` prices local hours;
    ``generated_by`` is the command the page names ("embbench run" after a run)."""
    output.mkdir(parents=True, exist_ok=True)
    report = build_report(
        output,
        n_resamples=n_resamples,
        seed=seed,
        uses=uses,
        budgets=budgets,
        gpu_hour_usd=gpu_hour_usd,
        generated_by=generated_by,
    )
    chart_paths: list[Path] = []
    svgs: dict[str, str] = {}
    if charts:
        made = charts_mod.write_charts(report.data, output / "charts")
        for c in made:
            chart_paths += [output / c["png"], output / c["svg"]]
            svgs[c["name"]] = (output / c["svg"]).read_text(encoding="utf-8")
        report = report.with_charts(made)
    md, tidy, wide, js = (
        output / "leaderboard.md",
        output / "leaderboard.csv",
        output / "leaderboard_wide.csv",
        output / "leaderboard.json",
    )
    atomic_write_text(md, markdown.render(report))
    atomic_write_text(tidy, csv.tidy(report))
    atomic_write_text(wide, csv.wide(report))
    write_json_atomic(js, report.data)
    written = [md, tidy, wide, js]
    if html:
        page = output / "leaderboard.html"
        atomic_write_text(page, html_mod.render(report, svgs))
        written.append(page)
    return written + chart_paths
