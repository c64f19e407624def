"""The decision section: use scores, budgets, ties broken by cost, ranking baselines, and the new JSON keys.

Hand-built TaskResults (per-item detail of kind "mean") and speed files; build_report gets the records directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embbench.errors import UserError
from embbench.report.build import build_report
from embbench.report.uses import Budget, Use, parse_budget, parse_report_block, parse_use
from embbench.report.write import write_reports
from embbench.results import TaskResult

N = 200
TASKS = {"ret": ("retrieval", "ndcg_at_10"), "rer": ("reranking", "map_at_1000"), "cls": ("classification", "accuracy")}


def values(seed: int, shift: float = 0.0, n: int = N) -> list[float]:
    rng = np.random.default_rng(seed)
    return np.clip(np.round(rng.uniform(0, 1, n), 2) + shift, 0, 1).tolist()


def result(model: str, task: str, vals: list[float] | None, **extra) -> TaskResult:
    category, metric = TASKS[task]
    if vals is None:
        return TaskResult(model, task, category, metric, None, False, n_items=N)
    score = float(np.mean(vals))
    items = {"kind": "mean", "metric": metric, "values": vals, "ids": [f"q{i}" for i in range(len(vals))]}
    metrics = {metric: score, "ndcg_at_10": score, "recall_at_10": 0.9, "recall_at_100": 0.99, "mrr_at_10": 0.8}
    return TaskResult(
        model, task, category, metric, score, True, metrics=metrics, n_items=len(vals), items=items, **extra
    )


def speed_file(output: Path, model: str, texts: float, p95: float, dim: int = 384, **extra) -> None:
    raw = {
        "model": model,
        "throughput_texts_per_s": texts,
        "throughput_tokens_per_s": texts * 200,
        "batch_size": 32,
        "latency_ms_p50": p95 / 2,
        "latency_ms_p95": p95,
        "peak_rss_mb": 1000.0,
        "peak_gpu_mb": None,
        "load_seconds": 1.0,
        "n_params": 1e8,
        "dim": dim,
        "index_bytes_per_1m": dim * 4 * 1_000_000,
        "hardware": {"cpu": "Test CPU", "threads": 4, "device": "cpu", "dtype": "float32", "hostname_hash": "h1"},
        "sample": {"n_passages": 128, "n_queries": 50, "mean_chars": 700.0},
        **extra,
    }
    (output / "speed").mkdir(parents=True, exist_ok=True)
    (output / "speed" / f"{model}.json").write_text(json.dumps(raw), encoding="utf-8")


def suite() -> list[TaskResult]:
    """strong (best dense), fast (clearly worse, fast), bm25 (leads ret and rer, n/a on cls)."""
    out = []
    for k, task in enumerate(TASKS):
        base = values(k)
        out.append(result("strong", task, base))
        out.append(result("fast", task, [max(0.0, v - 0.3) for v in base]))
        out.append(result("bm25", task, [min(1.0, v + 0.3) for v in base] if task != "cls" else None))
    return out


def decision(tmp_path: Path, records: list[TaskResult], **kw) -> dict:
    return build_report(tmp_path, records=records, n_resamples=200, **kw).data["decision"]


def test_a_ranking_baseline_that_leads_retrieval_is_the_rag_recommendation(tmp_path: Path) -> None:
    speed_file(tmp_path, "strong", 30.0, 20.0)
    speed_file(tmp_path, "fast", 3000.0, 0.3, dim=300)
    d = decision(tmp_path, suite())
    rag = d["rag"]
    assert rag["recommended"] == "bm25" and rag["runners_up"] == ["strong", "fast"]
    assert rag["tasks"] == ["ret", "rer"]
    assert "significant" in rag["reasons"][1] and "not significant" not in rag["reasons"][1]
    # overall: bm25 lacks cls (n/a), so it is not ranked there, and the page says why
    assert d["overall"]["recommended"] == "strong"
    assert d["overall"]["unranked"] == [{"model": "bm25", "na": ["cls"], "missing": []}]
    assert any("bm25 (n/a on cls)" in r for r in d["overall"]["reasons"])
    cand = {c["model"]: c for c in rag["candidates"]}
    assert cand["fast"]["pareto_throughput"] is True and cand["strong"]["pareto_throughput"] is True
    assert cand["bm25"]["pareto_throughput"] is None  # no throughput: not on the chart's front
    expect = np.mean([np.mean([min(1.0, v + 0.3) for v in values(k)]) for k in (0, 1)]) * 100
    assert cand["bm25"]["score"] == round(expect, 2)
    assert cand["bm25"]["ci_low"] <= cand["bm25"]["score"] <= cand["bm25"]["ci_high"]


def test_a_budget_that_excludes_the_best_makes_the_runner_up_the_recommendation(tmp_path: Path) -> None:
    records = [r for r in suite() if r.model != "bm25"]
    speed_file(tmp_path, "strong", 30.0, 20.0)
    speed_file(tmp_path, "fast", 3000.0, 0.3)
    rag = decision(tmp_path, records, budgets=[parse_budget("p95_ms=5")])["rag"]
    assert rag["recommended"] == "fast" and rag["best_score"] == "fast"
    strong = next(c for c in rag["candidates"] if c["model"] == "strong")
    assert strong["role"] == "over_budget" and strong["breaks"] == ["p95_ms 20 (limit 5)"]
    assert any("strong is over it: p95_ms 20 (limit 5)" in r for r in rag["reasons"])
    # without the budget the better model wins
    assert decision(tmp_path, records)["rag"]["recommended"] == "strong"


def test_an_unknown_fact_breaks_no_budget_and_is_said(tmp_path: Path) -> None:
    speed_file(tmp_path, "strong", 30.0, 20.0)
    speed_file(tmp_path, "fast", 3000.0, 0.3)
    rag = decision(tmp_path, suite(), budgets=[Budget("p95_ms", 50.0)])["rag"]
    assert rag["recommended"] == "bm25"
    assert any("not measured, so not excluded: bm25" in r for r in rag["reasons"])


def test_a_tie_between_the_best_two_picks_the_cheaper_and_says_why(tmp_path: Path) -> None:
    records = []
    for k, task in enumerate(TASKS):
        base = values(k)
        twin = list(base)
        twin[0] = max(0.0, twin[0] - 0.05)  # one item a little worse: a lower score, not a significant one
        records += [result("big", task, base), result("small", task, twin)]
    speed_file(tmp_path, "big", 25.0, 20.0, dim=1024)
    speed_file(tmp_path, "small", 100.0, 5.0, dim=512)
    rag = decision(tmp_path, records)["rag"]
    assert rag["best_score"] == "big" and rag["recommended"] == "small" and rag["tie"] is True
    assert rag["tie_break"] == "hours_per_1m_docs"
    small = next(c for c in rag["candidates"] if c["model"] == "small")
    assert small["significant"] is False and small["p_vs_best"] >= 0.05
    why = rag["reasons"][1]
    assert "big and small are not distinguishable on these tasks" in why
    assert "compared with big, it is 4.0x faster and needs 0.5x the index memory" in why


def test_a_lead_on_few_items_carries_a_small_sample_warning(tmp_path: Path) -> None:
    records = [result("a", "ret", values(1, n=20)), result("b", "ret", values(1, shift=-0.4, n=20))]
    rag = decision(tmp_path, records)["rag"]
    b = next(c for c in rag["candidates"] if c["model"] == "b")
    assert b["small_sample"] is True and b["significant"] is True
    assert "small sample" in rag["reasons"][1] and "the lead is significant" not in rag["reasons"][1]


def test_custom_uses_and_a_use_without_tasks(tmp_path: Path) -> None:
    d = decision(tmp_path, suite(), uses=[parse_use("search=retrieval"), parse_use("sim=sts")])
    assert list(d) == ["search", "sim"]
    assert d["search"]["tasks"] == ["ret"] and d["search"]["recommended"] == "bm25"
    assert d["sim"]["recommended"] is None and d["sim"]["reasons"] == ["no STS task in this run"]


def test_a_use_given_twice_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="given twice"):
        decision(tmp_path, suite(), uses=[parse_use("rag=retrieval"), parse_use("rag=reranking")])


def test_cost_from_the_probe_and_the_hour_price(tmp_path: Path) -> None:
    speed_file(tmp_path, "strong", 100.0, 20.0)
    data = build_report(tmp_path, records=suite(), n_resamples=50, gpu_hour_usd=2.0).data
    cost = {c["model"]: c for c in data["cost"]}
    assert cost["strong"]["hours_per_1m_docs"] == round(1e6 / 100 / 3600, 3)  # 2.778 h
    assert cost["strong"]["usd_per_1m_docs"] == round(2.0 * 1e6 / 100 / 3600, 3)
    assert cost["bm25"] == {"model": "bm25", "hours_per_1m_docs": None, "usd_per_1m_docs": None}
    rag = data["decision"]["rag"]
    assert next(c for c in rag["candidates"] if c["model"] == "strong")["usd_per_1m_docs"] == 5.556


def test_cost_per_task_from_the_tasks_own_lengths(tmp_path: Path) -> None:
    trunc = {"max_tokens": 256, "mean_tokens": 400.0, "mean_tokens_seen": 250.0, "mean_chars": 1300.0}
    records = [TaskResult(**{**r.__dict__, "truncation": trunc}) if r.model == "strong" else r for r in suite()]
    speed_file(tmp_path, "strong", 100.0, 20.0)  # 20000 tokens/s
    data = build_report(tmp_path, records=records, n_resamples=20, gpu_hour_usd=1.0).data
    row = next(c for c in data["cost_by_task"] if c["task"] == "ret")
    assert row["hours_per_1m_docs"] == round(1e6 * 250 / 20000 / 3600, 3)  # 3.472 h
    assert row["usd_per_1m_docs"] == row["hours_per_1m_docs"] and row["share_of_tokens_embedded"] == 0.62
    assert {c["model"] for c in data["cost_by_task"]} == {"strong"}  # the others record no lengths
    report = build_report(tmp_path, records=records, n_resamples=20)
    assert report.section("cost_by_task") is not None


def test_api_price_per_token(tmp_path: Path) -> None:
    records = [
        result("api", t, values(k), model_info={"backend": "openai", "price_per_1m_tokens": 0.1})
        for k, t in enumerate(TASKS)
    ]
    speed_file(tmp_path, "api", 10.0, 100.0)  # 200 tokens per text
    cost = build_report(tmp_path, records=records, n_resamples=50).data["cost"][0]
    assert cost["tokens_per_doc"] == 200 and cost["usd_per_1m_docs"] == pytest.approx(20.0)  # 200M tokens x 0.1


def test_not_evaluated_compression_and_wiki_rules_in_every_format(tmp_path: Path) -> None:
    out = tmp_path / "run"
    for r in suite():
        if r.model == "strong" and r.task == "ret":
            r = TaskResult(
                **{
                    **r.__dict__,
                    "compression": [
                        {"dim": 384, "precision": "float32", "bytes_per_vector": 1536, "score": r.main_score},
                        {"dim": 128, "precision": "int8", "bytes_per_vector": 128, "score": 0.41},
                        {"dim": 384, "precision": "binary", "bytes_per_vector": 48, "score": 0.3},
                    ],
                }
            )
        path = out / "results" / r.model / f"{r.task}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r.to_json()), encoding="utf-8")
    speed_file(out, "strong", 30.0, 20.0, load={"load_1m": 3.5, "logical_cpus": 2})
    missing = [{"model": "hub-model", "reason": "not downloadable offline (HF_HUB_OFFLINE=1)"}]
    (out / "not_evaluated.json").write_text(json.dumps(missing), encoding="utf-8")
    write_reports(out, n_resamples=50, charts=False, generated_by="embbench run")
    js = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert js["not_evaluated"] == missing
    assert "| hub-model | not downloadable offline (HF_HUB_OFFLINE=1) |" in md
    assert 'data-v="hub-model">hub-model</td>' in html and "not downloadable offline" in html
    rows = [(c["precision"], c["dim"], c["bytes_per_vector"], c["index_mb_per_1m_docs"]) for c in js["compression"]]
    assert rows == [("float32", 384, 1536, 1536.0), ("int8", 128, 128, 128.0), ("binary", 384, 48, 48.0)]
    assert js["compression"][0]["delta_vs_full"] == 0.0 and js["compression"][1]["score"] == 0.41
    assert "## Compression" in md and "| strong | ret | 128 | int8 | 128 | 128 | 41.00 |" in md
    assert "<h2>Compression</h2>" in html
    assert js["decision"]["rag"]["recommended"] == "bm25" and set(js["decision"]) == {"rag", "overall"}
    assert {"recommended", "runners_up", "reasons", "tasks"} <= set(js["decision"]["rag"])
    assert {c["model"] for c in js["cost"]} == {"strong", "fast", "bm25"}
    # wiki-ready: the decision first, provenance last, no raw HTML, the command and the speed folder named
    assert md.index("## Decision") < md.index("## Summary") < md.index("## Provenance") < md.index("### Models")
    assert "<br>" not in md and "by `embbench run`" in md and "embbench report`" not in md
    assert f"`{out / 'speed'}/<model>.json`" in md
    assert "probed on a busy machine (load 3.5 on 2 logical CPUs)" in md
    strong = next(c for c in js["decision"]["rag"]["candidates"] if c["model"] == "strong")
    assert "probed on a busy machine" in strong["reason"] and "busy" in html
    assert html.index("<h2>Decision</h2>") < html.index("<h2>Summary</h2>") < html.index("<h2>Provenance</h2>")


def test_long_hashes_are_shortened_with_the_full_value_kept(tmp_path: Path) -> None:
    sha = "f07270833d78523edc5781538d67038e95b43975e4a7ae757c693b687f9cbfca"
    records = [result("m", t, values(k), model_info={"revision": f"sha256:{sha}"}) for k, t in enumerate(TASKS)]
    report = build_report(tmp_path, records=records, n_resamples=50)
    cell = report.section("models").rows[0][2]
    assert cell.display == "sha256:f07270833d78…" and cell.title == f"sha256:{sha}"
    assert report.data["models"][0]["revision"] == f"sha256:{sha}"


# ------------------------------------------------------------------------------------------ parsing


def test_parse_use_and_budget() -> None:
    assert parse_use("rag=retrieval, reranking") == Use("rag", ("retrieval", "reranking"))
    assert parse_use("overall=all") == Use("overall", None)
    assert parse_budget("p95_ms=50") == Budget("p95_ms", 50.0)
    assert parse_budget("index_gb=4").check({"index_mb_per_1m": 6000.0}) == "index_gb 6 (limit 4)"
    assert parse_budget("min_texts_per_s=100").check({"texts_per_s": 26.5}) == "min_texts_per_s 26.5 (limit 100)"
    opts = parse_report_block({"uses": {"rag": ["retrieval"]}, "budgets": {"ram_gb": 2}, "gpu_hour_usd": 1.5}, "m.yaml")
    assert opts.uses == (Use("rag", ("retrieval",)),) and opts.budgets == (Budget("ram_gb", 2.0),)
    assert opts.gpu_hour_usd == 1.5


@pytest.mark.parametrize(
    ("call", "field", "fix"),
    [
        (lambda: parse_use("rag"), "use", "rag=retrieval,reranking"),
        (lambda: parse_use("rag=retrievl"), "rag", "one of classification"),
        (lambda: parse_use("=retrieval"), "use", "e.g."),
        (lambda: parse_budget("p95=50"), "budget", "one of p95_ms"),
        (lambda: parse_budget("p95_ms=fast"), "p95_ms", "p95_ms=50"),
        (lambda: parse_budget("p95_ms=-1"), "p95_ms", "p95_ms=50"),
        (lambda: parse_report_block({"budget": {}}, "m.yaml"), "report", "budgets"),
    ],
)
def test_bad_uses_and_budgets_are_one_line_errors(call, field: str, fix: str) -> None:
    with pytest.raises(UserError) as err:
        call()
    assert err.value.field == field and fix in (err.value.fix or "") and "\n" not in str(err.value)


def test_cli_report_takes_uses_budgets_and_an_hour_price(tmp_path: Path, capsys) -> None:
    from embbench.cli import main

    for r in suite():
        path = tmp_path / "results" / r.model / f"{r.task}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r.to_json()), encoding="utf-8")
    speed_file(tmp_path, "strong", 30.0, 20.0)
    args = ["report", "--output", str(tmp_path), "--resamples", "30", "--no-charts", "--no-html"]
    assert main([*args, "--use", "search=retrieval", "--budget", "p95_ms=5", "--gpu-hour-usd", "3"]) == 0
    js = json.loads((tmp_path / "leaderboard.json").read_text(encoding="utf-8"))
    assert list(js["decision"]) == ["search"] and js["budgets"] == ["p95_ms ≤ 5"]
    assert next(c for c in js["cost"] if c["model"] == "strong")["usd_per_1m_docs"] == round(3 * 1e6 / 30 / 3600, 3)
    capsys.readouterr()
    assert main([*args, "--budget", "p95=5"]) == 2
    assert "unknown budget 'p95'" in capsys.readouterr().err


def test_compression_chart_when_variants_exist(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    for r in suite():
        if r.model == "strong" and r.task == "ret":
            variants = [
                {"dim": 384, "precision": "float32", "bytes_per_vector": 1536, "score": r.main_score},
                {"dim": 384, "precision": "binary", "bytes_per_vector": 48, "score": 0.3},
            ]
            r = TaskResult(**{**r.__dict__, "compression": variants})
        path = tmp_path / "results" / r.model / f"{r.task}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r.to_json()), encoding="utf-8")
    paths = write_reports(tmp_path, n_resamples=20, html=False)
    assert tmp_path / "charts" / "compression.png" in paths
    assert "](charts/compression.png)" in (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    js = json.loads((tmp_path / "leaderboard.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in js["charts"]] == ["categories", "compression"]  # no speed file: no speed chart
