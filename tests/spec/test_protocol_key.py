"""The request key follows the task's resolved protocol: defaults, overrides, the category's VERSION, the source."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from embbench import categories
from embbench.run.runner import request_key
from embbench.spec import HubSource, LocalSource, ModelSpec, TaskSpec

MODEL = ModelSpec(name="m", model="org/model")
DATA = SimpleNamespace(fingerprint="0" * 64)


def task(**kw: object) -> TaskSpec:
    base = {"name": "t", "category": "clustering", "source": LocalSource(Path("/a")), "file": Path("/a/t.yaml")}
    return TaskSpec(**{**base, **kw})


def key(t: TaskSpec) -> str:
    return request_key(MODEL, t, DATA)


def test_an_override_equal_to_the_default_is_the_same_protocol() -> None:
    assert key(task(params={"seed": 42})) == key(task())
    assert key(task(params={"seed": 1})) != key(task())
    assert key(task(main_metric="v_measure")) == key(task())  # the category's main metric, named


def test_a_changed_default_or_version_changes_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = key(task())
    module = categories.get("clustering")
    monkeypatch.setattr(module, "DEFAULTS", {**module.DEFAULTS, "seed": 7})
    assert key(task()) != before
    monkeypatch.undo()
    monkeypatch.setattr(module, "VERSION", module.VERSION + 1)
    assert key(task()) != before


def test_the_source_counts_by_its_fields_a_folder_by_its_content() -> None:
    assert key(task(source=LocalSource(Path("/moved")))) == key(task())  # the data fingerprint stands for it
    hub = HubSource(mteb_task="X", path="org/ds", revision="a" * 40)
    assert key(task(source=hub)) != key(task())
    assert key(task(source=dataclasses.replace(hub, revision="b" * 40))) != key(task(source=hub))
    assert key(task(source=dataclasses.replace(hub, subset="ru"))) != key(task(source=hub))
