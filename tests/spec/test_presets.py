"""Presets vs mteb's model registry: pinned revisions and the prompt mteb's wrapper uses per ruMTEB task and role."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from embbench.spec.presets import apply_preset, preset_table
from embbench.spec.prompts import resolve_prompt

mteb = pytest.importorskip("mteb")
ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("generate_presets", ROOT / "scripts" / "generate_presets.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_presets"] = module
    spec.loader.exec_module(module)
    return module


GEN = _generator()
MTEB_PRESETS = {k: v for k, v in preset_table().items() if not v["model"].startswith("pkg://")}


def test_leaders_and_small_models_are_presets() -> None:
    ids = {p["model"] for p in preset_table().values()}
    assert {
        "ai-sage/Giga-Embeddings-instruct",
        "Qwen/Qwen3-Embedding-0.6B",
        "Qwen/Qwen3-Embedding-4B",
        "Qwen/Qwen3-Embedding-8B",
        "sergeyzh/BERTA",
        "ai-forever/FRIDA",
        "deepvk/USER2-base",
        "intfloat/multilingual-e5-small",
    } <= ids


@pytest.mark.parametrize("preset", sorted(MTEB_PRESETS))
def test_revision_license_max_tokens_are_mteb_s(preset: str) -> None:
    p = MTEB_PRESETS[preset]
    meta = mteb.get_model_meta(p["model"])
    entry = apply_preset({"preset": preset}, Path("models.yaml"))
    assert entry["revision"] == meta.revision and len(entry["revision"]) == 40
    assert p["license"] == meta.license
    assert p["max_tokens"] == int(meta.max_tokens)


@pytest.mark.parametrize("preset", sorted(MTEB_PRESETS))
def test_prompts_resolve_to_mteb_s_for_every_rumteb_task_and_role(preset: str) -> None:
    """embbench's resolution (spec/prompts.py) of the preset's table == the string mteb's wrapper builds."""
    model = MTEB_PRESETS[preset]["model"]
    entry = apply_preset({"preset": preset}, Path("models.yaml"))
    checked = 0
    for task, category in GEN.rumteb_tasks().items():
        for role in GEN.ROLES.get(category, (None,)):
            expected = GEN.mteb_prompt(model, task, role)
            if expected is None:  # mteb leaves it to the model's own prompts: so does embbench (prompts unset)
                assert entry.get("prompts") is None
                continue
            assert (resolve_prompt(entry.get("prompts"), task, category, role) or "") == expected, (task, role)
            checked += 1
    assert checked == 0 or checked >= 25


def test_a_known_hub_id_gets_its_preset_and_revision() -> None:
    entry = apply_preset({"name": "q", "model": "Qwen/Qwen3-Embedding-0.6B"}, Path("models.yaml"))
    assert entry["preset"] == "qwen3-embedding-0.6b"
    assert entry["revision"] == mteb.get_model_meta("Qwen/Qwen3-Embedding-0.6B").revision
    assert entry["prompts"]["TERRa"].startswith("Instruct: ")
    own = apply_preset({"preset": "frida", "model": "./my-frida"}, Path("models.yaml"))
    assert "revision" not in own  # a pinned revision belongs to the preset's own hub id


def test_the_preset_file_is_what_mteb_gives_now() -> None:
    assert GEN.main(["--check"]) == 0
