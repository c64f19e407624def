"""Encoder backends behind small protocols, and the registry that names them (imported only when a model needs it).

To add a backend:
  1. write ``embbench/encode/backends/<name>.py`` with a class taking a ``ModelSpec`` that implements ``Encoder``
     (or ``Ranker``), plus any of the optional capabilities below it can offer;
  2. add its entry to ``BACKENDS``: ``"<key>": Backend("embbench.encode.backends.<name>:<Class>", kind)``, with
     ``pooled=False`` when its encoding must stay in the driver process (a rate-limited API);
  3. name the key in models.yaml (``backend: <key>``) and add a test with a tiny model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

from embbench.errors import UserError
from embbench.spec import ModelSpec


@runtime_checkable
class Encoder(Protocol):
    """What the embedding seam needs from a model; the optional capabilities are the protocols below."""

    similarity_fn: str

    def identity(self) -> dict[str, Any]:
        """Everything that changes a vector (model and revision, dtype, max length, pooling...): the cache key."""
        ...

    def provenance(self) -> dict[str, Any]:
        """What the result files record about the model (superset of identity)."""
        ...

    def builtin_prompts(self) -> dict[str, str]:
        """Prompts shipped with the model (used when models.yaml gives none)."""
        ...

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """float32 matrix (len(texts), dim); `prompt` is prepended by the backend."""
        ...


@runtime_checkable
class Ranker(Protocol):
    """A baseline that ranks documents for queries without vectors (BM25); used by retrieval and reranking."""

    categories: tuple[str, ...]

    def identity(self) -> dict[str, Any]: ...

    def provenance(self) -> dict[str, Any]: ...

    def rank(
        self, queries: list[str], documents: list[str], candidates: list[list[int]] | None, top_k: int
    ) -> list[dict[int, float]]:
        """Per query, {document index: score} for its top_k documents (or its candidates only)."""
        ...


# The runtime checks below look at methods only: isinstance() on a protocol with a property member calls
# hasattr, which runs the property (loading a tokenizer, or failing) in Python 3.11. The properties are
# declared for the type checker alone.


@runtime_checkable
class TokenCounter(Protocol):
    """Token counts, for the truncation figures of each result (embedder.Embedder.count) and the speed probe's
    tokens/s. Counting should not need the model's weights (a cached run never loads them)."""

    def count_tokens(self, texts: list[str], prompt: str) -> np.ndarray:
        """int token count of each prompt + text as the model tokenises it, special tokens included, WITHOUT
        truncation."""
        ...

    if TYPE_CHECKING:

        @property
        def max_tokens(self) -> int | None:
            """The length beyond which the model truncates (None: unknown or unlimited)."""
            ...


@runtime_checkable
class ParamCounter(Protocol):
    """A parameter count for an encoder that is no torch module (the speed probe counts a torch model's own)."""

    def n_params(self) -> int: ...


@runtime_checkable
class BatchOrdered(Protocol):
    """An encoder whose vectors depend (by ~1e-7) on which texts share a batch: it says how one encode() call
    batches its texts, so an executor that spreads a call over workers can keep every batch (and so every
    vector) as a local call has it."""

    def batch_order(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The batches one encode(texts) call forms: indices into texts, batch by batch, in encoding order."""
        ...


@runtime_checkable
class LoadTimed(Protocol):
    """An encoder that times its model load, for the speed file (a plain attribute: cheap for isinstance)."""

    load_seconds: float | None  # None until the weights are loaded


@dataclass(frozen=True)
class Backend:
    """A registry entry: where the class is, and what it is."""

    target: str  # "module:Class", imported only when a model uses the backend
    kind: Literal["encoder", "ranker"] = "encoder"  # rankers (BM25) get no vectors, no cache and no speed probe
    pooled: bool = True  # --executor ray spreads its encoding over workers (False: it stays on the driver)


BACKENDS: dict[str, Backend] = {
    "sentence-transformers": Backend("embbench.encode.backends.sentence_transformers:SentenceTransformerEncoder"),
    # the API is the bottleneck and its requests_per_minute limit is per process: encoded on the driver
    "openai": Backend("embbench.encode.backends.openai_api:OpenAIEmbeddingsEncoder", pooled=False),
    "bm25": Backend("embbench.encode.backends.bm25:BM25Ranker", kind="ranker", pooled=False),
    "navec": Backend("embbench.encode.backends.static:StaticEncoder"),
    "model2vec": Backend("embbench.encode.backends.static:StaticEncoder"),
    "onnx": Backend("embbench.encode.backends.onnx:OnnxEncoder"),
    "openvino": Backend("embbench.encode.backends.onnx:OpenVINOEncoder"),
}


def backend(spec: ModelSpec) -> Backend:
    """The registry entry of the model's backend; an unknown name is a one-line UserError."""
    entry = BACKENDS.get(spec.backend)
    if entry is None:
        raise UserError(
            spec.file or "models.yaml",
            f"model '{spec.name}': unknown backend '{spec.backend}'",
            field="backend",
            fix=f"use one of: {', '.join(BACKENDS)}",
        )
    return entry


def load_encoder(spec: ModelSpec) -> Encoder | Ranker:
    """Instantiate the backend named by the model entry."""
    module, cls = backend(spec).target.split(":")
    return getattr(import_module(module), cls)(spec)  # type: ignore[no-any-return]
