"""Exact top-k search on a torch device (a GPU): corpus chunks sized to its free memory, opt-in half precision.

Categories never see a model: the runner decides a ``Search`` (the encoder's CUDA device, else the CPU, and the
precision the model entry opts into) and hands it over as two plain params, ``search_device`` and
``search_precision`` (absent: the CPU in float32, today's code path, bit for bit). ``device_search`` then moves the
vectors to the device, scores them in corpus chunks (``plan``: the fixed ``corpus_chunk_size``, smaller when that
would not fit in the device's free memory), keeps the running top-k there, and brings back only the top-k scores and
indices. float32 means float32 there: TF32 matmuls are turned off for the search.

Ties: equal scores rank the lower document index first (a stable sort, not topk), so the top-k is the same whatever
the chunk size or device. The CPU path's torch.topk keeps an arbitrary subset of documents tied at the k-th place;
a run's order among equal scores is decided later anyway (by document id, as pytrec_eval), so the two paths give
the same scored run unless tied documents straddle the cut.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SEARCH_CATEGORIES = ("retrieval", "reranking")  # the categories that search (the others compare pairs or fit sklearn)
PRECISIONS = ("float32", "float16", "bfloat16")
HALF_FNS = ("cosine", "dot")  # half precision only for dot products: cdist (euclidean, manhattan) stays float32
MEMORY_FRACTION = 0.8  # of the free memory the search may use: the rest is headroom (allocator, other processes)
ROUND_ROWS = 1024  # chunks above this are whole multiples of it: stable GEMM shapes when free memory moves a little
ELEM_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
BYTES_PER_SCORE = 32  # per (query, document) of a chunk: scores 4, sorted scores 4, indices 8, sort temporaries 16


@dataclass(frozen=True)
class Search:
    """Where and in what precision a category searches (the default: the CPU, float32)."""

    device: str = "cpu"
    precision: str = "float32"

    @property
    def default(self) -> bool:
        return self == Search()

    def params(self) -> dict[str, str]:
        """The params a category reads (none for the default: a category's params stay as they always were)."""
        return {} if self.default else {"search_device": self.device, "search_precision": self.precision}

    def record(self) -> dict[str, str]:
        """What a result file records (TaskResult.search)."""
        return {"device": self.device, "precision": self.precision}


def from_params(params: Mapping[str, Any]) -> Search:
    """The Search a category's params ask for (the default when they name none)."""
    return Search(str(params.get("search_device", "cpu")), str(params.get("search_precision", "float32")))


def with_search(params: Mapping[str, Any], search: Search) -> dict[str, Any]:
    """params with their search replaced by ``search``."""
    out = {k: v for k, v in params.items() if k not in ("search_device", "search_precision")}
    return {**out, **search.params()}


def choose(device: str | None, precision: str | None, similarity_fn: str) -> Search:
    """The search for an encoder on ``device``: a CUDA device searches there, anything else on the CPU; half
    precision only when asked for, on CUDA, and for cosine or dot (elsewhere it would be slower or overflow)."""
    on_cuda = device is not None and device.startswith("cuda")
    half = on_cuda and similarity_fn in HALF_FNS and precision in PRECISIONS
    return Search(device if on_cuda and device else "cpu", precision if half and precision else "float32")


@dataclass(frozen=True)
class Plan:
    """How one search uses the device: corpus rows scored at once, and whether the prepared corpus stays there."""

    chunk: int
    resident: bool


def plan(
    free_bytes: int | None, n_docs: int, dim: int, query_rows: int, top_k: int, elem_bytes: int, requested: int
) -> Plan:
    """The chunk (at most ``requested``, at least 1) and residency that fit ``MEMORY_FRACTION`` of ``free_bytes``;
    ``free_bytes`` None (the CPU) keeps ``requested`` and the corpus resident.

    The corpus stays on the device when it takes at most half the budget. Per query batch the search holds the
    batch (its float32 copy, normalised copy and cast: ``dim * (8 + elem)`` bytes a row) and four running top-k
    buffers (``12 * top_k`` bytes a row); per corpus row of a chunk, ``BYTES_PER_SCORE`` a query (the score block,
    its sorted copy, int64 indices and the sort's or cdist's temporaries), plus the row itself (its float32 copy,
    normalised copy and cast) when the corpus is not resident."""
    requested = max(1, min(requested, n_docs))
    if free_bytes is None:
        return Plan(requested, True)
    budget = free_bytes * MEMORY_FRACTION
    corpus = n_docs * dim * elem_bytes
    resident = corpus <= budget / 2
    fixed = query_rows * dim * (8 + elem_bytes) + 4 * query_rows * top_k * 12
    per_row = query_rows * BYTES_PER_SCORE + (0 if resident else dim * (8 + elem_bytes))
    room = budget - fixed - (corpus if resident else 0)
    rows = int(room // per_row) if room > 0 else 1
    if rows > ROUND_ROWS:
        rows -= rows % ROUND_ROWS
    return Plan(max(1, min(requested, rows)), resident)


def free_memory(device: Any) -> int | None:
    """Bytes a CUDA device can still give this process (free plus what torch holds unused); None off CUDA."""
    import torch

    if torch.device(device).type != "cuda":
        return None
    free, _ = torch.cuda.mem_get_info(device)
    return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))


@contextlib.contextmanager
def _exact_float32(device: Any) -> Iterator[None]:
    """float32 matmuls in full float32 on CUDA (no TF32, which a library may have turned on) while the block runs."""
    import torch

    if torch.device(device).type != "cuda":
        yield
        return
    old = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(old)


def _prepare(rows: Any, fn: str, device: Any, dtype: Any) -> Any:
    """CPU float32 rows on the device, normalised in float32 for cosine (then scored as dot), cast to dtype."""
    from sentence_transformers import util

    out = rows.to(device)
    if fn == "cosine":
        out = util.normalize_embeddings(out)
    return out.to(dtype)


def _resident(td: Any, fn: str, device: Any, dtype: Any, step: int) -> Any:
    """The whole prepared corpus on the device, filled chunk by chunk (the float32 copy never exists at once)."""
    import torch

    out = torch.empty(td.shape, dtype=dtype, device=device)
    for s in range(0, len(td), step):
        out[s : s + step] = _prepare(td[s : s + step], fn, device, dtype)
    return out


def _sims(q: Any, d: Any, fn: str) -> Any:
    from sentence_transformers import util

    funcs = {"cosine": util.dot_score, "dot": util.dot_score, "euclidean": util.euclidean_sim}
    return funcs.get(fn, util.manhattan_sim)(q, d)  # cosine: both sides already normalised


def _batch_topk(tq: Any, td: Any, corpus: Any, k: int, fn: str, step: int, dtype: Any) -> tuple[Any, Any]:
    """One query batch's top-k over the corpus in chunks of ``step`` rows, kept on the device (as exact_search)."""
    import torch

    best_s: Any = None
    best_i: Any = None
    for ds in range(0, len(td), step):
        chunk = corpus[ds : ds + step] if corpus is not None else _prepare(td[ds : ds + step], fn, tq.device, dtype)
        s, i = _top(_sims(tq, chunk, fn), k)
        i = i + ds
        if best_s is not None:  # the earlier chunks' (lower) indices first: the stable sort keeps them first on ties
            s, pos = _top(torch.cat([best_s, s], 1), k)
            i = torch.gather(torch.cat([best_i, i], 1), 1, pos)
        best_s, best_i = s, i
    return best_s, best_i


def _top(scores: Any, k: int) -> tuple[Any, Any]:
    """The best k per row, best first, equal scores by position (a stable sort: torch.topk's ties are arbitrary)."""
    import torch

    s, i = torch.sort(scores, dim=-1, descending=True, stable=True)
    return s[..., :k], i[..., :k]


def device_search(
    q_vecs: np.ndarray,
    d_vecs: np.ndarray,
    top_k: int,
    fn: str,
    search: Search,
    chunk: int = 50000,
    query_batch: int = 1024,
    free_bytes: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, doc indices) per query on ``search.device``, as retrieval.exact_search computes them; chunks
    from ``plan`` (``free_bytes``: the device's, measured when None); an out-of-memory error halves the chunk."""
    import torch

    k = min(top_k, len(d_vecs))
    scores = np.empty((len(q_vecs), k), dtype=np.float32)
    idx = np.empty((len(q_vecs), k), dtype=np.int64)
    if k == 0 or len(q_vecs) == 0:
        return scores, idx
    device = torch.device(search.device)
    precision = search.precision if fn in HALF_FNS else "float32"
    dtype = getattr(torch, precision)
    tq_all = torch.from_numpy(np.ascontiguousarray(q_vecs, dtype=np.float32))
    td = torch.from_numpy(np.ascontiguousarray(d_vecs, dtype=np.float32))
    free = free_memory(device) if free_bytes is None else free_bytes
    p = plan(free, len(td), td.shape[1], min(query_batch, len(tq_all)), k, ELEM_BYTES[precision], chunk)
    step = p.chunk
    with _exact_float32(device):
        corpus = None
        if p.resident:
            with contextlib.suppress(torch.OutOfMemoryError):  # the estimate was off: stream the chunks instead
                corpus = _resident(td, fn, device, dtype, step)
        qs = 0
        while qs < len(tq_all):
            try:
                tq = _prepare(tq_all[qs : qs + query_batch], fn, device, dtype)
                best_s, best_i = _batch_topk(tq, td, corpus, k, fn, step, dtype)
                n = len(best_s)
                scores[qs : qs + n] = best_s.float().cpu().numpy()
                idx[qs : qs + n] = best_i.cpu().numpy()
            except torch.OutOfMemoryError:  # another process took memory since it was measured
                if step == 1:
                    raise
                step = max(1, step // 2)
                _release(device)
                continue
            qs += n
    return scores, idx


def _release(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()


def candidate_topk(
    q_vecs: np.ndarray, d_vecs: np.ndarray, candidates: Sequence[Sequence[int]], top_k: int, fn: str, search: Search
) -> list[tuple[list[float], list[int]]]:
    """Per query, the top-k (scores, positions in its candidate list) of its own candidates, on ``search.device``
    (reranking); the results come back in one transfer."""
    import torch

    if not len(q_vecs):
        return []
    device = torch.device(search.device)
    precision = search.precision if fn in HALF_FNS else "float32"
    dtype = getattr(torch, precision)
    td = torch.from_numpy(np.ascontiguousarray(d_vecs, dtype=np.float32))
    tq = torch.from_numpy(np.ascontiguousarray(q_vecs, dtype=np.float32))
    longest = max((len(c) for c in candidates), default=0)
    p = plan(free_memory(device), len(td), td.shape[1], 1, longest, ELEM_BYTES[precision], max(len(td), 1))
    values, positions, sizes = [], [], []
    with _exact_float32(device):
        corpus = _resident(td, fn, device, dtype, p.chunk) if p.resident and len(td) else None
        queries = _prepare(tq, fn, device, dtype)  # one vector per query: small beside the candidates
        for qi, cand in enumerate(candidates):
            rows = torch.as_tensor(list(cand), dtype=torch.int64)
            docs = corpus[rows.to(device)] if corpus is not None else _prepare(td[rows], fn, device, dtype)
            sims = _sims(queries[qi : qi + 1], docs, fn)[0]
            top_s, top_i = _top(sims, top_k)
            values.append(top_s.float())
            positions.append(top_i)
            sizes.append(len(top_s))
        all_values = torch.cat(values).cpu().tolist() if values else []
        all_positions = torch.cat(positions).cpu().tolist() if positions else []
    out, start = [], 0
    for n in sizes:
        out.append((all_values[start : start + n], all_positions[start : start + n]))
        start += n
    return out
