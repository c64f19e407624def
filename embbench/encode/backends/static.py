"""Static word-vector baselines: navec (Russian GloVe, product-quantised) and model2vec StaticModels.

A text's vector is the float32 mean of its word (navec) or token (model2vec) vectors; cosine similarity.

navec tokenisation (version ``NAVEC_TOKENIZER``): lower-case, then tokens ``\\w+(?:-\\w+)*`` (so "санкт-петербург"
and "что-то", which navec knows, stay whole). A token is looked up with ё -> е first, then as written (navec has
some words only with ё), and an unknown hyphenated token falls back to its parts; other unknown tokens are skipped.
A text with no known word gets navec's '<unk>' vector (a tiny constant vector for a file without '<unk>'), so it is
never the zero vector: every such text is identical to the others of its kind and unrelated to the rest. The
default file is the navec model shipped by the natasha package.

model2vec: the library's own tokenizer and mean pooling; a text with no known token (which the library maps to the
zero vector) gets the tokenizer's unknown-token vector, or the tiny constant vector when it has none.

models.yaml: ``- {name: navec, backend: navec}`` (optionally ``model: path/to/navec.tar`` or ``pkg://pkg/file.tar``),
``- {name: potion, backend: model2vec, model: minishlab/potion-base-8M}`` (a hub id or a local folder).
"""

from __future__ import annotations

import hashlib
import re
import time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from embbench._io import dist_version
from embbench.categories._common import merge_options
from embbench.errors import ModelLoadError, ModelUnavailable, UserError, missing_extra
from embbench.spec import ModelSpec

NAVEC_DEFAULT = "pkg://natasha/data/emb/navec_news_v1_1B_250K_300d_100q.tar"
NAVEC_TOKENIZER = "navec-ru-1"  # bump when NavecVectors.ids() changes
TOKEN = re.compile(r"\w+(?:-\w+)*")
TINY = 1e-6  # the fallback vector's components when a model has no unknown-word vector
CHUNK = 4096  # texts per block: bounds the decoded vectors held at once


@lru_cache(maxsize=8)
def file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """Content hash of a file (cached per path, size and modification time)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def resolve_file(spec: ModelSpec, default: str) -> Path:
    """A vector file from 'model': pkg://package/path, a path (relative to models.yaml), or the default when unset."""
    where = spec.file or "models.yaml"
    ref = spec.model if spec.model and spec.model != spec.backend else default
    if ref.startswith("pkg://"):
        package, _, sub = ref[len("pkg://") :].partition("/")
        try:
            path = Path(str(resources.files(package).joinpath(sub)))
        except ModuleNotFoundError:
            if ref == default:
                raise missing_extra(package, "baselines") from None
            raise ModelUnavailable(f"package '{package}' is not installed (pip install {package})") from None
        if not path.is_file():
            raise UserError(where, f"model '{spec.name}': {path} is not a file", field="model")
        return path
    base = spec.file.parent if spec.file else Path.cwd()
    for candidate in (Path(ref).expanduser(), base / ref):
        if candidate.is_file():
            return candidate.resolve()
    raise UserError(
        where,
        f"model '{spec.name}': vector file '{ref}' does not exist",
        field="model",
        fix="give a navec .tar file (relative to models.yaml) or pkg://package/path",
    )


class NavecVectors:
    """A loaded navec model: word -> id lookup (cached) and on-demand decoding of the product-quantised vectors."""

    def __init__(self, path: Path):
        from navec import Navec

        self.navec = Navec.load(str(path))
        self.vocab = self.navec.vocab.word_ids
        pq = self.navec.pq
        self.dim = int(pq.dim)
        self._qdims = np.arange(pq.qdim)
        unk = self.navec.vocab.unk_id
        self.fallback = (
            self.decode(np.array([unk]))[0] if unk is not None else np.full(self.dim, TINY, dtype=np.float32)
        )
        self.fallback_kind = "<unk>" if unk is not None else f"constant {TINY}"
        self._ids: dict[str, tuple[int, ...]] = {}

    def decode(self, ids: np.ndarray) -> np.ndarray:
        """float32 vectors of word ids (n, dim)."""
        pq = self.navec.pq
        return pq.codes[self._qdims, pq.indexes[ids]].reshape(len(ids), self.dim).astype(np.float32)

    def _lookup(self, token: str) -> tuple[int, ...]:
        for form in (token.replace("ё", "е"), token):
            wid = self.vocab.get(form)
            if wid is not None:
                return (wid,)
        if "-" in token:
            return tuple(i for part in token.split("-") for i in self._lookup(part))
        return ()

    def ids(self, text: str) -> list[int]:
        """Vocabulary ids of the known words of a text (see the module docstring)."""
        out: list[int] = []
        for token in TOKEN.findall(text.lower()):
            found = self._ids.get(token)
            if found is None:
                found = self._ids[token] = self._lookup(token)
            out.extend(found)
        return out

    def encode(self, texts: list[str]) -> np.ndarray:
        from scipy import sparse

        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), CHUNK):
            block = [self.ids(t) for t in texts[start : start + CHUNK]]
            uniq, inverse = np.unique(
                np.fromiter((i for ids in block for i in ids), dtype=np.int64), return_inverse=True
            )
            counts = np.array([len(ids) for ids in block])
            rows = np.repeat(np.arange(len(block)), counts)
            weights = np.repeat(1.0 / np.maximum(counts, 1), counts)
            mean = sparse.csr_matrix((weights, (rows, inverse)), shape=(len(block), len(uniq)))
            vecs = np.asarray(mean @ self.decode(uniq).astype(np.float64), dtype=np.float32) if len(uniq) else None
            part = out[start : start + len(block)]
            if vecs is not None:
                part[:] = vecs
            part[counts == 0] = self.fallback
        return out


@lru_cache(maxsize=2)
def _load_navec(path: str, sha256: str) -> NavecVectors:
    return NavecVectors(Path(path))


class StaticEncoder:
    """A navec or model2vec model behind the Encoder protocol; loaded on first encode()."""

    similarity_fn = "cosine"

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.kind = spec.backend
        where = f"{spec.file or 'models.yaml'}: model '{spec.name}'"
        merge_options({}, spec.options or {}, where, "options", "option", f" for backend '{spec.backend}'")
        self._model: Any = None
        self.load_seconds: float | None = None
        if self.kind == "navec":
            try:
                import navec  # noqa: F401
            except ImportError:
                raise missing_extra("navec", "baselines") from None
            self.path = resolve_file(spec, NAVEC_DEFAULT)
            st = self.path.stat()
            self.model_id = f"sha256:{file_sha256(str(self.path), st.st_size, st.st_mtime_ns)}"
            self.revision = None
        elif self.kind == "model2vec":
            try:
                import model2vec  # noqa: F401
            except ImportError:
                raise missing_extra("model2vec", "baselines") from None
            if not spec.model or spec.model == spec.backend:
                raise UserError(
                    spec.file or "models.yaml",
                    f"model '{spec.name}': a model2vec model needs 'model'",
                    field="model",
                    fix="give a hub id (e.g. minishlab/potion-base-8M) or a local folder",
                )
            from embbench.encode.backends.sentence_transformers import resolve_location

            self.path, self.model_id, self.revision = resolve_location(spec)
        else:
            raise UserError(spec.file or "models.yaml", f"model '{spec.name}': unknown static backend", field="backend")

    @property
    def model(self) -> Any:
        if self._model is None:
            t0 = time.perf_counter()
            try:
                if self.kind == "navec":
                    self._model = _load_navec(str(self.path), self.model_id)
                else:
                    from model2vec import StaticModel

                    self._model = StaticModel.from_pretrained(self.path, force_download=False)
            except Exception as exc:
                raise ModelLoadError(f"loading {self.path} failed: {type(exc).__name__}: {exc}") from exc
            self.load_seconds = time.perf_counter() - t0
        return self._model

    def identity(self) -> dict[str, Any]:
        """The vectors' content (file or folder hash, hub commit) and everything that changes a text's vector."""
        out: dict[str, Any] = {
            "backend": self.kind,
            "model": self.model_id,
            "tokenizer": NAVEC_TOKENIZER if self.kind == "navec" else "model2vec",
            "pooling": "mean",
            "unknown": "unk-vector",
            "normalize": self.spec.normalize,
        }
        if self.kind == "model2vec":
            out["max_seq_length"] = self.spec.max_seq_length
        return out

    def provenance(self) -> dict[str, Any]:
        info = {
            **self.identity(),
            "source": self.spec.model,
            "path": str(self.path),
            "revision": self.revision,
            "similarity_fn": self.similarity_fn,
            "library": {self.kind: dist_version(self.kind)},
        }
        if self._model is None:
            info["device"] = "not loaded (every vector came from the cache)"
            return info
        info["device"] = "cpu"
        info["load_seconds"] = round(self.load_seconds or 0.0, 3)
        if self.kind == "navec":
            info.update(
                dim=self._model.dim, vocab_size=len(self._model.vocab), unknown_vector=self._model.fallback_kind
            )
        else:
            info.update(dim=int(self._model.dim), vocab_size=len(self._model.tokens))
        return info

    def builtin_prompts(self) -> dict[str, str]:
        return {}

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """float32 mean vectors; the prompt (if any) is prepended to each text."""
        texts = [prompt + t for t in texts] if prompt else list(texts)
        vecs = self.model.encode(texts) if self.kind == "navec" else self._model2vec(texts)
        if self.spec.normalize:
            vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return np.asarray(vecs, dtype=np.float32)

    def _model2vec(self, texts: list[str]) -> np.ndarray:
        m = self.model
        if not texts:
            return np.zeros((0, m.dim), dtype=np.float32)
        kwargs = {"max_length": self.spec.max_seq_length} if self.spec.max_seq_length else {}
        vecs = np.asarray(m.encode(texts, batch_size=self.spec.batch_size * 32, **kwargs), dtype=np.float32)
        empty = ~vecs.any(axis=1)
        if empty.any():
            vecs[empty] = self._model2vec_unknown(m)
        return vecs

    @staticmethod
    def _model2vec_unknown(m: Any) -> np.ndarray:
        """The unknown token's vector (as the model would pool it), else the tiny constant vector."""
        unk = m.unk_token_id
        if unk is not None:
            row = m.token_mapping[unk] if m.token_mapping is not None else unk
            vec = np.asarray(m.embedding[row], dtype=np.float32)
            if m.weights is not None:
                vec = vec * np.float32(m.weights[unk])
            if vec.any():
                return vec
        return np.full(m.dim, TINY, dtype=np.float32)
