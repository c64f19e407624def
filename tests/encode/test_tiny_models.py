"""Tests for the tiny offline embedding-model fixtures (tests/fixtures/tiny_models.py)."""

from __future__ import annotations

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import pytest

from tests.fixtures.tiny_models import (
    ARCHS,
    HIDDEN_SIZE,
    build_tiny_plain_model,
    build_tiny_st_model,
    russian_texts,
    train_tokenizer,
)

SENTENCES = [
    "Девушка укладывает волосы.",
    "Группа мужчин играет в футбол на пляже.",
    "Кошка спит на диване.",
    "Человек режет огурец острым ножом.",
    "Завтра в Санкт-Петербурге ожидается дождь.",
]
MAX_SEQ = 64
EXPECTED_MODEL_CLASS = {
    "bert": "BertModel",
    "xlmr": "XLMRobertaModel",
    "modernbert": "ModernBertModel",
    "t5": "T5EncoderModel",
}


# tiny matmuls are slower (and noisy) with several intra-op threads on a busy CPU
pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="session")
def ru_texts() -> list[str]:
    texts = russian_texts(300)
    assert len(texts) >= 10
    return texts


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, ru_texts):
    """Factory ``tiny_model(arch, plain=False, **build_kwargs) -> Path``; each variant is built once."""
    cache: dict[str, object] = {}

    def make(arch: str, plain: bool = False, **kwargs):
        key = json.dumps([arch, plain, kwargs], sort_keys=True)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"{arch}-{'plain' if plain else 'st'}")
            if plain:
                cache[key] = build_tiny_plain_model(arch, out, ru_texts)
            else:
                cache[key] = build_tiny_st_model(arch, out, ru_texts, max_seq_length=MAX_SEQ, **kwargs)
        return cache[key]

    return make


def _load(path, **kwargs):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu", local_files_only=True, **kwargs)


def _encode(model, texts=SENTENCES, **kwargs) -> np.ndarray:
    return model.encode(list(texts), convert_to_numpy=True, batch_size=8, **kwargs)


@pytest.mark.parametrize("arch", ARCHS)
def test_st_model_loads_and_encodes(arch, tiny_model):
    path = tiny_model(arch)
    st_files = (
        "modules.json",
        "sentence_bert_config.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    )
    for name in st_files:
        assert (path / name).is_file(), name
    m1 = _load(path)
    assert type(m1[0].auto_model).__name__ == EXPECTED_MODEL_CLASS[arch]
    assert m1.get_embedding_dimension() == HIDDEN_SIZE
    assert m1.max_seq_length == MAX_SEQ
    e1 = _encode(m1)
    assert e1.shape == (5, HIDDEN_SIZE)
    assert np.isfinite(e1).all()
    assert not np.allclose(e1[0], e1[1])  # different texts, different vectors
    e2 = _encode(_load(path))
    np.testing.assert_allclose(e1, e2, rtol=0, atol=1e-6)


@pytest.mark.parametrize("arch", ARCHS)
def test_special_tokens(arch, tiny_model):
    tok = _load(tiny_model(arch)).tokenizer
    ids = tok("Кошка спит.")["input_ids"]
    assert tok.unk_token is not None and tok.pad_token is not None
    assert tok.pad_token_id not in ids
    if arch == "t5":
        assert (tok.pad_token, tok.eos_token, tok.unk_token) == ("<pad>", "</s>", "<unk>")
        assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2)
        assert ids[-1] == tok.eos_token_id and ids[0] != tok.eos_token_id  # "$A </s>", no BOS
    else:
        assert tok.cls_token is not None and tok.sep_token is not None and tok.mask_token is not None
        assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
        if arch == "xlmr":
            assert (tok.cls_token, tok.pad_token_id, tok.sep_token) == ("<s>", 1, "</s>")
    assert tok.unk_token_id not in ids  # all characters were seen in training


@pytest.mark.parametrize("arch", ARCHS)
def test_cls_and_mean_pooling_differ(arch, tiny_model):
    mean = _encode(_load(tiny_model(arch, pooling="mean")))
    cls = _encode(_load(tiny_model(arch, pooling="cls")))
    assert cls.shape == mean.shape == (5, HIDDEN_SIZE)
    assert np.isfinite(cls).all()
    for a, b in zip(mean, cls, strict=True):
        assert not np.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("arch", ARCHS)
def test_normalize(arch, tiny_model):
    path = tiny_model(arch, normalize=True)
    modules = json.loads((path / "modules.json").read_text())
    assert modules[-1]["type"].endswith("Normalize")
    emb = _encode(_load(path))
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    raw = _encode(_load(tiny_model(arch)))
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-3)


@pytest.mark.parametrize("arch", ARCHS)
def test_truncate_dim(arch, tiny_model):
    path = tiny_model(arch)
    full = _encode(_load(path))
    short = _encode(_load(path, truncate_dim=16))
    assert short.shape == (5, 16)
    np.testing.assert_allclose(short, full[:, :16], atol=1e-6)


@pytest.mark.parametrize("arch", ARCHS)
def test_long_texts_truncated(arch, tiny_model, ru_texts):
    model = _load(tiny_model(arch))
    long_text = " ".join(ru_texts[:60])
    n_tokens = len(model.tokenizer(long_text, add_special_tokens=True)["input_ids"])
    assert n_tokens > MAX_SEQ
    features = model.tokenize([long_text, SENTENCES[0]])
    assert features["input_ids"].shape == (2, MAX_SEQ)
    assert int(features["attention_mask"][0].sum()) == MAX_SEQ
    last = model.tokenizer.eos_token_id if arch == "t5" else model.tokenizer.sep_token_id
    assert int(features["input_ids"][0, -1]) == last  # specials survive truncation
    emb = _encode(model, [long_text])
    assert emb.shape == (1, HIDDEN_SIZE) and np.isfinite(emb).all()


@pytest.mark.parametrize("arch", ["bert", "t5"])
def test_prompts_saved_and_used(arch, tiny_model):
    prompts = {"query": "search_query: ", "document": "search_document: "}
    model = _load(tiny_model(arch, prompts=prompts))
    assert model.prompts.get("query") == prompts["query"]
    assert model.prompts.get("document") == prompts["document"]
    plain = _encode(model, SENTENCES[:2])
    with_prompt = _encode(model, SENTENCES[:2], prompt_name="query")
    explicit = _encode(model, [prompts["query"] + s for s in SENTENCES[:2]])
    assert not np.allclose(plain, with_prompt, atol=1e-4)
    np.testing.assert_allclose(with_prompt, explicit, atol=1e-6)


@pytest.mark.parametrize("arch", ARCHS)
def test_plain_model(arch, tiny_model):
    import torch
    import transformers
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    path = tiny_model(arch, plain=True)
    for name in ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"):
        assert not (path / name).exists(), name
    assert not (path / "1_Pooling").exists()
    config = AutoConfig.from_pretrained(str(path), local_files_only=True)
    assert config.architectures == [EXPECTED_MODEL_CLASS[arch]]
    if arch == "t5":
        # AutoModel maps T5Config to the full encoder-decoder T5Model (decoder weights missing);
        # the checkpoint is encoder-only like ai-forever/FRIDA.
        model, info = transformers.T5EncoderModel.from_pretrained(
            str(path), local_files_only=True, output_loading_info=True
        )
    else:
        model, info = AutoModel.from_pretrained(str(path), local_files_only=True, output_loading_info=True)
    assert type(model).__name__ == EXPECTED_MODEL_CLASS[arch]
    assert not info["missing_keys"] and not info["unexpected_keys"]
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    assert len(tok) == config.vocab_size
    batch = tok(SENTENCES, padding=True, return_tensors="pt")
    batch.pop("token_type_ids", None)
    with torch.no_grad():
        out = model(**batch).last_hidden_state
    assert out.shape[0] == 5 and out.shape[-1] == HIDDEN_SIZE
    assert torch.isfinite(out).all()
    # sentence-transformers wraps a plain checkpoint with default mean pooling
    emb = _encode(_load(path))
    assert emb.shape == (5, HIDDEN_SIZE)


@pytest.mark.parametrize("arch", ARCHS)
def test_builds_are_reproducible(arch, tmp_path, ru_texts):
    texts = ru_texts[:120]
    a = build_tiny_plain_model(arch, tmp_path / "a", texts)
    b = build_tiny_plain_model(arch, tmp_path / "b", texts)
    for name in ("tokenizer.json", "model.safetensors", "config.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_train_tokenizer_kinds(tmp_path, ru_texts):
    kinds = [("wordpiece", "BertTokenizer"), ("unigram", "XLMRobertaTokenizer"), ("t5", "T5Tokenizer")]
    for kind, cls_name in kinds:
        tok = train_tokenizer(ru_texts, kind, tmp_path / kind, vocab_size=300)
        assert type(tok).__name__ == cls_name
        assert len(tok) <= 300
    tok = train_tokenizer(ru_texts, "bpe", tmp_path / "bpe", vocab_size=400)
    assert len(tok) == 400
    assert tok.decode(tok("Девушка укладывает волосы.", add_special_tokens=False)["input_ids"]) == (
        "Девушка укладывает волосы."
    )
    with pytest.raises(ValueError):
        train_tokenizer(ru_texts, "gpt2", tmp_path / "bad")
