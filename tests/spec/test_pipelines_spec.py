"""models.yaml `pipelines:`: good entries become ordered PipelineSpecs; each bad one is one UserError line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from embbench.errors import UserError
from embbench.spec import PipelineSpec, RerankerSpec, load_models, load_pipelines

REPO = Path(__file__).resolve().parents[2]
MODELS = [{"name": "bm25", "backend": "bm25"}, {"name": "dense", "model": "org/model"}]
HYBRID = {"name": "hyb", "hybrid": ["bm25", "dense"]}
RERANK = {"name": "rr", "first_stage": "dense", "reranker": "org/reranker"}


def write(root: Path, pipelines: Any) -> Path:
    path = root / "models.yaml"
    path.write_text(json.dumps({"models": MODELS, "pipelines": pipelines}), encoding="utf-8")
    return path


def test_good_pipelines_are_parsed_stages_first(tmp_path: Path) -> None:
    over = {"name": "hyb-rr", "first_stage": "hyb", "reranker": {"model": "org/reranker", "batch_size": 8}, "top_k": 20}
    score = {"name": "sc", "hybrid": ["bm25", "dense"], "fusion": "score", "weights": [0.3, 0.7]}
    specs = load_pipelines(write(tmp_path, [over, HYBRID, score, RERANK]))
    assert [s.name for s in specs] == ["hyb", "hyb-rr", "sc", "rr"]  # hyb-rr reads hyb: hyb comes first
    by_name = {s.name: s for s in specs}
    assert by_name["hyb"] == PipelineSpec(name="hyb", hybrid=("bm25", "dense"), fusion="rrf", k=60)
    assert by_name["sc"].weights == (0.3, 0.7)
    rr = by_name["hyb-rr"]
    assert (rr.first_stage, rr.top_k, rr.stages) == ("hyb", 20, ("hyb",))
    assert rr.reranker == RerankerSpec(model="org/reranker", batch_size=8, file=tmp_path.resolve() / "models.yaml")
    assert rr.reranker.trust_remote_code is False
    assert [m.name for m in load_models(tmp_path / "models.yaml")] == ["bm25", "dense"]


def test_models_yaml_without_pipelines_has_none(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(json.dumps({"models": MODELS}), encoding="utf-8")
    assert load_pipelines(path) == []


def test_shipped_models_yaml_has_the_bm25_minilm_hybrid() -> None:
    specs = {s.name: s for s in load_pipelines(REPO / "models.yaml")}
    assert specs["bm25+MiniLM"].hybrid == ("bm25", "all-MiniLM-L6-v2")
    assert specs["bm25+MiniLM"].fusion == "rrf"


# (what is wrong, the pipelines list, the field the error names, a word of its message)
BAD = [
    ("missing stage", [{**HYBRID, "hybrid": ["bm25", "nope"]}], "hybrid", "stage 'nope' is not a model"),
    ("missing first stage", [{**RERANK, "first_stage": "nope"}], "first_stage", "stage 'nope'"),
    ("names itself", [{**RERANK, "first_stage": "rr"}], "first_stage", "names itself"),
    (
        "a cycle",
        [{**RERANK, "name": "a", "first_stage": "b"}, {**RERANK, "name": "b", "first_stage": "a"}],
        "first_stage",
        "cycle (a -> b -> a)",
    ),
    ("hybrid and rerank", [{**HYBRID, "reranker": "org/r"}], "hybrid", "not both"),
    ("one hybrid member", [{**HYBRID, "hybrid": ["bm25"]}], "hybrid", "two or more"),
    ("unknown fusion", [{**HYBRID, "fusion": "max"}], "fusion", "unknown fusion"),
    ("weights with rrf", [{**HYBRID, "weights": [1, 2]}], "weights", "score fusion"),
    ("too few weights", [{**HYBRID, "fusion": "score", "weights": [1]}], "weights", "expected 2 numbers"),
    ("k with score fusion", [{**HYBRID, "fusion": "score", "k": 10}], "k", "rrf's constant"),
    ("k zero", [{**HYBRID, "k": 0}], "k", "positive integer"),
    ("no reranker", [{"name": "rr", "first_stage": "dense"}], "reranker", "missing"),
    ("top_k zero", [{**RERANK, "top_k": 0}], "top_k", "positive integer"),
    ("reranker option typo", [{**RERANK, "reranker": {"model": "o/r", "batchsize": 2}}], "batchsize", "unknown key"),
    ("reranker dtype", [{**RERANK, "reranker": {"model": "o/r", "dtype": "int3"}}], "reranker.dtype", "unknown dtype"),
    ("reranker folder", [{**RERANK, "reranker": "./no/such"}], "reranker.model", "does not exist"),
    ("pipeline key typo", [{**HYBRID, "fusoin": "rrf"}], "fusoin", "unknown key"),
    ("a model's name", [{**HYBRID, "name": "dense"}], "name", "already used"),
    ("two alike", [HYBRID, HYBRID], "name", "already used"),
    ("not a list", {"hyb": HYBRID}, "pipelines", "a list"),
    ("unsafe name", [{**HYBRID, "name": "../x"}], "name", "not a safe name"),
]


@pytest.mark.parametrize(("what", "pipelines", "field", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_pipeline_is_one_line_naming_the_field(
    tmp_path: Path, what: str, pipelines: Any, field: str, message: str
) -> None:
    path = write(tmp_path, pipelines)
    for load in (load_models, load_pipelines):  # load_models checks the pipelines too: the run stops at load time
        with pytest.raises(UserError) as err:
            load(path)
        text = str(err.value)
        assert "\n" not in text and str(path) in text
        assert err.value.field == field, text
        assert message in text, text
