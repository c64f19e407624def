"""Parity with mteb: the same data and the same real model give the same main score (|diff| <= 1e-4).

Datasets are discovered in a folder with the layout of shared/data (<category>/<name>/...): by default the
built-in suite's data (tasks/data); set EMBBENCH_PARITY_DATA to check any other folder of that layout (e.g. the
full ../shared/data, or data the tests have never seen).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

pytest.importorskip("mteb")

from embbench.config import CATEGORIES, ModelSpec, TaskSpec
from embbench.embed import Embedder
from embbench.runner import evaluate_task, load_data
from tests.conftest import TASKS, minilm_path
from tests.parity.mteb_reference import mteb_scores

DATA_ROOT = Path(os.environ.get("EMBBENCH_PARITY_DATA") or TASKS / "data")
TOLERANCE = 1e-4


def discover(root: Path) -> list[tuple[str, Path]]:
    """(category, folder) for every dataset folder under root."""
    found = []
    for category in CATEGORIES:
        base = root / category
        if base.is_dir():
            found.extend((category, d) for d in sorted(base.iterdir()) if d.is_dir())
    return found


def sts_range(folder: Path) -> tuple[float, float]:
    """The observed score range (Spearman is invariant to the linear rescaling mteb applies)."""
    scores = [json.loads(line)["score"] for line in (folder / "test.jsonl").open(encoding="utf-8") if line.strip()]
    return float(min(scores)), float(max(scores))


DATASETS = discover(DATA_ROOT)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    from embbench.backends import load_encoder

    encoder = load_encoder(ModelSpec(name="minilm", model=minilm_path()))
    return Embedder(encoder, None, None, name="minilm")  # in-memory store: vectors shared across datasets


def test_datasets_found() -> None:
    assert {c for c, _ in DATASETS} == set(CATEGORIES), f"expected every category under {DATA_ROOT}"


@pytest.mark.parametrize(("category", "folder"), DATASETS, ids=[f"{c}/{d.name}" for c, d in DATASETS])
def test_main_score_equals_mteb(category: str, folder: Path, embedder: Embedder) -> None:
    params: dict = {}
    score_range = None
    if category == "sts":
        score_range = sts_range(folder)
        params = {"min_score": score_range[0], "max_score": score_range[1]}
    task = TaskSpec(
        name=folder.name, category=category, data=folder, file=folder / "parity.yaml", score_range=score_range
    )
    ours = evaluate_task(task, load_data([task])[task.name], embedder)
    theirs = mteb_scores(category, folder, minilm_path(), params)
    assert ours["main_metric"] in theirs, f"mteb reports no {ours['main_metric']}"
    assert abs(ours["main_score"] - theirs["main_score"]) <= TOLERANCE, (
        f"{category}/{folder.name}: embbench {ours['main_score']:.6f} vs mteb {theirs['main_score']:.6f}"
    )
    assert theirs["main_score"] == pytest.approx(theirs[ours["main_metric"]])
    # the secondary metrics mteb reports agree too (where embbench reports them)
    shared = [
        k for k in ours["metrics"] if isinstance(theirs.get(k), (int, float)) and not math.isnan(theirs[k])
    ]  # mteb reports some metrics as NaN (e.g. precision_at_1000 on a corpus under 1000 documents)
    assert len(shared) >= 2
    for key in shared:
        assert abs(ours["metrics"][key] - theirs[key]) <= 1e-3, f"{key}: {ours['metrics'][key]} vs {theirs[key]}"
