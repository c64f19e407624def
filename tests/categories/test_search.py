"""The device search (categories/search.py): on the CPU with tiny chunks it gives the default path's rankings and
scores (ties included), its chunk plan is a pure function of the memory figures, half precision is opt-in and only
where it is safe, and (skipped without a GPU) the CUDA path agrees with the CPU."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from embbench.categories import compression, reranking, retrieval
from embbench.categories import search as S
from embbench.categories.retrieval import ranked

FNS = ["cosine", "dot", "euclidean", "manhattan"]


def random(shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def with_duplicates(groups: int, copies: int, dim: int, seed: int) -> np.ndarray:
    """A corpus of `groups` distinct vectors, each `copies` times in a row: every query ties within a group."""
    return np.repeat(random((groups, dim), seed), copies, axis=0)


@pytest.mark.parametrize("fn", FNS)
def test_device_path_on_cpu_with_tiny_chunks_equals_the_default_path(fn: str) -> None:
    q, d = random((23, 16), 1), random((211, 16), 2)
    want_s, want_i = retrieval.exact_search(q, d, 10, fn)
    got_s, got_i = S.device_search(q, d, 10, fn, S.Search("cpu"), chunk=3, query_batch=5)
    np.testing.assert_array_equal(got_i, want_i)  # random floats: no ties, one order
    np.testing.assert_allclose(got_s, want_s, rtol=1e-6, atol=1e-6)
    assert got_s.dtype == np.float32 and got_i.dtype == np.int64
    # k above the corpus size: the whole corpus, ranked
    _, all_i = S.device_search(q, d[:7], 1000, fn, S.Search("cpu"), chunk=2, query_batch=4)
    assert all_i.shape == (23, 7) and all(sorted(row) == list(range(7)) for row in all_i.tolist())


def test_ties_rank_the_lower_index_first_whatever_the_chunk() -> None:
    d = with_duplicates(20, 5, 8, 3)  # groups of 5 equal documents
    q = random((7, 8), 4)
    sims = retrieval.similarity_matrix(q, d, "cosine").numpy()
    stable = np.argsort(-sims, axis=1, kind="stable")  # by score, then by index
    for chunk, batch in ((1, 1), (3, 2), (7, 7), (100, 3)):
        s, i = S.device_search(q, d, 12, "cosine", S.Search("cpu"), chunk=chunk, query_batch=batch)
        np.testing.assert_array_equal(i, stable[:, :12])  # 12 cuts the third group: its lowest two indices kept
        np.testing.assert_allclose(s, np.take_along_axis(sims, stable[:, :12], 1), rtol=1e-6, atol=1e-6)


def test_ties_give_the_default_paths_run_unless_they_straddle_the_cut() -> None:
    d = with_duplicates(20, 5, 8, 5)
    q = random((9, 8), 6)
    dids = [f"d{j:03d}" for j in range(len(d))]

    def run(scores: np.ndarray, idx: np.ndarray) -> list[list[tuple[str, float]]]:
        return [
            ranked({dids[j]: round(float(v), 6) for v, j in zip(s, i, strict=True)})
            for s, i in zip(scores, idx, strict=True)
        ]

    for k in (10, 15, 100):  # whole groups: the same documents, ordered by score then id (as pytrec_eval)
        want = run(*retrieval.exact_search(q, d, k, "cosine"))
        assert run(*S.device_search(q, d, k, "cosine", S.Search("cpu"), chunk=4, query_batch=2)) == want
    # a cut inside a group: the same scores at every rank, the same documents above the tied score
    want_s, want_i = retrieval.exact_search(q, d, 12, "cosine")
    got_s, got_i = S.device_search(q, d, 12, "cosine", S.Search("cpu"), chunk=4, query_batch=2)
    np.testing.assert_allclose(np.sort(got_s, 1), np.sort(want_s, 1), rtol=1e-6, atol=1e-6)
    for w, g in zip(want_i, got_i, strict=True):
        assert set(w[:10]) == set(g[:10]) and {j // 5 for j in w[10:]} == {j // 5 for j in g[10:]}


def vectors_of(table: dict[str, np.ndarray]) -> Any:
    def embed(texts: Sequence[str], role: Any = None) -> np.ndarray:
        return np.stack([table[t] for t in texts])

    return embed


def retrieval_data(n_docs: int = 60, n_queries: int = 12) -> tuple[retrieval.Data, Any]:
    d = with_duplicates(n_docs // 3, 3, 12, 7)  # ties in every query's ranking
    q = random((n_queries, 12), 8)
    corpus = {f"d{j}": f"doc {j}" for j in range(n_docs)}
    queries = {f"q{i}": f"query {i}" for i in range(n_queries)}
    qrels = {f"q{i}": {f"d{(5 * i) % n_docs}": 1, f"d{(7 * i + 1) % n_docs}": 2} for i in range(n_queries)}
    table = {**{corpus[k]: d[j] for j, k in enumerate(corpus)}, **{queries[k]: q[i] for i, k in enumerate(queries)}}
    return retrieval.Data(queries, corpus, qrels, "f"), vectors_of(table)


def force_device_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Search("cpu") takes the device path too (the default otherwise keeps the CPU code of before)."""
    monkeypatch.setattr(S.Search, "default", property(lambda self: False))


@pytest.mark.parametrize("fn", FNS)
def test_retrieval_scores_the_same_on_the_device_path(fn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data, embed = retrieval_data()
    params = {**retrieval.DEFAULTS, "similarity_fn": fn}
    want_m, want_items = retrieval.evaluate_items(data, embed, params)
    force_device_path(monkeypatch)
    got_m, got_items = retrieval.evaluate_items(data, embed, {**params, "corpus_chunk_size": 4})
    assert got_m.keys() == want_m.keys()
    assert all(abs(got_m[k] - want_m[k]) <= 1e-6 for k in want_m)  # < 1000 documents: no cut inside a tie
    for qid, docs in want_items["run"].items():
        got = got_items["run"][qid]
        assert [d for d, _ in ranked(got)] == [d for d, _ in ranked(docs)]
        assert all(abs(got[d] - v) <= 1e-6 for d, v in docs.items())


@pytest.mark.parametrize("fn", ["cosine", "euclidean"])
def test_reranking_scores_the_same_on_the_device_path(fn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rdata, embed = retrieval_data(30, 8)
    dids = list(rdata.corpus)
    candidates = {q: dids[i : i + 9] + dids[20 + i : 23 + i] for i, q in enumerate(rdata.queries)}
    qrels = {q: {candidates[q][2]: 1} for q in rdata.queries}
    data = reranking.Data(rdata.queries, rdata.corpus, candidates, qrels, "f")
    params = {**reranking.DEFAULTS, "similarity_fn": fn}
    want_m, want_items = reranking.evaluate_items(data, embed, params)
    force_device_path(monkeypatch)
    got_m, got_items = reranking.evaluate_items(data, embed, params)
    assert all(abs(got_m[k] - want_m[k]) <= 1e-6 for k in want_m)
    for qid, docs in want_items["run"].items():
        assert got_items["run"][qid].keys() == docs.keys()  # every candidate scored
        assert all(abs(got_items["run"][qid][d] - v) <= 1e-6 for d, v in docs.items())


def test_half_precision_is_close_and_applies_to_dot_products_only() -> None:
    q, d = random((9, 32), 9), random((300, 32), 10)
    _, ref_i = retrieval.exact_search(q, d, 20, "cosine")
    for precision in ("float16", "bfloat16"):
        s, i = S.device_search(q, d, 20, "cosine", S.Search("cpu", precision), chunk=64)
        assert s.dtype == np.float32
        tol = 2e-3 if precision == "float16" else 2e-2
        np.testing.assert_allclose(
            s, np.take_along_axis(retrieval.similarity_matrix(q, d, "cosine").numpy(), i, 1), atol=tol
        )
        overlap = np.mean([len(set(a) & set(b)) / 20 for a, b in zip(i, ref_i, strict=True)])
        assert overlap >= 0.8
    # cdist stays in float32: euclidean in "float16" is the float32 search
    half_s, half_i = S.device_search(q, d, 20, "euclidean", S.Search("cpu", "float16"), chunk=64)
    full_s, full_i = S.device_search(q, d, 20, "euclidean", S.Search("cpu"), chunk=64)
    np.testing.assert_array_equal(half_i, full_i)
    np.testing.assert_array_equal(half_s, full_s)


def test_choose_searches_on_cuda_only_and_half_only_when_asked_and_safe() -> None:
    assert S.choose("cuda:0", None, "cosine") == S.Search("cuda:0", "float32")
    assert S.choose("cuda:1", "float16", "cosine") == S.Search("cuda:1", "float16")
    assert S.choose("cuda", "bfloat16", "dot") == S.Search("cuda", "bfloat16")
    assert S.choose("cuda:0", "float16", "euclidean") == S.Search("cuda:0", "float32")  # cdist: float32
    for device in (None, "cpu", "mps", "remote"):
        assert S.choose(device, "float16", "cosine") == S.Search()  # off CUDA: today's CPU search
    assert S.Search().default and S.Search().params() == {}
    params = {"similarity_fn": "dot", "search_device": "cuda:0", "search_precision": "float16"}
    assert S.from_params(params) == S.Search("cuda:0", "float16")
    assert S.with_search(params, S.Search()) == {"similarity_fn": "dot"}
    assert S.from_params(S.with_search({}, S.Search("cuda:2", "bfloat16"))) == S.Search("cuda:2", "bfloat16")


GiB = 2**30


def test_plan_keeps_the_requested_chunk_when_it_fits() -> None:
    # 80 GiB free, 100k x 768 float32 (0.29 GiB): resident, and 50000 rows of 1024 queries take 1.6 GB
    assert S.plan(80 * GiB, 100_000, 768, 1024, 1000, 4, 50_000) == S.Plan(50_000, True)
    assert S.plan(None, 100_000, 768, 1024, 1000, 4, 50_000) == S.Plan(50_000, True)  # the CPU: as asked
    assert S.plan(80 * GiB, 300, 768, 1024, 1000, 4, 50_000).chunk == 300  # never more than the corpus


def test_plan_shrinks_the_chunk_to_the_free_memory() -> None:
    # by hand: 1 GiB free -> budget 858993459.2; corpus 10^6 x 1024 x 4 = 4096000000 > budget / 2: streamed;
    # fixed = 1024 x 1024 x 12 + 4 x 1024 x 1000 x 12 = 61734912; per row = 1024 x 32 + 1024 x 12 = 45056;
    # (858993459.2 - 61734912) // 45056 = 17694 rows -> 17408 (a whole multiple of 1024)
    assert S.plan(GiB, 1_000_000, 1024, 1024, 1000, 4, 50_000) == S.Plan(17_408, False)
    # float16 halves the corpus: 2048000000 > budget / 2 still; per row 1024 x 32 + 1024 x 10 = 43008
    assert S.plan(GiB, 1_000_000, 1024, 1024, 1000, 2, 50_000) == S.Plan(18_432, False)
    # corpus 10^5 x 1024 x 4 = 409600000 <= budget / 2: resident, per row 32768:
    # (858993459.2 - 61734912 - 409600000) // 32768 = 11830 -> 11264
    assert S.plan(GiB, 100_000, 1024, 1024, 1000, 4, 50_000) == S.Plan(11_264, True)


def test_plan_fits_its_budget_and_never_goes_below_one_row() -> None:
    for free in (2 * GiB, 5 * GiB, 17 * GiB, 70 * GiB):
        for n_docs, dim, rows_q, elem in (
            (2_000_000, 1024, 1024, 4),
            (500_000, 384, 256, 2),
            (8_000_000, 768, 1024, 2),
        ):
            p = S.plan(free, n_docs, dim, rows_q, 1000, elem, 10**9)
            per_row = rows_q * S.BYTES_PER_SCORE + (0 if p.resident else dim * (8 + elem))
            held = rows_q * dim * (8 + elem) + 4 * rows_q * 1000 * 12 + (n_docs * dim * elem if p.resident else 0)
            assert held + p.chunk * per_row <= free * S.MEMORY_FRACTION
            if p.chunk == n_docs:  # the whole corpus at once fits
                continue
            assert p.chunk < S.ROUND_ROWS or p.chunk % S.ROUND_ROWS == 0
            assert held + (p.chunk + S.ROUND_ROWS) * per_row > free * S.MEMORY_FRACTION  # not needlessly small
    assert S.plan(1000, 10**6, 1024, 1024, 1000, 4, 50_000).chunk == 1  # hopeless: 1 row, then out of memory
    chunks = [S.plan(g * GiB, 10**6, 1024, 1024, 1000, 4, 10**9).chunk for g in (1, 2, 4, 8, 16)]
    assert chunks == sorted(chunks)  # more memory, never a smaller chunk


def test_an_out_of_memory_error_halves_the_chunk_and_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    q, d = random((10, 8), 11), random((64, 8), 12)
    real, widths = S._sims, []

    def small_memory(tq: Any, td: Any, fn: str) -> Any:
        widths.append(len(td))
        if len(td) > 8:
            raise torch.OutOfMemoryError("CUDA out of memory (fake)")
        return real(tq, td, fn)

    monkeypatch.setattr(S, "_sims", small_memory)
    s, i = S.device_search(q, d, 5, "dot", S.Search("cpu"), chunk=32, query_batch=4)
    want_s, want_i = retrieval.exact_search(q, d, 5, "dot")
    np.testing.assert_array_equal(i, want_i)
    np.testing.assert_allclose(s, want_s, rtol=1e-6, atol=1e-6)
    assert widths[:3] == [32, 16, 8] and max(widths[3:]) == 8  # halved twice, then kept


def test_the_compression_sweep_searches_in_float32_on_the_tasks_device(monkeypatch: pytest.MonkeyPatch) -> None:
    data, embed = retrieval_data()
    seen: list[S.Search] = []
    real = retrieval.device_search

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(args[4])
        return real(*args, **kwargs)

    force_device_path(monkeypatch)
    monkeypatch.setattr(retrieval, "device_search", spy)
    params = {**retrieval.DEFAULTS, "search_device": "cpu", "search_precision": "float16"}
    rows = compression.sweep("retrieval", data, embed, params, "ndcg_at_10", dims=(4,))
    assert {r["precision"] for r in rows} >= {"float32", "float16", "int8", "binary", "binary+rescore"}
    assert seen and {(s.device, s.precision) for s in seen} == {("cpu", "float32")}


torch = pytest.importorskip("torch")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@cuda
@pytest.mark.parametrize("fn", FNS)
def test_cuda_search_agrees_with_the_cpu(fn: str) -> None:
    q, d = random((3000, 384), 13), random((40_000, 384), 14)
    want_s, want_i = retrieval.exact_search(q, d, 100, fn)
    gpu = S.Search("cuda:0")
    for free in (None, 256 * 2**20):  # its own free memory (resident corpus); 256 MiB: streamed, small chunks
        got_s, got_i = S.device_search(q, d, 100, fn, gpu, free_bytes=free)
        assert np.mean(got_i == want_i) >= 0.999  # float32 sums in another order may swap near-equal neighbours
        np.testing.assert_allclose(got_s, want_s, rtol=1e-5, atol=1e-4)
    if fn in S.HALF_FNS:
        half_s, half_i = S.device_search(q, d, 100, fn, S.Search("cuda:0", "float16"))
        overlap = np.mean([len(set(a) & set(b)) / 100 for a, b in zip(half_i, want_i, strict=True)])
        assert overlap >= 0.9
        np.testing.assert_allclose(half_s, want_s, rtol=5e-3, atol=5e-3)  # rank by rank: within the rounding


@cuda
def test_cuda_retrieval_and_reranking_score_as_the_cpu() -> None:
    data, embed = retrieval_data(600, 50)
    params = {**retrieval.DEFAULTS, "similarity_fn": "cosine"}
    want = retrieval.evaluate(data, embed, params)
    got = retrieval.evaluate(data, embed, {**params, **S.Search("cuda:0").params()})
    assert all(abs(got[k] - want[k]) <= 1e-6 for k in want)
    dids = list(data.corpus)
    cands = {q: dids[i : i + 40] for i, q in enumerate(data.queries)}
    rdata = reranking.Data(data.queries, data.corpus, cands, {q: {cands[q][3]: 1} for q in cands}, "f")
    want = reranking.evaluate(rdata, embed, {"similarity_fn": "cosine"})
    got = reranking.evaluate(rdata, embed, {"similarity_fn": "cosine", **S.Search("cuda:0").params()})
    assert all(abs(got[k] - want[k]) <= 1e-6 for k in want)
