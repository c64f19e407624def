"""The compression hook of runner.run: dense models get a sweep on retrieval and reranking tasks, from the vectors
the task already embedded (nothing re-encoded); ranking baselines and other categories get none; --no-compression
turns it off, and toggling it recomputes the affected results."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from embbench.cli import build_parser
from embbench.results import load_results
from embbench.run.executor import LocalExecutor
from embbench.run.runner import run
from embbench.spec import ModelSpec, TaskSpec, load_task
from tests.fakes import KeywordEncoder

VOCAB = ["кот", "пёс", "дом", "лес", "мост"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def tasks(root: Path) -> list[TaskSpec]:
    corpus = [
        {"_id": "d1", "text": "кот и дом"},
        {"_id": "d2", "text": "пёс в лесу"},
        {"_id": "d3", "text": "мост через лес"},
        {"_id": "d4", "text": "дом у моста"},
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


class Keyword(LocalExecutor):
    """The keyword fake for model "kw" (its encode calls kept in `encoded`); real backends (bm25) otherwise."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    @contextlib.contextmanager
    def encoder(self, spec: ModelSpec, sink: Any) -> Iterator[Any]:
        if spec.name != "kw":
            with super().encoder(spec, sink) as enc:
                yield enc
            return
        enc = KeywordEncoder(VOCAB, name="kw")
        yield enc
        self.encoded += [t for texts, _ in enc.calls for t in texts]


MODELS = [ModelSpec(name="kw", model="keyword"), ModelSpec(name="bm25", model="bm25", backend="bm25")]


def results(output: Path) -> dict[tuple[str, str], Any]:
    return {(r.model, r.task): r for r in load_results(output)}


@pytest.fixture
def suite(tmp_path: Path) -> list[TaskSpec]:
    pytest.importorskip("bm25s")
    return tasks(tmp_path / "tasks")


def test_dense_retrieval_and_reranking_get_a_sweep_from_the_same_vectors(tmp_path: Path, suite: list[TaskSpec]):
    ex_on, ex_off = Keyword(), Keyword()
    run(MODELS, suite, tmp_path / "on", log=lambda e: None, executor=ex_on)
    run(MODELS, suite, tmp_path / "off", log=lambda e: None, executor=ex_off, compression=False)
    on, off = results(tmp_path / "on"), results(tmp_path / "off")
    assert ex_on.encoded == ex_off.encoded  # the sweep encoded nothing: the same texts, once each
    for task in ("ret", "rr"):
        r = on[("kw", task)]
        assert r.compression is not None
        full = [v for v in r.compression if v["precision"] == "float32" and v["dim"] == len(VOCAB)]
        assert [v["score"] for v in full] == [r.main_score]  # bit for bit
        assert {v["precision"] for v in r.compression} == {"float32", "float16", "int8", "binary", "binary+rescore"}
        e = r.embedding
        assert e is not None and e["compression_encoded"] == 0
        assert e["compression_from_cache"] == e["compression_unique"] == e["unique"]
        assert r.timing is not None and r.timing["compression_seconds"] >= 0
        # the sweep leaves the task's own result alone
        assert r.metrics == off[("kw", task)].metrics and r.items == off[("kw", task)].items
        assert {k: v for k, v in e.items() if not k.startswith("compression_")} == off[("kw", task)].embedding
        assert off[("kw", task)].compression is None
    assert on[("kw", "sts")].compression is None  # not a retrieval/reranking task
    assert on[("bm25", "ret")].compression is None and on[("bm25", "ret")].main_score is not None  # a ranker
    assert on[("bm25", "rr")].compression is None


def test_toggling_the_sweep_recomputes_only_what_it_changes(tmp_path: Path, suite: list[TaskSpec]):
    out = tmp_path / "out"
    run(MODELS[:1], suite, out, log=lambda e: None, executor=Keyword(), compression=False)
    summary = run(MODELS[:1], suite, out, log=lambda e: None, executor=Keyword())
    assert sorted(summary.written) == [("kw", "ret"), ("kw", "rr")]
    assert summary.skipped == [("kw", "sts")]
    assert results(out)[("kw", "ret")].compression


def test_no_compression_flag():
    assert build_parser().parse_args(["run", "--no-compression"]).no_compression is True
    assert build_parser().parse_args(["run"]).no_compression is False
