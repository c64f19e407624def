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

from embbench.encode.embedder import Embedder
from embbench.run.runner import evaluate_task, load_data
from embbench.spec import CATEGORIES, LocalSource, ModelSpec, TaskSpec
from tests.conftest import TASKS, minilm_path
from tests.parity.mteb_reference import jsonl_lines, mteb_scores

DATA_ROOT = Path(os.environ.get("EMBBENCH_PARITY_DATA") or TASKS / "data")
TOLERANCE = 1e-4
# The default run checks the first rows of each built-in dataset (a few minutes on 2 cores); with
# EMBBENCH_PARITY_DATA set, or EMBBENCH_PARITY_ROWS=0, whole datasets are compared.
ROWS = int(os.environ.get("EMBBENCH_PARITY_ROWS", "0" if os.environ.get("EMBBENCH_PARITY_DATA") else "200"))


def _head(src: Path, dst: Path, n: int) -> list[str]:
    lines = jsonl_lines(src)[:n]
    dst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def shrink(category: str, folder: Path, out: Path, rows: int) -> Path:
    """A copy of the dataset with its first `rows` test items (2 x rows train rows; the queries' documents)."""
    out.mkdir(parents=True, exist_ok=True)
    if category == "retrieval":
        queries = [json.loads(q) for q in _head(folder / "queries.jsonl", out / "queries.jsonl", rows)]
        kept = {q["_id"] for q in queries}
        qrels = (folder / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
        lines = [qrels[0]] + [line for line in qrels[1:] if line.split("\t")[0] in kept]
        (out / "qrels").mkdir()
        (out / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        needed = {line.split("\t")[1] for line in lines[1:]}
        docs = (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
        keep = [d for i, d in enumerate(docs) if d.strip() and (json.loads(d)["_id"] in needed or i < rows)]
        (out / "corpus.jsonl").write_text("\n".join(keep) + "\n", encoding="utf-8")
        return out
    _head(folder / "test.jsonl", out / "test.jsonl", rows)
    if (folder / "train.jsonl").is_file():
        _head(folder / "train.jsonl", out / "train.jsonl", 2 * rows)
    return out


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
    scores = [json.loads(line)["score"] for line in jsonl_lines(folder / "test.jsonl")]
    return float(min(scores)), float(max(scores))


DATASETS = discover(DATA_ROOT)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    from embbench.encode.backends import load_encoder

    encoder = load_encoder(ModelSpec(name="minilm", model=minilm_path()))
    return Embedder(encoder, None, None, name="minilm")  # in-memory store: vectors shared across datasets


def test_datasets_found() -> None:
    assert {c for c, _ in DATASETS} == set(CATEGORIES), f"expected every category under {DATA_ROOT}"


@pytest.mark.parametrize(("category", "folder"), DATASETS, ids=[f"{c}/{d.name}" for c, d in DATASETS])
def test_main_score_equals_mteb(category: str, folder: Path, embedder: Embedder, tmp_path: Path) -> None:
    if ROWS:
        folder = shrink(category, folder, tmp_path / folder.name, ROWS)
    params: dict = {}
    score_range = None
    if category == "sts":
        score_range = sts_range(folder)
        params = {"min_score": score_range[0], "max_score": score_range[1]}
    task = TaskSpec(
        name=folder.name,
        category=category,
        source=LocalSource(folder),
        file=folder / "parity.yaml",
        score_range=score_range,
    )
    ours = evaluate_task(task, load_data([task])[task.name], embedder).to_json()  # the result file's keys
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


def test_reranking_equals_mteb_own_conversion_of_rows(embedder: Embedder, tmp_path: Path) -> None:
    """mteb's own reading of {query, positive, negative} rows (a document id per (query, candidate), so shared
    candidates are re-encoded) gives the same scores as embbench, which encodes each distinct candidate once."""
    [(category, folder)] = [(c, d) for c, d in DATASETS if c == "reranking"][:1]
    if ROWS:  # by default 40 rows: mteb encodes their 400 candidates one by one
        folder = shrink(category, folder, tmp_path / folder.name, min(ROWS, 40))
    task = TaskSpec(name=folder.name, category=category, source=LocalSource(folder), file=folder / "parity.yaml")
    data = load_data([task])[task.name]
    assert len(data.corpus) < sum(len(c) for c in data.candidates.values())  # candidates do repeat here
    ours = evaluate_task(task, data, embedder).to_json()
    theirs = mteb_scores("reranking_rows", folder, minilm_path())
    assert abs(ours["main_score"] - theirs["main_score"]) <= TOLERANCE, (ours["main_score"], theirs["main_score"])
    for key in ("mrr_at_10", "ndcg_at_10", "map_at_10"):
        assert abs(ours["metrics"][key] - theirs[key]) <= 1e-3, (key, ours["metrics"][key], theirs[key])
