"""run/threads.py: evaluation runs with OpenMP, BLAS and torch capped at the cores per evaluating model, observed from
inside a category's evaluate, and the metrics do not move; the caps only lower a pool and are restored after."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from threadpoolctl import threadpool_info

from embbench import categories
from embbench.encode.cache import DiskCache
from embbench.run import threads
from embbench.run.executor import LocalExecutor
from embbench.run.runner import run
from embbench.spec import ModelSpec, load_task
from tests.helpers import MINILM_ENTRY, make_data, make_tasks


def pools() -> dict[str, int]:
    """Every loaded OpenMP/BLAS pool's threads (by file) and torch's, as seen from the calling thread."""
    out = {lib["filepath"]: int(lib["num_threads"]) for lib in threadpool_info()}
    return {**out, "torch": torch.get_num_threads()}


class TwoAtOnce(LocalExecutor):
    """Runs here, but says two models are evaluated at once (as the Ray executor does with two models)."""

    def concurrency(self, n_models: int) -> int:
        return 2


def test_evaluation_sees_the_cap_and_scores_do_not_move(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tasks_dir = tmp_path / "tasks"
    files = make_tasks(tasks_dir, make_data(tmp_path / "data"))
    tasks = [load_task(files[c]) for c in ("clustering", "retrieval")]
    models = [ModelSpec(**MINILM_ENTRY)]
    cache = DiskCache(tmp_path / "cache")
    monkeypatch.setattr(threads, "usable_cores", lambda: 1024)  # far above any pool: nothing is capped
    free = run(models, tasks, tmp_path / "free", cache=cache, compression=False)
    assert len(free.written) == 2 and not free.failed

    before = pools()
    seen: dict[str, dict[str, int]] = {}
    for name in ("clustering", "retrieval"):
        module = categories.get(name)
        real = module.evaluate_items

        def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
            seen[_name] = pools()
            return _real(*args)

        monkeypatch.setattr(module, "evaluate_items", spy)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)  # two cores, two models at once: one thread each
    capped = run(models, tasks, tmp_path / "capped", cache=cache, compression=False, executor=TwoAtOnce())
    assert len(capped.written) == 2 and not capped.failed
    assert set(seen) == {"clustering", "retrieval"}
    for inside in seen.values():
        assert inside == {k: min(v, 1) for k, v in before.items()}, inside
    assert pools() == before  # restored
    for t in tasks:
        a, b = (
            json.loads((tmp_path / o / "results" / "minilm" / f"{t.name}.json").read_text()) for o in ("free", "capped")
        )
        assert b["embedding"]["encoded"] == 0  # the first run's vectors, from the cache
        assert b["metrics"] == a["metrics"], t.name


def test_the_cap_only_lowers_and_is_restored() -> None:
    before = pools()
    with threads.bounded_threads(1):
        # BLAS is bounded_blas's; torch reads this thread's OpenMP setting, so it follows the OpenMP cap here
        blas = {lib["filepath"] for lib in threadpool_info() if lib["user_api"] == "blas"}
        assert pools() == {k: v if k in blas else min(v, 1) for k, v in before.items()}
    assert pools() == before
    high = max(before.values()) + 5
    with threads.bounded_threads(high), threads.bounded_blas(high):  # a cap above every pool raises none
        assert pools() == before


def test_openmp_caps_belong_to_the_evaluating_thread() -> None:
    """Models evaluated at once (the Ray executor's threads): one thread's cap leaves another thread's pools alone."""
    omp = [lib["filepath"] for lib in threadpool_info() if lib["user_api"] == "openmp"]
    before = {k: v for k, v in pools().items() if k in omp}
    if not any(v > 1 for v in before.values()):
        pytest.skip("every OpenMP pool already runs one thread")
    entered, seen_outside = threading.Event(), threading.Event()
    seen: dict[str, dict[str, int]] = {}
    # what a fresh thread sees with no cap anywhere (after other tests it may differ from this thread's own values)
    fresh = threading.Thread(target=lambda: seen.setdefault("fresh", {k: v for k, v in pools().items() if k in before}))
    fresh.start()
    fresh.join(30)

    def capped() -> None:
        with threads.bounded_threads(1):
            seen["capped"] = {k: v for k, v in pools().items() if k in before}
            entered.set()
            seen_outside.wait(30)

    def other() -> None:
        entered.wait(30)
        seen["other"] = {k: v for k, v in pools().items() if k in before}
        seen_outside.set()

    workers = [threading.Thread(target=capped), threading.Thread(target=other)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert seen["capped"] == {k: 1 for k in before}
    assert seen["other"] == seen["fresh"]


def test_blas_is_capped_process_wide_and_restored() -> None:
    blas = [lib["filepath"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    before = {k: v for k, v in pools().items() if k in blas}
    with threads.bounded_blas(1):
        assert {k: v for k, v in pools().items() if k in blas} == {k: min(v, 1) for k, v in before.items()}
    assert {k: v for k, v in pools().items() if k in blas} == before


def test_torch_cap_holds_until_the_last_concurrent_evaluation_ends() -> None:
    before = torch.get_num_threads()
    if before < 2:
        pytest.skip("torch already runs one thread")
    first_done, seen = threading.Event(), {}

    def first() -> None:
        with threads.bounded_threads(1):
            seen["first"] = torch.get_num_threads()
        first_done.set()

    with threads.bounded_threads(1):  # this thread: the evaluation still running when the other finishes
        worker = threading.Thread(target=first)
        worker.start()
        first_done.wait(30)
        worker.join(30)
        seen["after_first"] = torch.get_num_threads()
    assert seen["after_first"] == 1  # the first to finish did not lift the other's cap
    assert torch.get_num_threads() == before  # the last to finish restored it


def test_cores_per_evaluator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(threads.THREADS_ENV, raising=False)
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")
    assert threads.cgroup_cores(quota) == 2
    quota.write_text("max 100000\n")
    assert threads.cgroup_cores(quota) is None
    assert threads.cgroup_cores(tmp_path / "absent") is None
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.4, 0.0, 0.0))  # a quiet machine
    assert [threads.eval_threads(n) for n in (1, 2, 3, 8, 20)] == [8, 4, 2, 1, 1]
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (5.7, 0.0, 0.0))  # 5 of 8 cores busy elsewhere
    assert [threads.eval_threads(n) for n in (1, 2, 3)] == [3, 1, 1]
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (40.0, 0.0, 0.0))  # overloaded: still one thread
    assert threads.eval_threads(1) == 1
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.4, 0.0, 0.0))
    monkeypatch.setenv(threads.THREADS_ENV, "1")
    assert threads.eval_threads(1) == 1
    monkeypatch.setenv(threads.THREADS_ENV, "zero")  # not a positive integer: the share
    assert threads.eval_threads(2) == 4
