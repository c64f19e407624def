"""Bad task files and models.yaml entries: each is one UserError line naming the file, the field and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from embbench.errors import UserError
from embbench.spec import load_models, load_tasks

GOOD_TASK = {"name": "terra", "category": "pair_classification", "data": "data"}
GOOD_MODEL = {"name": "m", "model": "org/model"}
GOOD_SUBSET = {
    "full_size": 2923,
    "mteb_task": "TERRa",
    "dataset": "mteb/TERRa",
    "revision": "48312c334eb916d88481dc4a41bd0d8b2fa0d576",
}


def write_tasks(root: Path, tasks: list[dict[str, Any]]) -> Path:
    """Task files (as JSON, which is YAML) in root/tasks, beside a data folder with one valid split."""
    (root / "tasks" / "data").mkdir(parents=True)
    rows = [{"sentence1": "a", "sentence2": "b", "label": i % 2} for i in range(4)]
    (root / "tasks" / "data" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    for i, t in enumerate(tasks):
        (root / "tasks" / f"task{i}.yaml").write_text(json.dumps(t), encoding="utf-8")
    return root / "tasks"


def write_models(root: Path, entries: list[dict[str, Any]]) -> Path:
    path = root / "models.yaml"
    path.write_text(json.dumps({"models": entries}), encoding="utf-8")
    return path


# (what is wrong, task files or model entries, the field the error names, a word of its message)
TASKS = [
    ("split with a folder", [{**GOOD_TASK, "eval_split": "../test"}], "eval_split", "not a split name"),
    ("split with a slash", [{**GOOD_TASK, "train_split": "a/b"}], "train_split", "not a split name"),
    ("split with a backslash", [{**GOOD_TASK, "eval_split": "a\\b"}], "eval_split", "not a split name"),
    ("split with '..'", [{**GOOD_TASK, "eval_split": "a..b"}], "eval_split", "not a split name"),
    ("names alike but for case", [GOOD_TASK, {**GOOD_TASK, "name": "TERRa"}], "name", "differs only in case"),
    ("one name twice", [GOOD_TASK, GOOD_TASK], "name", "is also used by"),
    ("main_metric typo", [{**GOOD_TASK, "main_metric": "max_apx"}], "main_metric", "unknown metric 'max_apx'"),
    ("unknown param", [{**GOOD_TASK, "params": {"similarity": "dot"}}], "params.similarity", "unknown protocol"),
    ("param of another type", [{**GOOD_TASK, "params": {"similarity_fn": 1}}], "params.similarity_fn", "expected"),
    ("a bool for an int", [{**GOOD_TASK, "category": "clustering", "params": {"seed": True}}], "params.seed", "int"),
    ("a number as text", [{**GOOD_TASK, "category": "clustering", "params": {"seed": "1"}}], "params.seed", "int"),
    ("unknown similarity", [{**GOOD_TASK, "params": {"similarity_fn": "cosin"}}], "params.similarity_fn", "cosin"),
    # subset_of: a small subset of public data (spec/subset.py)
    ("subset_of as text", [{**GOOD_TASK, "subset_of": "TERRa"}], "subset_of", "expected a mapping"),
    ("subset_of typo", [{**GOOD_TASK, "subset_of": {"full_size": 9, "mteb": "TERRa"}}], "subset_of.mteb", "unknown"),
    ("subset_of without a size", [{**GOOD_TASK, "subset_of": {"note": "x"}}], "subset_of.full_size", "positive"),
    ("subset_of size zero", [{**GOOD_TASK, "subset_of": {"full_size": 0}}], "subset_of.full_size", "positive"),
    ("subset_of size as text", [{**GOOD_TASK, "subset_of": {"full_size": "2k"}}], "subset_of.full_size", "'2k'"),
    ("subset_of size a bool", [{**GOOD_TASK, "subset_of": {"full_size": True}}], "subset_of.full_size", "True"),
    (
        "subset_of dataset with a URL",
        [{**GOOD_TASK, "subset_of": {**GOOD_SUBSET, "dataset": "https://evil.example/x"}}],
        "subset_of.dataset",
        "not valid",
    ),
    (
        "subset_of short revision",
        [{**GOOD_TASK, "subset_of": {**GOOD_SUBSET, "revision": "48312c3"}}],
        "subset_of.revision",
        "40 hex digits",
    ),
    (
        "subset_of without its dataset",
        [{**GOOD_TASK, "subset_of": {"full_size": 9, "mteb_task": "TERRa"}}],
        "subset_of.dataset",
        "missing",
    ),
    (
        "subset_of dataset without a task",
        [{**GOOD_TASK, "subset_of": {"full_size": 9, "dataset": "mteb/TERRa"}}],
        "subset_of.dataset",
        "names no mteb task",
    ),
    ("subset_of note as a list", [{**GOOD_TASK, "subset_of": {"full_size": 9, "note": [1]}}], "subset_of.note", "text"),
]
MODELS = [
    ("model as a list", [{"name": "m", "model": ["a/b", "c/d"]}], "model", "expected a string"),
    ("preset as a list", [{"name": "m", "preset": ["frida"]}], "preset", "expected a string"),
    ("options for sentence-transformers", [{**GOOD_MODEL, "options": {"k1": 1}}], "options", "takes no options"),
    (
        "options for the default backend named",
        [{**GOOD_MODEL, "backend": "sentence-transformers", "options": {"x": 1}}],
        "options",
        "takes no options",
    ),
    (
        "trust_remote_code in model_kwargs",
        [{**GOOD_MODEL, "model_kwargs": {"trust_remote_code": True}}],
        "model_kwargs.trust_remote_code",
        "trust_remote_code: true",
    ),
    (
        "trust_remote_code in tokenizer_kwargs",
        [{**GOOD_MODEL, "tokenizer_kwargs": {"trust_remote_code": True}}],
        "tokenizer_kwargs.trust_remote_code",
        "trust_remote_code: true",
    ),
    ("unknown search precision", [{**GOOD_MODEL, "search_precision": "fp16"}], "search_precision", "'fp16'"),
    (
        "search precision for bm25",
        [{"name": "b", "backend": "bm25", "search_precision": "float16"}],
        "search_precision",
        "without vectors",
    ),
    ("names alike but for case", [GOOD_MODEL, {**GOOD_MODEL, "name": "M"}], "name", "differs only in case"),
    ("one name twice", [GOOD_MODEL, GOOD_MODEL], "name", "is also used by"),
]


def assert_one_line(exc: UserError, file: Path, field: str, words: str) -> None:
    line = str(exc)
    assert "\n" not in line and str(file) in line, line
    assert exc.field == field, line
    assert words in line, line
    assert exc.fix, line  # every one says how to fix it


@pytest.mark.parametrize(("tasks", "field", "words"), [t[1:] for t in TASKS], ids=[t[0] for t in TASKS])
def test_bad_task_file(tmp_path: Path, tasks: list[dict[str, Any]], field: str, words: str) -> None:
    folder = write_tasks(tmp_path, tasks)
    with pytest.raises(UserError) as info:
        load_tasks([folder])
    assert_one_line(info.value, folder, field, words)


@pytest.mark.parametrize(("entries", "field", "words"), [m[1:] for m in MODELS], ids=[m[0] for m in MODELS])
def test_bad_model_entry(tmp_path: Path, entries: list[dict[str, Any]], field: str, words: str) -> None:
    path = write_models(tmp_path, entries)
    with pytest.raises(UserError) as info:
        load_models(path)
    assert_one_line(info.value, path, field, words)


def test_the_good_inputs_of_the_table_load(tmp_path: Path) -> None:
    """The table's base entries are valid, so each bad case fails for its own reason."""
    (task,) = load_tasks([write_tasks(tmp_path, [GOOD_TASK])])
    assert task.name == "terra" and task.params == {}
    models = load_models(write_models(tmp_path, [GOOD_MODEL, {"name": "b", "backend": "bm25", "options": {"k1": 1}}]))
    assert [m.model for m in models] == ["org/model", "bm25"] and models[1].options == {"k1": 1}


def test_params_and_main_metric_are_kept_as_given(tmp_path: Path) -> None:
    task = {**GOOD_TASK, "main_metric": "cosine_f1", "params": {"similarity_fn": "dot"}}
    (spec,) = load_tasks([write_tasks(tmp_path, [task])])
    assert spec.main_metric == "cosine_f1" and spec.params == {"similarity_fn": "dot"}
