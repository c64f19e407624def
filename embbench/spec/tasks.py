"""Task files (tasks/*.yaml) and suites: parsed, validated (params and main_metric too), turned into TaskSpecs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embbench import categories
from embbench.categories import NAMES
from embbench.categories._common import merge_options
from embbench.errors import UserError
from embbench.spec._yaml import check_name, check_unique, read_yaml, typed, unknown_keys
from embbench.spec.documents import DOCUMENT_KEYS, DocumentsSource, expand_sweep, parse_documents
from embbench.spec.subset import SubsetOf, parse_subset_of

CATEGORIES = NAMES  # the category registry owns the list
REVISION_RE = re.compile(r"^[0-9a-f]{40}$")
SPLIT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SIMILARITY_FNS = ("cosine", "dot", "euclidean", "manhattan")


@dataclass(frozen=True)
class LocalSource:
    """A task's data in a local folder (files per split, or the BEIR layout)."""

    folder: Path

    @property
    def uri(self) -> str:
        return str(self.folder)


@dataclass(frozen=True)
class HubSource:
    """A hub task's data: a Hugging Face dataset at a pinned revision, loaded by the mteb task class it mirrors."""

    mteb_task: str  # the mteb task class (its loader and transforms)
    path: str  # a hub dataset id, or an absolute local folder in the Hub's layout
    revision: str  # the full commit (40 hex) for a hub id
    subset: str = "default"  # the HF config / mteb hf_subset ('ru' for the multilingual tasks)
    splits: tuple[str, ...] = ("test",)

    @property
    def local(self) -> bool:
        return Path(self.path).is_absolute()

    @property
    def short(self) -> str:
        """'mteb/TERRa@48312c3' (a local folder: its name)."""
        if self.local:
            return f"{Path(self.path).name} (local)"
        return f"{self.path}@{self.revision[:7]}"

    @property
    def uri(self) -> str:
        """The full source: 'hf://mteb/TERRa@<revision>[#subset]'; a local folder: its path."""
        base = self.path if self.local else f"hf://{self.path}@{self.revision}"
        return base if self.subset == "default" else f"{base}#{self.subset}"


@dataclass(frozen=True)
class TaskSpec:
    """One task: which category evaluates which data, with which protocol params (validated at load)."""

    name: str
    category: str
    source: LocalSource | HubSource | DocumentsSource  # DocumentsSource: built into a LocalSource at run time
    file: Path
    description: str = ""
    reference: str = ""  # the task file's `source:` text: where the data was taken from
    license: str = ""
    main_metric: str | None = None  # None: the category's MAIN_METRIC
    params: dict[str, Any] = field(default_factory=dict)  # the task file's overrides of the category's DEFAULTS
    score_range: tuple[float, float] | None = None  # STS: None takes the gold scores' own range
    eval_split: str = "test"
    train_split: str = "train"
    documents: DocumentsSource | None = None  # a built documents task: its chunking and what the build found
    limit: int | None = None  # --limit N: a smoke run on the first N items (recorded as partial)
    subset_of: SubsetOf | None = None  # a small subset of a public dataset (spec/subset.py)


TASK_KEYS = {
    "name",
    "category",
    "data",
    "description",
    "source",
    "license",
    "main_metric",
    "params",
    "score_range",
    "eval_split",
    "train_split",
    "hub",
    "mteb_task",
    "subset_of",
    *DOCUMENT_KEYS,  # your own documents (spec/documents.py)
}


def resolve_params(task: TaskSpec, similarity_fn: str = "cosine") -> dict[str, Any]:
    """The category's defaults, the task file's overrides, and the model's similarity function (unless the task
    file sets one)."""
    params = {**categories.get(task.category).DEFAULTS, **task.params}
    if "similarity_fn" in params and "similarity_fn" not in task.params:
        params["similarity_fn"] = similarity_fn
    return params


def parse_hub(raw: Any, task_file: Path, mteb_task: Any) -> HubSource:
    """Validate a task file's ``hub:`` mapping and its ``mteb_task``."""
    where = task_file
    if not isinstance(mteb_task, str) or not mteb_task:
        raise UserError(where, "missing for a hub task", field="mteb_task", fix="name the mteb task, e.g. TERRa")
    if not isinstance(raw, dict):
        raise UserError(where, "expected a mapping {path, revision, subset, splits}", field="hub")
    extra = sorted(set(raw) - {"path", "revision", "subset", "splits"})
    if extra:
        raise UserError(
            where,
            f"unknown key '{extra[0]}' in hub",
            field=f"hub.{extra[0]}",
            fix="use path, revision, subset and splits",
        )
    path = raw.get("path")
    if not isinstance(path, str) or not path.strip():
        raise UserError(where, "missing", field="hub.path", fix="give the dataset id, e.g. mteb/TERRa")
    local = path.startswith((".", "/", "~"))
    if local:
        folder = (task_file.parent / Path(path).expanduser()).resolve()
        if not folder.is_dir():
            raise UserError(where, f"local dataset folder {folder} does not exist", field="hub.path")
        path = str(folder)
    revision = raw.get("revision")
    if not isinstance(revision, str) or not revision:
        raise UserError(where, "missing", field="hub.revision", fix="pin the dataset commit (40 hex digits)")
    if not local and not REVISION_RE.match(revision):
        raise UserError(
            where,
            f"'{revision}' is not a full commit hash",
            field="hub.revision",
            fix="give all 40 hex digits of the dataset commit (mteb's task metadata has it)",
        )
    subset = raw.get("subset", "default")
    if not isinstance(subset, str) or not subset:
        raise UserError(where, f"expected a subset name, got {subset!r}", field="hub.subset")
    splits = raw.get("splits", ["test"])
    if isinstance(splits, str):
        splits = [splits]
    if not isinstance(splits, list) or not splits or not all(isinstance(s, str) and s for s in splits):
        raise UserError(where, f"expected a list of split names, got {splits!r}", field="hub.splits")
    if len(set(splits)) != len(splits):
        raise UserError(where, f"a split is listed twice: {splits}", field="hub.splits")
    return HubSource(mteb_task=mteb_task, path=path, revision=revision, subset=subset, splits=tuple(splits))


def _source(raw: dict[str, Any], path: Path, category: str) -> LocalSource | HubSource | DocumentsSource:
    """The task's data: a local folder (``data:``), a hub dataset (``hub:`` + ``mteb_task:``) or your own documents
    (``documents:`` + ``questions:``)."""
    if DOCUMENT_KEYS & set(raw):
        return parse_documents(raw, path, category)
    if "hub" in raw:
        if "data" in raw:
            raise UserError(path, "give either 'data' or 'hub', not both", field="hub")
        for key in ("eval_split", "train_split"):
            if key in raw:
                raise UserError(path, f"not used by a hub task ({key} comes from hub.splits and mteb)", field=key)
        return parse_hub(raw["hub"], path, raw.get("mteb_task"))
    if "mteb_task" in raw:
        raise UserError(path, "only a hub task names an mteb task", field="mteb_task", fix="add 'hub:' or remove it")
    data = raw.get("data")
    if not isinstance(data, str) or not data:
        raise UserError(path, "missing", field="data", fix="give the data folder (relative to this file) or 'hub:'")
    folder = (path.parent / data).resolve()
    if not folder.is_dir():
        raise UserError(path, f"data folder {folder} does not exist", field="data", fix="correct the path")
    return LocalSource(folder)


def _score_range(value: Any, path: Path) -> tuple[float, float] | None:
    if value is None:
        return None
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        and value[0] < value[1]
    )
    if not ok:
        raise UserError(path, f"expected [min, max] with min < max, got {value!r}", field="score_range")
    return float(value[0]), float(value[1])


def _params(raw: Any, category: str, path: Path) -> dict[str, Any]:
    """The task file's params, checked against the category's DEFAULTS (names and types)."""
    given = typed(raw or {}, dict, path, "params", "a mapping")
    merged = merge_options(categories.get(category).DEFAULTS, given, path)
    fn = merged.get("similarity_fn")
    if "similarity_fn" in given and fn not in SIMILARITY_FNS:
        raise UserError(
            path,
            f"unknown similarity function {fn!r}",
            field="params.similarity_fn",
            fix=f"use {', '.join(SIMILARITY_FNS)}",
        )
    return {k: merged[k] for k in given}


def _main_metric(
    value: Any, category: str, source: LocalSource | HubSource | DocumentsSource, path: Path
) -> str | None:
    """A metric the category computes (a multi-split hub task also records '<split>_<metric>')."""
    if value is None:
        return None
    typed(value, str, path, "main_metric", "a metric name")
    metrics = list(categories.get(category).METRICS)
    if isinstance(source, HubSource) and len(source.splits) > 1:
        metrics += [f"{s}_{m}" for s in source.splits for m in categories.get(category).METRICS]
    if value not in metrics:
        raise UserError(
            path,
            f"unknown metric '{value}' for {category}",
            field="main_metric",
            fix=f"use one of: {', '.join(metrics)}",
        )
    return str(value)


def _split(value: Any, path: Path, key: str) -> str:
    """A split name becomes part of a file name: no folders, no '..'."""
    name = str(typed(value, (str, int, float), path, key, "a split name"))
    if not SPLIT_RE.match(name) or ".." in name:
        raise UserError(
            path,
            f"'{name}' is not a split name",
            field=key,
            fix="give the split's file name without its extension, e.g. test (no '/', '\\' or '..')",
        )
    return name


def load_task(path: Path) -> TaskSpec:
    """Read and validate one task YAML file."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise UserError(path, "a task file must be a mapping of keys", fix="see tasks/README.md")
    unknown_keys(set(raw), TASK_KEYS, path, "task file")
    name = check_name(raw.get("name"), path)
    category = raw.get("category")
    if category not in CATEGORIES:
        raise UserError(
            path, f"unknown category {category!r}", field="category", fix=f"use one of: {', '.join(CATEGORIES)}"
        )
    source = _source(raw, path, category)
    text: dict[str, str] = {}
    for key, to in (("description", "description"), ("source", "reference"), ("license", "license")):
        if key in raw:
            text[to] = str(typed(raw[key], (str, int, float), path, key, "text"))
    for key in ("eval_split", "train_split"):
        if key in raw:
            text[key] = _split(raw[key], path, key)
    if isinstance(source, HubSource):  # the splits, for records and `embbench ls`
        text["eval_split"] = "+".join(source.splits)
    return TaskSpec(
        name=name,
        category=category,
        source=source,
        file=path.resolve(),
        main_metric=_main_metric(raw.get("main_metric"), category, source, path),
        params=_params(raw.get("params"), category, path),
        score_range=_score_range(raw.get("score_range"), path),
        description=text.get("description", ""),
        reference=text.get("reference", ""),
        license=text.get("license", ""),
        eval_split=text.get("eval_split", "test"),
        train_split=text.get("train_split", "train"),
        subset_of=parse_subset_of(raw.get("subset_of"), path),
    )


# --- task suites (tasks/<suite>/suite.yaml) ---
SUITE_FILE = "suite.yaml"


def suite_members(folder: Path) -> list[Path]:
    """The task files a suite folder's suite.yaml lists (paths relative to the folder), in its order."""
    where = folder / SUITE_FILE
    raw = read_yaml(where)
    members = raw.get("tasks") if isinstance(raw, dict) else None
    if not isinstance(members, list) or not members or not all(isinstance(m, str) and m for m in members):
        raise UserError(where, "expected a non-empty 'tasks:' list of task files", field="tasks")
    files = []
    for m in members:
        f = (folder / m).resolve()
        if not f.is_file():
            raise UserError(where, f"task file {f} does not exist", field="tasks", fix="correct the list")
        files.append(f)
    return files


def _in_sub_suite(file: Path, root: Path) -> bool:
    """Whether a file lies in a folder below root that is a suite of its own (holds a suite.yaml)."""
    return any((d / SUITE_FILE).is_file() for d in file.parents if d != root and root in d.parents)


def find_task_files(paths: list[Path]) -> list[Path]:
    """Expand files and folders (recursively, *.yaml / *.yml) into a sorted list of task files.

    A folder holding a suite.yaml gives the task files that file lists; while expanding a folder, its sub-folders
    that are suites of their own (e.g. tasks/rumteb, which needs the Hugging Face hub) are left out."""
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir() and (p / SUITE_FILE).is_file():
            files.extend(suite_members(p))
        elif p.is_dir():
            files.extend(
                sorted(
                    q for q in p.rglob("*") if q.suffix in {".yaml", ".yml"} and q.is_file() and not _in_sub_suite(q, p)
                )
            )
        elif p.is_file():
            files.append(p)
        else:
            raise UserError(p, "no such task file or folder", fix="check the --tasks path")
    return list({f.resolve(): f for f in files}.values())  # a file named twice (two suites share it) counts once


def load_tasks(paths: list[Path]) -> list[TaskSpec]:
    """Load every task file; two tasks with one name (ignoring case) are an error."""
    # your own documents: a chunk-size sweep is a task per size
    tasks = [s for f in find_task_files(paths) for s in expand_sweep(load_task(f))]
    check_unique([(t.name, t.file) for t in tasks], "task")
    if not tasks:
        raise UserError(", ".join(map(str, paths)), "no task files (*.yaml) found", fix="point --tasks at task files")
    return tasks
