"""Export a sentence-transformers model's whole module stack to ONNX once, cached by the model's identity.

The graph is the model's own modules (Transformer, Pooling, Dense, Normalize, ...) traced by torch.onnx (the
TorchScript exporter: no optimum, no onnxscript), inputs = the tokenizer's tensors with dynamic batch and sequence
axes, output = `sentence_embedding` exactly as SentenceTransformer.forward returns it. Tokenization, length sorting,
truncate_dim and normalize_embeddings stay outside the graph, as sentence-transformers does them outside its modules.

Layout: <cache root>/exports/<export key>/model.onnx (+ model.fused.onnx for BERT-family models, onnx_fuse;
model.int8.onnx, made on demand) and meta.json (input
names, dimension, parameter count, the parity figures against PyTorch). A folder is built under a temporary name and
renamed, under a file lock, so concurrent runs (the Ray executor) export once and never see half a folder.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embbench._io import atomic_write_json
from embbench.encode.backends.onnx_fuse import FUSED, eager_attention, fuse, ort_runner
from embbench.encode.cache import EXPORTS as EXPORTS_DIR
from embbench.encode.cache import default_root
from embbench.errors import ModelLoadError, UserError

EXPORT_FORMAT = 2  # bump when the exported graph changes for the same model (a new folder, never a stale graph)
OPSET = 17
# an exported graph must reproduce PyTorch's vectors this closely (fp32 rounding only), else it is refused
MIN_COSINE = 0.99999
MAX_REL_DIFF = 1e-4
_GAGARIN = (
    "В 1961 году Юрий Гагарин совершил первый в мире полёт человека в космическое пространство, "
    "облетев Землю на корабле «Восток-1» за 108 минут. "
)
# mixed lengths, so the check covers padding and both dynamic axes; the last one (~400 tokens, truncated to the
# model's max length) reaches past attention windows that a short trace would never exercise (ModernBERT: 128)
PROBE_TEXTS = [
    "Кот.",
    "Москва — столица России, крупнейший по численности населения город страны.",
    _GAGARIN,
    _GAGARIN * 10,
]
EXPORTS = {"count": 0}  # exports made by this process (tests check that a second load reuses the first)


@dataclass(frozen=True)
class Export:
    """An exported model: its folder and what meta.json says about it."""

    folder: Path
    meta: dict[str, Any]

    @property
    def fp32(self) -> Path:
        return self.folder / "model.onnx"

    @property
    def int8(self) -> Path:
        return self.folder / "model.int8.onnx"

    @property
    def fused(self) -> Path | None:
        """The onnxruntime-fused fp32 graph (onnx_fuse), when the export made one that passed the parity check."""
        return self.folder / FUSED if self.meta.get("fused") else None


def exports_root() -> Path:
    """Where exports live: beside the embedding cache (EMBBENCH_CACHE or the user cache folder)."""
    return default_root() / EXPORTS_DIR


def export_key(model_identity: dict[str, Any]) -> str:
    """Folder name of a model's export: its identity (content hash or hub commit, pooling, load options)."""
    from embbench.encode.embedder import identity_key

    return identity_key({"export_format": EXPORT_FORMAT, "opset": OPSET, **model_identity})[:32]


# runs an exported graph in fp32: (path of model.onnx, input names) -> (feeds -> sentence embeddings)
Runner = Callable[[Path, list[str]], Callable[[dict[str, np.ndarray]], np.ndarray]]


def ensure_export(key: str, load_model: Callable[[], Any], runner: Runner, where: str) -> Export:
    """The export of key, made from load_model() (a SentenceTransformer) the first time only.

    `runner` is the backend's own runtime (onnxruntime or OpenVINO, in fp32): the parity check runs what will run.
    """
    from filelock import FileLock

    root = exports_root()
    folder = root / key
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f"{key}.lock")):
        if not (folder / "meta.json").is_file():
            tmp = root / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
            tmp.mkdir()
            try:
                _export(load_model(), tmp, runner, where)
                if folder.exists():  # a folder without meta.json: a copy someone half-deleted
                    shutil.rmtree(folder)
                os.replace(tmp, folder)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            EXPORTS["count"] += 1
    return Export(folder, json.loads((folder / "meta.json").read_text()))


def ensure_int8(export: Export) -> Path:
    """The dynamically quantized copy of an export (onnxruntime.quantization: int8 weights, activations quantized
    per batch at run time), made once."""
    from filelock import FileLock

    with FileLock(str(export.folder.parent / f"{export.folder.name}.lock")):
        if not export.int8.is_file():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = export.folder / f".tmp-{uuid.uuid4().hex[:8]}.onnx"
            try:
                # per-channel int8 weights of the MatMuls (the linear layers) only: per-tensor scales cost MiniLM
                # cosine 0.87 against fp32 on Russian texts, per-channel 0.985; embeddings stay fp32
                previous = logging.root.manager.disable
                logging.disable(logging.WARNING)  # its "consider pre-processing" advice is noise in the run's lines
                try:
                    quantize_dynamic(
                        str(export.fp32),
                        str(tmp),
                        weight_type=QuantType.QInt8,
                        per_channel=True,
                        op_types_to_quantize=["MatMul"],
                    )
                finally:
                    logging.disable(previous)
                os.replace(tmp, export.int8)
            finally:
                tmp.unlink(missing_ok=True)
    return export.int8


def _graph(model: Any, names: list[str]) -> Any:
    """The module traced: tokenizer tensors in (in `names` order), the model's sentence_embedding out."""
    import torch

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            features = dict(zip(names, tensors, strict=True))
            features["modality"] = "text"
            return self.model(features)["sentence_embedding"]

    return Graph().eval()


def check_exportable(model: Any, where: str) -> None:
    """Refuse stacks the graph cannot reproduce: no text Transformer first, or pooling that drops the prompt."""
    first = model[0] if len(model) else None
    if type(first).__name__ != "Transformer" or getattr(first, "tokenizer", None) is None:
        raise UserError(
            where,
            f"the ONNX export needs a model that starts with a text Transformer, not {type(first).__name__}",
            field="backend",
            fix="use backend 'sentence-transformers' for this model",
        )
    if any(getattr(m, "include_prompt", True) is False for m in model):
        raise UserError(
            where,
            "this model's pooling leaves out the prompt tokens, which the ONNX graph cannot see",
            field="backend",
            fix="use backend 'sentence-transformers' for this model",
        )


def _export(model: Any, folder: Path, runner: Runner, where: str) -> None:
    """Trace the model into folder/model.onnx, check it against PyTorch and write meta.json."""
    import torch

    check_exportable(model, where)
    model.eval()
    sample = model.preprocess(PROBE_TEXTS[:2])
    names = [k for k, v in sample.items() if isinstance(v, torch.Tensor) and v.ndim == 2]
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    with torch.no_grad(), warnings.catch_warnings(), eager_attention(model):
        warnings.simplefilter("ignore")  # the tracer's warnings are about Python branches it records as constants
        torch.onnx.export(
            _graph(model, names),
            tuple(sample[n] for n in names),
            str(folder / "model.onnx"),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
    meta: dict[str, Any] = {
        "export_format": EXPORT_FORMAT,
        "opset": OPSET,
        "inputs": names,
        "dim": int(model(sample)["sentence_embedding"].shape[-1]),
        "n_params": int(sum(p.numel() for p in model.parameters())),
        "torch": torch.__version__,
    }
    meta["parity"] = parity(model, runner(folder / "model.onnx", names))
    if meta["parity"]["min_cosine"] < MIN_COSINE or meta["parity"]["max_rel_diff"] > MAX_REL_DIFF:
        raise ModelLoadError(f"the ONNX export of {where} does not reproduce PyTorch's vectors: {meta['parity']}")
    meta["fused"] = None
    fused = fuse(model, folder)
    if fused is not None:
        check = parity(model, ort_runner(folder / FUSED))
        if check["min_cosine"] >= MIN_COSINE and check["max_rel_diff"] <= MAX_REL_DIFF:
            meta["fused"] = {"operators": fused, "parity": check}
        else:  # a fusion that changes the vectors is dropped: the plain graph serves
            (folder / FUSED).unlink()
    atomic_write_json(folder / "meta.json", meta)


def parity(model: Any, run: Callable[[dict[str, np.ndarray]], np.ndarray]) -> dict[str, float]:
    """compare() of the exported graph's vectors (run) with PyTorch's on PROBE_TEXTS, batched together."""
    import torch

    features = model.preprocess(PROBE_TEXTS)
    feeds = {k: v.numpy().astype(np.int64) for k, v in features.items() if isinstance(v, torch.Tensor) and v.ndim == 2}
    with torch.no_grad():  # (the modules add their outputs to `features`)
        ref = model(features)["sentence_embedding"].numpy()
    return compare(run(feeds), ref)


def compare(got: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Min row cosine and max absolute difference (also relative to the largest value) of two vector matrices."""
    got, ref = np.asarray(got, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    norms = np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1)
    cosine = (got * ref).sum(axis=1) / np.maximum(norms, 1e-30)
    diff = float(np.abs(got - ref).max())
    return {
        "min_cosine": float(cosine.min()),
        "max_abs_diff": diff,
        "max_rel_diff": diff / max(float(np.abs(ref).max()), 1e-30),
    }
