"""What embedding a corpus costs: hours (and money) to embed 1M documents, from the speed probe, with its truncation.

Per model with a speed file (``<output>/speed/<model>.json``):

- ``hours_per_1m_docs`` = 10^6 / texts_per_s / 3600: the probe's throughput on its own sample of RAG-length passages
  (400-1500 characters, mean ``sample_mean_chars``), so every model is compared on the same input;
- the truncation it implies: ``tokens_per_doc`` = tokens/s / texts/s is what the model actually read per passage
  (capped at its token limit), ``tokens_per_doc_uncut`` = sample_mean_chars x the tokenizer's tokens per 1000
  characters on the run's tasks (the Truncation table); ``share_of_tokens_embedded`` = their ratio (1 = nothing cut);
- ``gpu_hours_per_1m_docs``: the hours when the probe ran on a GPU (None on a CPU);
- per task, when the result's ``truncation`` records the task's own text lengths (``mean_tokens``: tokens per text
  before the model's limit, ``mean_tokens_seen``: after it, ``mean_chars``), ``cost_by_task`` rescales the probe to
  them: hours = 10^6 x mean_tokens_seen / tokens_per_s / 3600 (a model without a tokenizer: the probe's hours x
  mean_chars / sample_mean_chars), with ``share_of_tokens_embedded`` = mean_tokens_seen / mean_tokens;
- ``usd_per_1m_docs``: an API model's ``price_per_1m_tokens`` (its model_info, from models.yaml) x the tokens of 1M
  documents; a local model's hours x ``gpu_hour_usd`` (the price of an hour of the device the probe ran on) when
  given; None otherwise.
"""

from __future__ import annotations

import math
from typing import Any

from embbench.report.model import rnd


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def cost_row(
    speed: dict[str, Any],
    truncation: dict[str, Any] | None,
    model_info: dict[str, Any] | None,
    gpu_hour_usd: float | None,
) -> dict[str, Any]:
    """One model's cost figures (None where unknown)."""
    texts, tokens = _num(speed.get("texts_per_s")), _num(speed.get("tokens_per_s"))
    chars = _num(speed.get("sample_mean_chars"))
    tpc = _num((truncation or {}).get("tokens_per_1000_chars"))
    hours = None if not texts else 1e6 / texts / 3600
    per_doc = tokens / texts if tokens and texts else None
    uncut = chars * tpc / 1000 if chars and tpc else None
    if per_doc is None and uncut is not None and model_info and model_info.get("backend") in ("openai", "api"):
        per_doc = uncut  # an API counts every token it is sent
    share = min(1.0, per_doc / uncut) if per_doc and uncut else None
    price = _num((model_info or {}).get("price_per_1m_tokens"))
    on_gpu = str(speed.get("device") or "").startswith("cuda")
    usd: float | None = None
    if price is not None and per_doc is not None:
        usd = per_doc * price  # tokens of 1M docs / 10^6 x price per 10^6 tokens
    elif gpu_hour_usd is not None and hours is not None:
        usd = hours * gpu_hour_usd
    return {
        "model": speed["model"],
        "hours_per_1m_docs": rnd(hours, 3),
        "usd_per_1m_docs": rnd(usd, 3),
        "gpu_hours_per_1m_docs": rnd(hours, 3) if on_gpu else None,
        "device": speed.get("device"),
        "sample_mean_chars": chars,
        "tokens_per_doc": rnd(per_doc, 0),
        "tokens_per_doc_uncut": rnd(uncut, 0),
        "max_tokens": (truncation or {}).get("max_tokens"),
        "share_of_tokens_embedded": rnd(share, 2),
        "price_per_1m_tokens": price,
        "usd_basis": "price_per_1m_tokens" if price is not None and per_doc else "gpu_hour_usd" if usd else None,
    }


def cost_rows(
    speed: list[dict[str, Any]],
    truncation_by_model: list[dict[str, Any]],
    models: list[dict[str, Any]],
    model_infos: dict[str, dict[str, Any]],
    gpu_hour_usd: float | None = None,
) -> list[dict[str, Any]]:
    """A cost row per model with a speed file, then a row of nulls per evaluated model without one."""
    trunc = {t["model"]: t for t in truncation_by_model}
    out = [cost_row(s, trunc.get(s["model"]), model_infos.get(s["model"]), gpu_hour_usd) for s in speed]
    timed = {s["model"] for s in speed}
    for m in models:
        if m["model"] not in timed:
            out.append({"model": m["model"], "hours_per_1m_docs": None, "usd_per_1m_docs": None})
    return out


def truncation_note(row: dict[str, Any]) -> str | None:
    """What the probe's figure leaves out when the model cut the passages: one sentence, or None."""
    share, cut = row.get("share_of_tokens_embedded"), row.get("max_tokens")
    if share is None or share >= 0.98:
        return None
    return (
        f"{row['model']} read {row['tokens_per_doc']:.0f} of about {row['tokens_per_doc_uncut']:.0f} tokens per probe "
        f"passage (mean {row['sample_mean_chars']:.0f} characters; cut at its {cut}-token limit): its hours cover "
        f"{100 * share:.0f}% of the text; embedding all of it (more, shorter chunks) takes about "
        f"{1 / share:.1f}x as long"
    )


def cost_note(gpu_hour_usd: float | None) -> str:
    """How the cost table is computed (the Markdown and HTML paragraph under it)."""
    money = (
        f"USD: hours x {gpu_hour_usd:g} USD per hour of the probe's device (--gpu-hour-usd), or an API model's "
        "price_per_1m_tokens x its tokens"
        if gpu_hour_usd is not None
        else "USD: an API model's price_per_1m_tokens x its tokens (pass --gpu-hour-usd to price local hours)"
    )
    return (
        "Hours to embed 1M documents = 10^6 / the probe's texts/s / 3600, on the probe's RAG-length passages "
        "(400-1500 characters) on this machine, one process; a ranking baseline (BM25) has no probe. "
        f"{money}. Tokens per doc: what the model read (after its token limit) / the whole passage."
    )


def task_rows(records: list[Any], speed: list[dict[str, Any]], gpu_hour_usd: float | None) -> list[dict[str, Any]]:
    """Per (model, task) whose result records its texts' lengths: hours (and USD) for 1M texts of that length."""
    by_model = {s["model"]: s for s in speed}
    out = []
    for r in records:
        s, tr = by_model.get(r.model), r.truncation if isinstance(r.truncation, dict) else {}
        seen, whole, chars = _num(tr.get("mean_tokens_seen")), _num(tr.get("mean_tokens")), _num(tr.get("mean_chars"))
        if s is None or (seen is None and chars is None):
            continue
        tokens, texts, sample = (
            _num(s.get("tokens_per_s")),
            _num(s.get("texts_per_s")),
            _num(s.get("sample_mean_chars")),
        )
        if tokens and seen is not None:
            hours: float | None = 1e6 * seen / tokens / 3600
        elif texts and chars and sample:
            hours = 1e6 / texts / 3600 * chars / sample
        else:
            hours = None
        out.append(
            {
                "model": r.model,
                "task": r.task,
                "hours_per_1m_docs": rnd(hours, 3),
                "usd_per_1m_docs": rnd(hours * gpu_hour_usd, 3) if hours is not None and gpu_hour_usd else None,
                "mean_chars": rnd(chars, 0),
                "share_of_tokens_embedded": rnd(seen / whole, 2) if seen is not None and whole else None,
            }
        )
    return out
