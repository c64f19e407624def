"""runner.run through the Executor protocol: one model loop for any executor, the encoder's lifetime per model,
the one model-load ladder, and the probe asked of the executor (hand-checkable with the keyword fake)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import pytest

from embbench.errors import ModelUnavailable, UserError
from embbench.run.executor import LocalExecutor, open_model
from embbench.run.runner import run
from embbench.run.summary import ALL_TASKS, Failure, Progress, RunSummary, Unavailable
from embbench.spec import ModelSpec, TaskSpec, load_task
from embbench.speed.probe import ProbeResult
from tests.fakes import KeywordEncoder

T = TypeVar("T")
VOCAB = ["кот", "пёс", "дом", "лес"]


def sts_task(root: Path) -> TaskSpec:
    rows = [
        {"sentence1": "кот и дом", "sentence2": "кот в доме", "score": 4.0},
        {"sentence1": "пёс в лесу", "sentence2": "кот дома", "score": 1.0},
        {"sentence1": "лес и дом", "sentence2": "дом у леса", "score": 3.0},
    ]
    (root / "tiny").mkdir()
    (root / "tiny" / "test.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    (root / "tiny.yaml").write_text("name: tiny\ncategory: sts\ndata: tiny\nscore_range: [0, 5]\n")
    return load_task(root / "tiny.yaml")


class Recording:
    """An executor that hands out keyword fakes (or raises what `fail` names) and records what it was asked."""

    def __init__(self, fail: dict[str, Exception] | None = None):
        self.fail = fail or {}
        self.calls: list[str] = []

    def session(self, sink: Any) -> contextlib.AbstractContextManager[None]:
        self.calls.append("session")
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def encoder(self, spec: ModelSpec, sink: Any) -> Iterator[KeywordEncoder]:
        self.calls.append(f"open {spec.name}")
        if spec.name in self.fail:
            raise self.fail[spec.name]
        try:
            yield KeywordEncoder(VOCAB, name=spec.name)
        finally:
            self.calls.append(f"close {spec.name}")

    def map_models(self, fn: Callable[[ModelSpec], T], specs: Sequence[ModelSpec]) -> list[T]:
        self.calls.append("map " + ",".join(s.name for s in specs))
        return [fn(s) for s in reversed(specs)][::-1]  # any order of execution: results come back in model order

    def concurrency(self, n_models: int) -> int:
        return 1

    def probe(self, spec: ModelSpec, encoder: Any, **sizes: Any) -> ProbeResult:
        self.calls.append(f"probe {spec.name}")
        return ProbeResult({"model": spec.name}, ("speed: measured elsewhere",))


def test_one_loop_for_any_executor(tmp_path: Path) -> None:
    ex = Recording(fail={"gone": ModelUnavailable("not downloaded")})
    models = [ModelSpec(name="a", model="x"), ModelSpec(name="gone", model="y", optional=True)]
    events: list[Progress] = []
    summary = run(models, [sts_task(tmp_path)], tmp_path / "out", log=events.append, speed=True, executor=ex)
    assert ex.calls == ["session", "map a,gone", "open gone", "open a", "probe a", "close a"]
    assert summary.written == [("a", "tiny")] and summary.speed == ["a"]
    assert summary.unavailable == [Unavailable("gone", "not downloaded", True)] and summary.exit_code == 0
    assert json.loads((tmp_path / "out" / "speed" / "a.json").read_text()) == {"model": "a"}
    lines = {(e.model, e.depth, e.text) for e in events}
    assert ("gone", 1, "gone: skipped (optional): not downloaded") in lines
    assert ("a", 2, "speed: measured elsewhere") in lines
    assert any(m == "a" and d == 2 and t.startswith("cosine_spearman = ") for m, d, t in lines)


@pytest.mark.parametrize(
    ("exc", "failure"),
    [
        (UserError("models.yaml", "bad field"), Failure("m", ALL_TASKS, "models.yaml: bad field", True)),
        (OSError("broken folder"), Failure("m", ALL_TASKS, "load failed: broken folder", False)),
    ],
)
def test_one_load_ladder(exc: Exception, failure: Failure) -> None:
    summary, events = RunSummary(), []

    class Broken(LocalExecutor):
        @contextlib.contextmanager
        def encoder(self, spec: ModelSpec, sink: Any) -> Iterator[Any]:
            raise exc
            yield

    with ExitStack() as stack:
        assert open_model(stack, Broken(), ModelSpec(name="m", model="x"), summary, events.append, ALL_TASKS) is None
    assert summary.failed == [failure] and summary.stopped and len(events) == 1


def test_an_error_inside_the_block_is_not_a_load_failure() -> None:
    summary = RunSummary()
    with pytest.raises(KeyError), ExitStack() as stack:
        enc = open_model(stack, Recording(), ModelSpec(name="m", model="x"), summary, lambda e: None, ALL_TASKS)
        assert enc is not None
        raise KeyError("a bug in the caller")
    assert not summary.failed and not summary.unavailable
