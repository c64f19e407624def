"""The compression sweep: a retrieval/reranking task's main score with truncated, float16, int8 and binary vectors.

Every variant is scored from the vectors the task's evaluation already embedded (nothing is re-encoded): ``sweep``
asks the task's ``embed`` once per distinct call (``Memo``) and re-runs the category's own ``evaluate_items`` with an
embed that returns transformed vectors and the similarity each variant needs. The variants, as a RAG index uses them:

- ``float32`` at full width (equals the task's main score bit for bit: same vectors, same code path, as long as
  the task searched in float32, the default; the sweep always does) and truncated
  to each width of ``DIMS`` below the model's (prefix, then L2-renormalised, as Matryoshka models are used);
- ``float16``: the vectors rounded to half precision;
- ``int8``: sentence-transformers' ``quantize_embeddings`` calibrated on the task's document vectors (the corpus,
  as the sentence-transformers quantized-retrieval recipe does); queries take the same ranges; the codes are scored
  with the model's own similarity function;
- ``binary``: ``quantize_embeddings(..., "ubinary")`` (sign bits), searched by Hamming distance;
- ``binary+rescore``: the sentence-transformers recipe (``semantic_search_faiss``/``usearch`` with ``rescore``):
  the top ``top_k * RESCORE_MULTIPLIER`` documents by Hamming distance are rescored by the float query's dot product
  with their unpacked bits, and the best ``top_k`` kept (``top_k`` is the main metric's cutoff, e.g. 10 for nDCG@10).

Each variant is ``{dim, precision, bytes_per_vector, index_mb_per_1m_docs, score, similarity, seconds}``: score on the
main metric's 0..1 scale, the index size as raw vector storage of a flat index (10^6 bytes per MB) — the format
``TaskResult.compression`` documents and report/rag.py renders.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from embbench import categories
from embbench.categories._common import Embed, Role
from embbench.categories._splits import split_aware
from embbench.categories.retrieval import K_VALUES, Run, exact_search, score_run_items
from embbench.categories.search import from_params, with_search

VERSION = 1  # hashed into the request key of the tasks it applies to: bump it when the variants change
CATEGORIES = ("retrieval", "reranking")  # the tasks a RAG index serves
DIMS = (32, 64, 128, 256, 512, 768, 1024, 1536, 2048)  # truncation widths (those below the model's width are used)
RESCORE_MULTIPLIER = 2  # sentence-transformers' semantic_search_faiss / _usearch default
BYTES_PER_MB = 1_000_000
DOCS = 1_000_000  # index size is given for one million documents

Transform = Callable[[np.ndarray], np.ndarray]


def applies(category: str) -> bool:
    """Whether the sweep runs for a task of this category (dense models only: the caller checks that)."""
    return category in CATEGORIES


class Memo:
    """embed(texts, role) that asks the wrapped embed once per distinct (role, texts) and replays its vectors."""

    def __init__(self, embed: Embed):
        self.embed = embed
        self.calls: dict[tuple[Role, tuple[str, ...]], np.ndarray] = {}

    def __call__(self, texts: Sequence[str], role: Role = None) -> np.ndarray:
        key = (role, tuple(texts))
        if key not in self.calls:
            self.calls[key] = self.embed(texts, role)
        return self.calls[key]

    def documents(self) -> np.ndarray:
        """Every document vector embedded so far (the int8 calibration set)."""
        docs = [v for (role, _), v in self.calls.items() if role == "document" and len(v)]
        return np.concatenate(docs) if docs else np.zeros((0, self.dim), dtype=np.float32)

    @property
    def dim(self) -> int:
        return next((v.shape[1] for v in self.calls.values() if v.ndim == 2), 0)


@dataclass(frozen=True)
class Variant:
    """One way to store the vectors: its width, precision, transform, and the similarity its search uses."""

    dim: int
    precision: str
    transform: Transform
    similarity: str  # a retrieval similarity_fn name, or "hamming+rescore" (scored by rescore_items)

    @property
    def search(self) -> str:
        """How the index is searched, as the result records it."""
        return "hamming" if self.precision == "binary" else self.similarity

    @property
    def bytes_per_vector(self) -> int:
        if self.precision.startswith("binary"):
            return (self.dim + 7) // 8  # packed bits, as np.packbits pads to whole bytes
        return self.dim * {"float32": 4, "float16": 2, "int8": 1}[self.precision]


def _quantize(vecs: np.ndarray, precision: Literal["int8", "ubinary"], **kwargs: Any) -> np.ndarray:
    try:
        from sentence_transformers.util import quantize_embeddings
    except ImportError:  # sentence-transformers < 5
        from sentence_transformers.quantization import quantize_embeddings  # type: ignore[no-redef]
    return np.asarray(quantize_embeddings(vecs, precision=precision, **kwargs))


def truncate(dim: int) -> Transform:
    """The first ``dim`` coordinates, renormalised to unit length (a zero vector stays zero)."""

    def fn(vecs: np.ndarray) -> np.ndarray:
        head = np.ascontiguousarray(vecs[:, :dim], dtype=np.float32)
        norms = np.linalg.norm(head, axis=1, keepdims=True)
        return np.divide(head, norms, out=np.zeros_like(head), where=norms > 0)

    return fn


def to_float16(vecs: np.ndarray) -> np.ndarray:
    return vecs.astype(np.float16).astype(np.float32)


def to_int8(calibration: np.ndarray) -> Transform:
    """int8 codes (as float32 for scoring), with per-dimension ranges from the calibration vectors."""
    return lambda vecs: _quantize(vecs, "int8", calibration_embeddings=calibration).astype(np.float32)


def bits(vecs: np.ndarray) -> np.ndarray:
    """The unpacked ubinary codes (0/1 per dimension, float32): what a binary index holds."""
    packed = _quantize(vecs, "ubinary")
    return np.unpackbits(packed, axis=-1)[:, : vecs.shape[1]].astype(np.float32)


def signs(vecs: np.ndarray) -> np.ndarray:
    """Bits as -1/+1: their dot product is dim - 2 * Hamming distance, so ranking by it is Hamming search."""
    return bits(vecs) * 2 - 1


def variants(dim: int, similarity_fn: str, calibration: np.ndarray, dims: Sequence[int] = DIMS) -> list[Variant]:
    """Full float32, each truncation width below dim (widest first), float16, int8, binary, binary+rescore."""
    out = [Variant(dim, "float32", lambda v: v, similarity_fn)]
    out += [Variant(d, "float32", truncate(d), similarity_fn) for d in sorted(set(dims), reverse=True) if d < dim]
    out += [
        Variant(dim, "float16", to_float16, similarity_fn),
        Variant(dim, "int8", to_int8(calibration), similarity_fn),
        Variant(dim, "binary", signs, "dot"),  # dot of signs: Hamming ranking
        Variant(dim, "binary+rescore", lambda v: v, "hamming+rescore"),
    ]
    return out


def cutoff(main_metric: str) -> int:
    """The rank cutoff of a metric named ``<name>_at_<k>`` (the deepest K otherwise)."""
    m = re.search(r"_at_(\d+)$", main_metric)
    return int(m.group(1)) if m else max(K_VALUES)


def rescore_items(data: Any, embed: Embed, params: dict[str, Any], top_k: int) -> tuple[dict[str, float], Any]:
    """Binary search then float rescoring (the sentence-transformers recipe) over retrieval or reranking Data."""
    qids, dids = list(data.queries), list(data.corpus)
    q_vecs = embed([data.queries[q] for q in qids], "query")
    d_bits = bits(embed([data.corpus[d] for d in dids], "document"))
    q_signs, d_signs = signs(q_vecs), d_bits * 2 - 1
    n = top_k * RESCORE_MULTIPLIER
    candidates = getattr(data, "candidates", None)  # reranking: each query's own candidate list
    if candidates is None:
        _, idx = exact_search(q_signs, d_signs, n, "dot", params["corpus_chunk_size"], search=from_params(params))
        shortlists = list(idx)
    else:
        pos = {d: i for i, d in enumerate(dids)}
        shortlists = []
        for qi, qid in enumerate(qids):
            cand = np.array([pos[d] for d in candidates[qid]], dtype=np.int64)
            hamming_rank = np.argsort(-(d_signs[cand] @ q_signs[qi]), kind="stable")
            shortlists.append(cand[hamming_rank[:n]])
    run: Run = {}
    for qi, qid in enumerate(qids):
        short = shortlists[qi]
        # as sentence-transformers: einsum of the float query with the int bits, in float64
        rescored = d_bits[short].astype(np.float64) @ q_vecs[qi].astype(np.float64)
        best = np.argsort(-rescored, kind="stable")[:top_k]
        hits = {dids[short[j]]: float(rescored[j]) for j in best}
        if params.get("ignore_identical_ids"):
            hits.pop(qid, None)
        run[qid] = hits
    return score_run_items(data.qrels, run)


def sweep(
    category: str, data: Any, embed: Embed, params: dict[str, Any], main_metric: str, dims: Sequence[int] = DIMS
) -> list[dict[str, Any]]:
    """Every variant's main score for one task (see the module docstring); ``embed`` is asked once per call."""
    evaluate_items = split_aware(categories.get(category).evaluate_items)
    # on the task's search device, always in float32: the variants are about how vectors are stored (an int8 dot
    # product would overflow float16), and float32 is the precision every row's label promises
    params = with_search(params, replace(from_params(params), precision="float32"))
    memo = Memo(embed)
    t0 = time.perf_counter()
    full = evaluate_items(data, memo, params)[0][main_metric]  # also fills the memo: every vector the task uses
    out = []
    for v in variants(memo.dim, params["similarity_fn"], memo.documents(), dims):
        if v.precision == "float32" and v.dim == memo.dim:
            score, seconds = full, time.perf_counter() - t0
        else:
            t0 = time.perf_counter()
            score = _score(v, evaluate_items, data, memo, params, main_metric)
            seconds = time.perf_counter() - t0
        out.append(
            {
                "dim": v.dim,
                "precision": v.precision,
                "bytes_per_vector": v.bytes_per_vector,
                "index_mb_per_1m_docs": v.bytes_per_vector * DOCS / BYTES_PER_MB,
                "score": score,
                "similarity": v.search,
                "seconds": round(seconds, 3),
            }
        )
    return out


def _score(
    v: Variant, evaluate_items: Callable[..., Any], data: Any, memo: Memo, params: dict[str, Any], main_metric: str
) -> float:
    if v.similarity == "hamming+rescore":
        rescore = split_aware(lambda part, e, p: rescore_items(part, e, p, cutoff(main_metric)))
        return float(rescore(data, memo, params)[0][main_metric])

    def embed(texts: Sequence[str], role: Role = None) -> np.ndarray:
        return v.transform(memo(texts, role))

    return float(evaluate_items(data, embed, {**params, "similarity_fn": v.similarity})[0][main_metric])
