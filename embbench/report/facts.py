"""The facts beside the scores: speed and size (speed files), hardware, truncation, model configuration, software."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from embbench.report.board import Leaderboard
from embbench.report.charts import pareto_front
from embbench.report.model import CONFIG_FIELDS, rnd
from embbench.results import TaskResult

# ------------------------------------------------------------------------------------------ speed and size


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
        "sample_mean_chars": _num(raw.get("sample") or {}, "mean_chars"),
        "reused_from": reused_from(raw),
        **busy(raw),
    }


def reused_from(raw: dict[str, Any]) -> str | None:
    """Where a reused probe was kept (the speed file's optional ``reused`` = {"from", ...}, speed/store.py); None
    for a probe this run measured."""
    found = raw.get("reused")
    return str(found["from"]) if isinstance(found, dict) and found.get("from") else None


def busy(raw: dict[str, Any]) -> dict[str, Any]:
    """Whether the probe ran on a busy machine, from the speed file's optional ``load``: other processes' average
    cores during the probe (``others_cores``) reaching a quarter of the CPUs (at least half a core; as
    speed/hardware.busy_share); older files without it: the 1-minute load average (which also counts the run's
    own encoding) reaching the logical CPUs."""
    found = raw.get("load")
    load: dict[str, Any] = found if isinstance(found, dict) else {}
    lo, cpus, others = _num(load, "load_1m"), _num(load, "logical_cpus"), _num(load, "others_cores")
    if others is not None and cpus:
        flag: bool | None = others >= max(0.5, cpus / 4)
    else:
        flag = None if lo is None or not cpus else lo >= cpus
    return {"load_1m": lo, "logical_cpus": cpus, "others_cores": others, "busy": flag}


def machine_id(hw: dict[str, Any]) -> str:
    """A short description of the machine (what makes speed numbers comparable)."""
    parts = [str(hw.get(k)) for k in ("cpu", "gpu") if hw.get(k)]
    if hw.get("threads"):
        parts.append(f"{hw['threads']} threads")
    if hw.get("hostname_hash"):
        parts.append(f"host {str(hw['hostname_hash'])[:8]}")
    return ", ".join(parts) or "unknown machine"


def speed_section(output: Path, board: Leaderboard) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The speed rows (ranked models first, then speed files of models without results), the hardware they were
    measured on, and warnings (unreadable files, different machines, devices or dtypes)."""
    speed_raw, warnings = load_speed(output)
    ranked = board.ranked_models()
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
    warnings += [
        f"speed of {s['model']} was probed on a busy machine ("
        + (
            f"other processes used {s['others_cores']:.1f} of {s['logical_cpus']:.0f} logical CPUs during the probe"
            if s.get("others_cores") is not None
            else f"load {s['load_1m']:.1f} on {s['logical_cpus']:.0f} logical CPUs"
        )
        + "): its timings include that contention (re-run `embbench speed --force` on a quiet machine)"
        for s in speed
        if s["busy"]
    ]
    warnings += [
        f"speed of {s['model']} was not measured by this run: it reuses the probe measured {s['date']} on "
        f"{s['machine']}, kept in {s['reused_from']} (`embbench run --force` or `embbench speed --force` re-measures)"
        for s in speed
        if s["reused_from"]
    ]
    if len({(s["device"], s["dtype"]) for s in speed}) > 1:
        warnings.append("speed was measured with different devices or dtypes (see the Device column)")
    hardware = []
    for mach, ms in machines.items():
        hw = speed_raw[ms[0]].get("hardware") or {}
        hardware.append({"machine": mach, "models": ms, **{k: v for k, v in hw.items() if k != "hostname_hash"}})
    return speed, hardware, warnings


def pareto(speed: list[dict[str, Any]], rows: list[dict[str, Any]]) -> set[str]:
    """The models no other is both faster (texts/s) and better (Mean (Task)) than."""
    quality = {r["model"]: r["mean_task"] for r in rows}
    pts = [(s["model"], s["texts_per_s"], quality.get(s["model"])) for s in speed]
    return set(pareto_front([(m, x, q) for m, x, q in pts if x is not None and q is not None]))


# ------------------------------------------------------------------------------------------ truncation


def truncation_rows(records: list[TaskResult], board: Leaderboard) -> list[dict[str, Any]]:
    """Per (model, task) that recorded it: how many texts the model's token limit cut."""
    out = []
    order = {m: i for i, m in enumerate(board.ranked_models())}
    tindex = {t: i for i, (t, _, _) in enumerate(board.tasks)}
    for r in sorted(records, key=lambda r: (order.get(r.model, 0), tindex.get(r.task, 0))):
        tr = r.truncation
        if not isinstance(tr, dict):
            continue
        share = _num(tr, "share_truncated")
        out.append(
            {
                "model": r.model,
                "task": r.task,
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


# ------------------------------------------------------------------------------------------ models and software


def model_info(records: list[TaskResult], models: list[str]) -> list[dict[str, Any]]:
    """Per model: its source, revision, configuration and the distinct prompts it used per role."""
    out = []
    for m in models:
        mine = [r for r in records if r.model == m]
        mi = mine[0].model_info or {}
        prompts: dict[str, list[str]] = {}
        for r in mine:
            for role, p in (r.prompts or {}).items():
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


def software(records: list[TaskResult]) -> tuple[dict[str, str], dict[str, dict[str, list[str]]]]:
    """Library versions shared by every result, and for each library that differs: version -> models."""
    keys: list[str] = []
    for r in records:
        for k in r.versions or {}:
            if k not in keys:
                keys.append(k)
    common: dict[str, str] = {}
    mixed: dict[str, dict[str, list[str]]] = {}
    for k in keys:
        seen: dict[str, list[str]] = {}
        for r in records:
            v = str((r.versions or {}).get(k, "unknown"))
            if r.model not in seen.setdefault(v, []):
                seen[v].append(r.model)
        if len(seen) == 1:
            common[k] = next(iter(seen))
        else:
            mixed[k] = seen
    return common, mixed


def software_warning(mixed: dict[str, dict[str, list[str]]]) -> list[str]:
    """One warning naming each library whose version differs between results (none when all agree)."""
    if not mixed:
        return []
    return [
        "results come from different library versions: "
        + "; ".join(
            f"{lib} " + ", ".join(f"{v} ({', '.join(ms)})" for v, ms in seen.items()) for lib, seen in mixed.items()
        )
    ]
