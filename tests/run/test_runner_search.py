"""The runner decides where retrieval and reranking search (run/runner.py search_for): the encoder's CUDA device,
else the CPU; the models.yaml opt-in to half precision; the choice reaches the categories as params and the result
file records it. Nothing here runs on CUDA: the device search is replaced by a spy that searches on the CPU."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from embbench.categories import reranking, retrieval
from embbench.categories import search as S
from embbench.run import record
from embbench.run.executor import LocalExecutor
from embbench.run.runner import run, search_for
from embbench.spec import ModelSpec, TaskSpec, load_task
from tests.fakes import KeywordEncoder

VOCAB = ["кот", "пёс", "дом", "лес", "мост"]


class CudaKeyword(KeywordEncoder):
    """The keyword fake, claiming to run on a GPU."""

    device = "cuda:0"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def tasks(root: Path) -> list[TaskSpec]:
    corpus = [
        {"_id": "d1", "text": "кот и дом"},
        {"_id": "d2", "text": "пёс в лесу"},
        {"_id": "d3", "text": "мост через лес"},
        {"_id": "d4", "text": "дом у моста"},
        {"_id": "d5", "text": "кот у моста"},
    ]
    write(root / "ret" / "corpus.jsonl", jsonl(corpus))
    write(root / "ret" / "queries.jsonl", jsonl([{"_id": "q1", "text": "где кот"}, {"_id": "q2", "text": "лес"}]))
    write(root / "ret" / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n")
    write(root / "ret.yaml", "name: ret\ncategory: retrieval\ndata: ret\n")
    rows = [
        {"query": "кот дома", "positive": ["кот и дом"], "negative": ["пёс в лесу", "мост"]},
        {"query": "пёс", "positive": ["пёс в лесу"], "negative": ["кот и дом"]},
    ]
    write(root / "rr" / "test.jsonl", jsonl(rows))
    write(root / "rr.yaml", "name: rr\ncategory: reranking\ndata: rr\n")
    pairs = [
        {"sentence1": "кот и дом", "sentence2": "кот в доме", "score": 4.0},
        {"sentence1": "пёс в лесу", "sentence2": "кот дома", "score": 1.0},
        {"sentence1": "лес и дом", "sentence2": "дом у леса", "score": 3.0},
    ]
    write(root / "sts" / "test.jsonl", jsonl(pairs))
    write(root / "sts.yaml", "name: sts\ncategory: sts\ndata: sts\nscore_range: [0, 5]\n")
    return [load_task(root / f"{n}.yaml") for n in ("ret", "rr", "sts")]


class Fake(LocalExecutor):
    def __init__(self, cls: type[KeywordEncoder]) -> None:
        self.cls = cls

    @contextlib.contextmanager
    def encoder(self, spec: ModelSpec, sink: Any) -> Iterator[Any]:
        yield self.cls(VOCAB, name=spec.name)


@pytest.fixture
def cuda_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, S.Search]]:
    """The device searches the categories ask for, each run on the CPU instead (the same code, device "cpu")."""
    seen: list[tuple[str, S.Search]] = []
    search, topk = retrieval.device_search, reranking.candidate_topk

    def device_search(q: Any, d: Any, k: int, fn: str, s: S.Search, *rest: Any) -> Any:
        seen.append(("retrieval", s))
        return search(q, d, k, fn, S.Search("cpu", s.precision), *rest)

    def candidate_topk(q: Any, d: Any, cands: Any, k: int, fn: str, s: S.Search) -> Any:
        seen.append(("reranking", s))
        return topk(q, d, cands, k, fn, S.Search("cpu", s.precision))

    monkeypatch.setattr(retrieval, "device_search", device_search)
    monkeypatch.setattr(reranking, "candidate_topk", candidate_topk)
    return seen


def results(output: Path) -> dict[str, dict[str, Any]]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((output / "results" / "kw").glob("*.json"))
    }


def test_search_for_takes_the_encoders_cuda_device_and_the_entrys_precision(cuda_here: None) -> None:
    spec = ModelSpec(name="kw", model="keyword")
    assert search_for(CudaKeyword(VOCAB), spec) == S.Search("cuda:0", "float32")
    half = ModelSpec(name="kw", model="keyword", search_precision="float16")
    assert search_for(CudaKeyword(VOCAB), half) == S.Search("cuda:0", "float16")
    assert search_for(KeywordEncoder(VOCAB), half) == S.Search()  # no device (a Ray pool, static vectors): the CPU
    assert S.Search("cuda:0").params() == {"search_device": "cuda:0", "search_precision": "float32"}


def test_a_bare_cuda_device_is_named_as_the_loaded_model_names_it(
    cuda_here: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    encoder = KeywordEncoder(VOCAB)
    encoder.device = "cuda"  # type: ignore[attr-defined]  # `device: cuda` before the weights load
    assert search_for(encoder, ModelSpec(name="kw", model="keyword")) == S.Search("cuda:1")


def test_search_for_stays_on_the_cpu_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # `device: cuda`, every vector from the cache
    assert search_for(CudaKeyword(VOCAB), ModelSpec(name="kw", model="keyword")) == S.Search()


def test_a_cuda_encoder_searches_on_its_device_and_the_result_says_so(
    tmp_path: Path, cuda_here: None, spied: list[tuple[str, S.Search]]
) -> None:
    spec = ModelSpec(name="kw", model="keyword", search_precision="float16")
    summary = run([spec], tasks(tmp_path), tmp_path / "cuda", executor=Fake(CudaKeyword))
    assert not summary.failed
    # the task's search in float16; the compression sweep (a second retrieval/reranking pass) in float32
    assert ("retrieval", S.Search("cuda:0", "float16")) in spied
    assert ("reranking", S.Search("cuda:0", "float16")) in spied
    assert {s.device for _, s in spied} == {"cuda:0"}
    got = results(tmp_path / "cuda")
    for name in ("ret", "rr"):
        assert got[name]["search"] == {"device": "cuda:0", "precision": "float16"}
        assert "search_device" not in got[name]["params"]  # params stay the protocol's
    assert "search" not in got["sts"]
    # keyword vectors are 0/1: float16 is exact, so the scores are the CPU run's
    run([ModelSpec(name="kw", model="keyword")], tasks(tmp_path), tmp_path / "cpu", executor=Fake(KeywordEncoder))
    cpu = results(tmp_path / "cpu")
    for name in ("ret", "rr", "sts"):
        assert got[name]["main_score"] == pytest.approx(cpu[name]["main_score"], abs=1e-6)
    assert cpu["ret"]["search"] == {"device": "cpu", "precision": "float32"}


def test_the_default_cpu_search_is_the_code_of_before(tmp_path: Path, spied: list[tuple[str, S.Search]]) -> None:
    out = tmp_path / "out"
    run([ModelSpec(name="kw", model="keyword")], tasks(tmp_path), out, executor=Fake(KeywordEncoder))
    assert spied == []  # the device path never ran
    got = results(out)
    for name in ("ret", "rr"):
        assert got[name]["search"] == {"device": "cpu", "precision": "float32"}


def test_half_precision_makes_retrieval_results_stale_and_float32_does_not(tmp_path: Path) -> None:
    ret, _, sts = tasks(tmp_path)
    plain = ModelSpec(name="kw", model="keyword")
    data = {t.name: t for t in (ret, sts)}

    def key(spec: ModelSpec, task: TaskSpec) -> str:
        from embbench.data import load

        return record.request_key(spec, task, load(data[task.name]))

    f32 = ModelSpec(name="kw", model="keyword", search_precision="float32")
    f16 = ModelSpec(name="kw", model="keyword", search_precision="float16")
    assert key(f32, ret) == key(plain, ret) and key(f16, sts) == key(plain, sts)
    assert key(f16, ret) != key(plain, ret)
