"""`embbench diff RUN_A RUN_B`: score deltas between two output folders, and what changed between them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from embbench.errors import UserError
from embbench.report import stats
from embbench.report.facts import busy, load_speed, machine_id
from embbench.report.model import ALPHA, CONFIG_FIELDS, fmt, rnd
from embbench.results import TaskResult, load_results


def _changes(a: TaskResult, b: TaskResult) -> list[dict[str, Any]]:
    """The differences that can explain a score change: model identity and configuration, prompts, protocol
    params, data, library versions (timings, dates, devices and cache statistics are not compared)."""
    out: list[dict[str, Any]] = []

    def cmp(field: str, x: Any, y: Any) -> None:
        if x != y:
            out.append({"field": field, "a": x, "b": y})

    mia, mib = a.model_info or {}, b.model_info or {}
    for k in ("source", *CONFIG_FIELDS):
        cmp(f"model.{k}", mia.get(k), mib.get(k))
    pa, pb = a.prompts or {}, b.prompts or {}
    for role in sorted(set(pa) | set(pb)):
        cmp(f"prompt.{role}", pa.get(role), pb.get(role))
    qa, qb = a.params or {}, b.params or {}
    for k in sorted(set(qa) | set(qb)):
        cmp(f"params.{k}", qa.get(k), qb.get(k))
    ta, tb = a.task_info or {}, b.task_info or {}
    cmp("data_fingerprint", ta.get("data_fingerprint"), tb.get("data_fingerprint"))
    cmp("eval_split", ta.get("eval_split"), tb.get("eval_split"))
    cmp("main_metric", a.main_metric, b.main_metric)
    cmp("n_items", a.n_items, b.n_items)
    va, vb = a.versions or {}, b.versions or {}
    for k in sorted(set(va) | set(vb)):
        cmp(f"version.{k}", va.get(k), vb.get(k))
    return out


def diff_runs(run_a: Path, run_b: Path, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Per (model, task): both scores (x100), the delta b - a, a paired-test p-value where both runs kept the
    per-item detail for the same data, and the differences in configuration; per model: speed changes."""
    for run in (run_a, run_b):
        if not (run / "results").is_dir():
            raise UserError(run / "results", "no results folder", fix="pass an output folder of `embbench run`")
    ra = {(r.model, r.task): r for r in load_results(run_a)}
    rb = {(r.model, r.task): r for r in load_results(run_b)}
    pairs = [_pair(key, ra.get(key), rb.get(key), n_resamples, seed) for key in sorted(set(ra) | set(rb))]
    both = [p for p in pairs if p["status"] == "both"]
    return {
        "run_a": str(run_a),
        "run_b": str(run_b),
        "settings": {"n_resamples": n_resamples, "seed": seed, "alpha": ALPHA},
        "summary": {
            "pairs_in_both": len(both),
            "only_a": sum(p["status"] == "only_a" for p in pairs),
            "only_b": sum(p["status"] == "only_b" for p in pairs),
            "score_changed": sum(p["score_changed"] for p in both),
            "significant": sum(bool(p["significant"]) and p["score_changed"] for p in both),
            "config_changed": sum(bool(p["changes"]) for p in both),
        },
        "pairs": pairs,
        "speed": _speed(run_a, run_b),
    }


def _pair(
    key: tuple[str, str], a: TaskResult | None, b: TaskResult | None, n_resamples: int, seed: int
) -> dict[str, Any]:
    """One (model, task): in which runs it is, both scores, the delta, its p-value and what changed."""
    row: dict[str, Any] = {"model": key[0], "task": key[1]}
    if a is None or b is None:
        row.update(status="only_a" if b is None else "only_b")
        row.update(score_a=_score(a), score_b=_score(b), delta=None, p_value=None, changes=[])
        return row
    sa, sb = a.main_score, b.main_score
    same_data = (a.task_info or {}).get("data_fingerprint") == (b.task_info or {}).get("data_fingerprint")
    p = None
    if sa is not None and sb is not None and same_data:
        p = stats.paired_test(a.items, b.items, n_resamples=n_resamples, seed=seed)
    row.update(
        status="both",
        score_a=_score(a),
        score_b=_score(b),
        delta=None if sa is None or sb is None else rnd(100 * (sb - sa)),
        score_changed=sa != sb,
        p_value=rnd(p, 4),
        significant=None if p is None else p < ALPHA,
        changes=_changes(a, b),
    )
    return row


def _speed(run_a: Path, run_b: Path) -> list[dict[str, Any]]:
    """Per model timed in both runs: texts/s in each, their ratio, and whether the machines are the same."""
    speed_a, _ = load_speed(run_a)
    speed_b, _ = load_speed(run_b)
    out = []
    for m in sorted(set(speed_a) & set(speed_b)):
        xa, xb = speed_a[m], speed_b[m]
        ta, tb = xa.get("throughput_texts_per_s"), xb.get("throughput_texts_per_s")
        ma, mb = machine_id(xa.get("hardware") or {}), machine_id(xb.get("hardware") or {})
        busy_a, busy_b = busy(xa)["busy"], busy(xb)["busy"]
        out.append(
            {
                "model": m,
                "texts_per_s_a": rnd(ta, 1),
                "texts_per_s_b": rnd(tb, 1),
                "ratio": rnd(tb / ta, 3) if ta and tb else None,
                "machine_a": ma,
                "machine_b": mb,
                "same_machine": ma == mb,
                "busy_a": busy_a,
                "busy_b": busy_b,
                # one probe on a busy machine and the other not: the same host, not the same conditions
                "same_load": not (busy_a or busy_b) or busy_a == busy_b,
            }
        )
    return out


def _score(r: TaskResult | None) -> float | str | None:
    if r is None:
        return None
    return "n/a" if r.main_score is None else rnd(100 * r.main_score)


def _short(v: Any) -> str:
    text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return text if len(text) <= 70 else text[:67] + "..."


def render(d: dict[str, Any]) -> str:
    """The diff as Markdown (printed by `embbench diff`)."""
    s = d["summary"]
    lines = [
        f"# embbench diff: {d['run_a']} -> {d['run_b']}",
        "",
        f"{s['pairs_in_both']} (model, task) pairs in both runs, {s['only_a']} only in A, {s['only_b']} only in B; "
        f"{s['score_changed']} with a different score ({s['significant']} significant at p < {ALPHA}, paired "
        f"bootstrap on the same items); {s['config_changed']} with a changed configuration.",
        "",
    ]
    if not s["score_changed"] and not s["config_changed"] and not s["only_a"] and not s["only_b"]:
        lines += ["No change: every score is identical and nothing in the configuration changed.", ""]
    lines += [
        "| Model | Task | A | B | Δ (B - A) | p | Changed |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for p in d["pairs"]:
        changed = ", ".join(sorted({c["field"] for c in p["changes"]}))
        if p["status"] != "both":
            changed = "only in A" if p["status"] == "only_a" else "only in B"
        delta = "" if p["delta"] is None else f"{p['delta']:+.2f}"
        if p.get("significant") and p.get("score_changed"):
            delta += " *"
        lines.append(
            f"| {p['model']} | {p['task']} | {fmt(p['score_a'])} | {fmt(p['score_b'])} | {delta} | "
            f"{fmt(p['p_value'], 4)} | {changed} |"
        )
    lines += ["", f"\\* significant at p < {ALPHA}. p is blank where the runs do not hold the same items."]

    # what changed, grouped per model: a change shared by all of a model's tasks is listed once
    grouped: dict[str, dict[tuple[str, str, str], list[str]]] = {}
    tasks_of: dict[str, int] = {}
    for p in d["pairs"]:
        if p["status"] != "both":
            continue
        tasks_of[p["model"]] = tasks_of.get(p["model"], 0) + 1
        for c in p["changes"]:
            key = (c["field"], _short(c["a"]), _short(c["b"]))
            grouped.setdefault(p["model"], {}).setdefault(key, []).append(p["task"])
    if grouped:
        lines += ["", "## What changed", ""]
        for model, changes in grouped.items():
            lines.append(f"- **{model}**")
            for (field, a, b), tasks in changes.items():
                where = "all tasks" if len(tasks) == tasks_of[model] else ", ".join(tasks)
                lines.append(f"  - {field}: {a} -> {b} ({where})")
    if d["speed"]:
        lines += ["", "## Speed", "", "| Model | A texts/s | B texts/s | B / A | Machine |", "|---|---:|---:|---:|---|"]
        for sp in d["speed"]:
            machine = "same" if sp["same_machine"] else f"{sp['machine_a']} -> {sp['machine_b']} (not comparable)"
            if sp["same_machine"] and not sp["same_load"]:
                load = " -> ".join("busy" if b else "quiet" for b in (sp["busy_a"], sp["busy_b"]))
                machine = f"same host, load differs ({load}): not comparable"
            lines.append(
                f"| {sp['model']} | {fmt(sp['texts_per_s_a'], 1)} | {fmt(sp['texts_per_s_b'], 1)} | "
                f"{fmt(sp['ratio'], 3)} | {machine} |"
            )
    return "\n".join(lines) + "\n"
