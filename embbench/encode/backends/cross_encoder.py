"""Cross-encoder reranker (sentence-transformers CrossEncoder): scores (query, document) pairs, cached on disk."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embbench.encode.backends.sentence_transformers import dtype_kwargs, resolve_location
from embbench.encode.cache import DiskCache
from embbench.encode.embedder import MemoryStore, VectorStore, identity_key
from embbench.errors import ModelLoadError
from embbench.spec import ModelSpec, RerankerSpec


@dataclass
class ScoreStats:
    """Pairs asked for, distinct pairs, found in the cache, scored by the model; seconds spent scoring."""

    pairs: int = 0
    unique: int = 0
    from_cache: int = 0
    scored: int = 0
    score_seconds: float = 0.0


def pair_key(model_key: str, query: str, document: str) -> bytes:
    """Cache key of one (reranker configuration, query, document)."""
    return hashlib.sha256(f"{model_key}\x00{query}\x00{document}".encode()).digest()


class CrossEncoderReranker:
    """score(queries, documents) for pairs, from the cache where it has them and from the model otherwise.

    Scores are stored as one-column float32 rows in the embedding cache's SegmentStore (the model's own float32
    output, so a cached score is the score); the model loads only when a pair is missing.
    """

    def __init__(
        self,
        spec: RerankerSpec,
        cache: DiskCache | None = None,
        name: str = "reranker",
        log: Callable[[str], None] | None = None,
    ):
        self.spec = spec
        as_model = ModelSpec(name=name, model=spec.model, revision=spec.revision, file=spec.file)
        self.folder, self.model_id, self.revision = resolve_location(as_model)  # ModelUnavailable offline
        self.model_key = identity_key(self.identity())
        self.store: VectorStore = cache.store(self.model_key, self.identity(), name) if cache else MemoryStore()
        self.stats = ScoreStats()
        self.log = log or (lambda _msg: None)
        self._model: Any = None
        self.load_seconds: float | None = None

    def identity(self) -> dict[str, Any]:
        """Everything that changes a score: the model's content (hub commit or folder hash), dtype, max length."""
        return {
            "backend": "cross-encoder",
            "model": self.model_id,
            "dtype": self.spec.dtype or "float32",
            "max_length": self.spec.max_length,
        }

    def provenance(self) -> dict[str, Any]:
        """Identity plus where the model came from and how it ran (the pipeline result's reranker info)."""
        info = {**self.identity(), "source": self.spec.model, "path": str(self.folder), "revision": self.revision}
        info["batch_size"] = self.spec.batch_size
        info["device"] = str(self._model.device) if self._model is not None else "not loaded (every score cached)"
        return info

    @property
    def model(self) -> Any:
        """The CrossEncoder, loaded on first use (a run served from the cache never loads it)."""
        if self._model is None:
            t0 = time.perf_counter()
            try:
                self._model = self._load()
            except Exception as exc:
                raise ModelLoadError(f"loading reranker {self.folder} failed: {type(exc).__name__}: {exc}") from exc
            self.load_seconds = time.perf_counter() - t0
        return self._model

    def _load(self) -> Any:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import CrossEncoder

        s = self.spec
        dtype = dtype_kwargs(s.dtype)
        kwargs: dict[str, Any] = {"model_kwargs": dtype} if dtype else {}
        return CrossEncoder(
            str(self.folder),
            device=s.device,
            max_length=s.max_length,
            trust_remote_code=s.trust_remote_code,
            local_files_only=True,  # the folder is already resolved (a hub id was downloaded at its revision)
            **kwargs,
        )

    def score(self, queries: Sequence[str], documents: Sequence[str]) -> np.ndarray:
        """float32 score of each (queries[i], documents[i]); each distinct pair is scored at most once ever."""
        keys = [pair_key(self.model_key, q, d) for q, d in zip(queries, documents, strict=True)]
        unique = list(dict.fromkeys(keys))
        self.stats.pairs += len(keys)
        self.stats.unique += len(unique)
        found = {k: float(v[0]) for k, v in self.store.get_many(unique).items()}
        self.stats.from_cache += len(found)
        missing = [k for k in unique if k not in found]
        if missing:
            by_key = dict(zip(keys, zip(queries, documents, strict=True), strict=True))
            pairs = [by_key[k] for k in missing]
            self.log(f"scoring {len(pairs)} new pairs")
            t0 = time.perf_counter()
            raw = self.model.predict(pairs, batch_size=self.spec.batch_size, show_progress_bar=False)
            values = np.asarray(raw, dtype=np.float32).reshape(len(pairs), -1)
            self.stats.score_seconds += time.perf_counter() - t0
            if values.shape[1] != 1:
                raise ModelLoadError(f"reranker {self.spec.model} gives {values.shape[1]} scores per pair, not 1")
            if not np.isfinite(values).all():
                raise ModelLoadError(f"reranker {self.spec.model} returned NaN or infinite scores")
            self.stats.scored += len(pairs)
            self.store.put_many(missing, values)
            found.update(zip(missing, (float(v) for v in values[:, 0]), strict=True))
        return np.asarray([found[k] for k in keys], dtype=np.float32)
