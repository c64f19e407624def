"""Encoder backends behind one small protocol; each is imported only when a model needs it."""

from __future__ import annotations

from importlib import import_module
from typing import Any, Protocol, runtime_checkable

import numpy as np

from embbench.errors import UserError
from embbench.spec import ModelSpec


@runtime_checkable
class Encoder(Protocol):
    """What the embedding seam needs from a model.

    Optional, looked up with getattr (an encoder without them still works):

    - ``count_tokens(texts: list[str], prompt: str) -> np.ndarray``: int token count of each prompt + text as the
      model tokenises it, special tokens included, WITHOUT truncation; and ``max_tokens`` (attribute or property,
      int or None): the length beyond which the model truncates. With both, each result records
      ``truncation: {max_tokens, share_truncated, tokens_per_1000_chars, texts}`` (embed.Embedder.count) and the
      speed probe reports tokens/s. Counting should not need the model's weights (a cached run never loads them).
    - ``load_seconds`` (float or None): model load time, for the speed file (embbench.speed.probe).
    - ``n_params`` (int or a method returning one): parameter count, when the encoder is no torch module.
    """

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


BACKENDS = {
    "sentence-transformers": "embbench.encode.backends.sentence_transformers:SentenceTransformerEncoder",
    "openai": "embbench.encode.backends.openai_api:OpenAIEmbeddingsEncoder",
    "bm25": "embbench.encode.backends.bm25:BM25Ranker",
    "navec": "embbench.encode.backends.static:StaticEncoder",
    "model2vec": "embbench.encode.backends.static:StaticEncoder",
}


def load_encoder(spec: ModelSpec) -> Encoder | Ranker:
    """Instantiate the backend named by the model entry."""
    target = BACKENDS.get(spec.backend)
    if target is None:
        raise UserError(
            spec.file or "models.yaml",
            f"model '{spec.name}': unknown backend '{spec.backend}'",
            field="backend",
            fix=f"use one of: {', '.join(BACKENDS)}",
        )
    module, cls = target.split(":")
    return getattr(import_module(module), cls)(spec)
