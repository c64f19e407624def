"""Encoders from models.yaml: architectures users name (tiny random models), options, presets, OOM back-off."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embbench.encode.backends import load_encoder
from embbench.encode.embedder import Embedder
from embbench.errors import UserError
from embbench.run.runner import evaluate_task, load_data
from embbench.spec import LocalSource, ModelSpec, TaskSpec
from embbench.spec.presets import PRESETS, apply_preset
from embbench.spec.prompts import resolve_prompt
from tests.conftest import TASKS, minilm_path
from tests.fixtures.tiny_models import ARCHS, build_tiny_plain_model, build_tiny_st_model, russian_texts


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return russian_texts(200)


@pytest.fixture(scope="module")
def sts_task(tmp_path_factory: pytest.TempPathFactory) -> TaskSpec:
    """The first 40 pairs of the built-in STS data as a task."""
    folder = tmp_path_factory.mktemp("sts")
    lines = (TASKS / "data/sts/stsb_multi_mt_ru/test.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    (folder / "test.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return TaskSpec(
        name="sts40", category="sts", source=LocalSource(folder), file=folder / "t.yaml", score_range=(0.0, 5.0)
    )


@pytest.mark.parametrize("arch", ARCHS)
def test_each_architecture_runs_a_task(arch: str, texts: list[str], sts_task: TaskSpec, tmp_path: Path) -> None:
    folder = build_tiny_st_model(arch, tmp_path / arch, texts, pooling="cls" if arch == "t5" else "mean")
    encoder = load_encoder(ModelSpec(name=arch, model=str(folder)))
    vecs = encoder.encode(["Привет, мир", "Москва — столица России"], "")
    assert vecs.shape == (2, 32) and vecs.dtype == np.float32 and np.isfinite(vecs).all()
    record = evaluate_task(sts_task, load_data([sts_task])["sts40"], Embedder(encoder, None, None, name=arch))
    assert record.main_metric == "cosine_spearman"
    assert record.main_score is not None and -1.0 <= record.main_score <= 1.0
    assert record.model_info["model"].startswith("local:")


def test_pooling_option_for_plain_checkpoints(texts: list[str], tmp_path: Path) -> None:
    folder = build_tiny_plain_model("bert", tmp_path / "plain", texts)
    assert not (folder / "modules.json").exists()
    sample = ["Кошка спит на диване.", "Идёт дождь."]
    cls = load_encoder(ModelSpec(name="c", model=str(folder), pooling="cls")).encode(sample, "")
    mean = load_encoder(ModelSpec(name="m", model=str(folder), pooling="mean")).encode(sample, "")
    assert cls.shape == mean.shape == (2, 32)
    assert not np.allclose(cls, mean)
    with pytest.raises(UserError, match="pooling"):
        st_folder = build_tiny_st_model("bert", tmp_path / "st", texts)
        load_encoder(ModelSpec(name="x", model=str(st_folder), pooling="cls"))


def test_truncate_dim_normalize_and_max_seq_length(texts: list[str], tmp_path: Path) -> None:
    folder = build_tiny_st_model("modernbert", tmp_path / "mb", texts)
    enc = load_encoder(ModelSpec(name="mb", model=str(folder), truncate_dim=16, normalize=True, max_seq_length=8))
    vecs = enc.encode(["Очень длинный текст " * 50, "короткий"], "")
    assert vecs.shape == (2, 16)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert enc.model.max_seq_length == 8
    ident = enc.identity()
    assert ident["truncate_dim"] == 16 and ident["max_seq_length"] == 8 and ident["normalize"] is True


def test_remote_code_needs_trust_remote_code(texts: list[str], tmp_path: Path) -> None:
    folder = build_tiny_st_model("bert", tmp_path / "rc", texts)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_custom.CustomModel"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError) as err:
        load_encoder(ModelSpec(name="custom", model=str(folder)))
    assert err.value.field == "trust_remote_code" and "custom" in str(err.value)
    assert "\n" not in str(err.value)


def test_dtype_is_part_of_the_identity(tmp_path: Path) -> None:
    a = load_encoder(ModelSpec(name="a", model=minilm_path()))
    b = load_encoder(ModelSpec(name="b", model=minilm_path(), dtype="bfloat16"))
    assert a.identity()["dtype"] == "float32" and b.identity()["dtype"] == "bfloat16"
    assert a.identity()["model"] == b.identity()["model"]  # same weights, other configuration
    vecs = b.encode(["Проверка"], "")
    assert vecs.dtype == np.float32 and vecs.shape == (1, 384)


class FakeOOM(RuntimeError):
    pass


def test_out_of_memory_halves_the_batch_size() -> None:
    enc = load_encoder(ModelSpec(name="m", model=minilm_path(), batch_size=64))
    seen: list[int] = []

    class Model:
        def encode(self, texts, batch_size, **kw):
            seen.append(batch_size)
            if batch_size > 16:
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return np.ones((len(texts), 4), dtype=np.float32)

    enc._model = Model()
    with pytest.warns(UserWarning, match="out of memory"):
        out = enc.encode(["a", "b", "c"], "")
    assert out.shape == (3, 4) and seen == [64, 32, 16]
    assert enc.batch_size == 16  # recorded as provenance["batch_size"]
    enc.encode(["d"], "")
    assert seen[-1] == 16  # the smaller batch size is kept
    enc._model = type("Broken", (), {"encode": lambda self, *a, **k: (_ for _ in ()).throw(ValueError("bad"))})()
    with pytest.raises(ValueError):
        enc.encode(["x"], "")  # other errors are not retried


# (preset, task name, category, role) -> the prompt mteb would use
PROMPT_TABLE = [
    ("frida", "TERRa", "pair_classification", None, "categorize_entailment: "),
    ("frida", "terra", "pair_classification", None, "paraphrase: "),
    ("frida", "CEDRClassification", "multilabel_classification", None, "categorize_sentiment: "),
    ("frida", "any", "multilabel_classification", None, "categorize: "),
    ("frida", "any", "clustering", None, "categorize_topic: "),
    ("frida", "any", "retrieval", "query", "search_query: "),
    ("frida", "any", "retrieval", "document", "search_document: "),
    ("frida", "any", "reranking", "query", "search_query: "),
    ("frida", "RiaNewsRetrieval", "retrieval", "query", "categorize: "),
    ("frida", "RiaNewsRetrievalHardNegatives.v2", "retrieval", "document", ""),
    ("multilingual-e5-small", "any", "classification", None, None),
    ("multilingual-e5-small", "any", "retrieval", "query", "query: "),
    ("multilingual-e5-small", "any", "reranking", "document", "passage: "),
    ("user-base", "any", "retrieval", "document", "passage: "),
    ("user2-base", "any", "clustering", None, "clustering: "),
    ("user2-base", "HeadlineClassification", "classification", None, "search_query: "),
    ("user2-base", "any", "sts", None, "classification: "),
    ("multilingual-e5-large-instruct", "any", "sts", None, "Instruct: Retrieve semantically similar text.\nQuery: "),
    ("multilingual-e5-large-instruct", "any", "retrieval", "document", ""),
    ("multilingual-e5-large-instruct", "any", "classification", None, "Instruct: Classify user passages.\nQuery: "),
    ("user-bge-m3", "any", "retrieval", "query", None),
    ("rubert-tiny2", "any", "sts", None, None),
]


@pytest.mark.parametrize(("preset", "task", "category", "role", "expected"), PROMPT_TABLE)
def test_preset_prompts_resolve_like_mteb(preset, task, category, role, expected) -> None:
    entry = apply_preset({"preset": preset}, Path("models.yaml"))
    assert resolve_prompt(entry.get("prompts"), task, category, role) == expected


def test_hub_id_alone_selects_its_preset() -> None:
    entry = apply_preset({"name": "f", "model": "ai-forever/FRIDA"}, Path("models.yaml"))
    assert entry["preset"] == "frida" and entry["prompts"]["TERRa"] == "categorize_entailment: "
    own = apply_preset({"model": "ai-forever/FRIDA", "prompts": {"query": "q: "}}, Path("m.yaml"))
    assert own["prompts"] == {"query": "q: "}  # the entry's own prompts win
    assert {p["model"] for p in PRESETS.values()} >= {
        "ai-forever/FRIDA",
        "deepvk/USER2-base",
        "intfloat/multilingual-e5-small",
        "deepvk/USER-bge-m3",
        "cointegrated/rubert-tiny2",
        "intfloat/multilingual-e5-large-instruct",
        "BAAI/bge-m3",
        "cointegrated/LaBSE-en-ru",
        "ai-forever/sbert_large_nlu_ru",
        "deepvk/USER-base",
    }


def test_a_sentence_transformers_encoder_says_its_device_without_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    # the runner searches there (run/runner.py search_for); a run served from the cache never loads the weights
    from sentence_transformers import util

    named = load_encoder(ModelSpec(name="a", model=minilm_path(), device="cuda:1"))
    assert named.device == "cuda:1" and named._model is None  # type: ignore[union-attr]
    monkeypatch.setattr(util, "get_device_name", lambda: "cuda:0")  # sentence-transformers' own default choice
    unset = load_encoder(ModelSpec(name="b", model=minilm_path()))
    assert unset.device == "cuda:0" and unset._model is None  # type: ignore[union-attr]
    monkeypatch.undo()
    cpu = load_encoder(ModelSpec(name="c", model=minilm_path(), device="cpu"))
    cpu.encode(["кот"], "")  # type: ignore[union-attr]
    assert cpu.device == "cpu" and cpu._model is not None  # type: ignore[union-attr]
