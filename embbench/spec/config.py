"""Task files (tasks/*.yaml) and models.yaml: parsed, validated, turned into frozen specs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from embbench.categories import NAMES
from embbench.errors import UserError
from embbench.spec.documents import DOCUMENT_KEYS, DocumentsSource, expand_sweep, parse_documents

if TYPE_CHECKING:  # --- hub tasks (ruMTEB suite) ---
    from embbench.data.hub import HubSource

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
CATEGORIES = NAMES  # the category registry owns the list


@dataclass(frozen=True)
class TaskSpec:
    """One task: which category evaluates which data folder, with which protocol params."""

    name: str
    category: str
    data: Path | None  # None for a hub task
    file: Path
    description: str = ""
    source: str = ""
    license: str = ""
    main_metric: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    score_range: tuple[float, float] | None = None
    eval_split: str = "test"
    train_split: str = "train"
    # --- hub tasks (ruMTEB suite): begin ---
    hub: HubSource | None = None  # a Hugging Face dataset at a pinned revision instead of a data folder
    mteb_task: str | None = None  # the mteb task class a hub task mirrors (its loader and transforms)
    # --- hub tasks (ruMTEB suite): end ---
    documents: DocumentsSource | None = None  # your own documents: built into a BEIR folder (data) at run time


@dataclass(frozen=True)
class ModelSpec:
    """One entry of models.yaml."""

    name: str
    model: str
    backend: str = "sentence-transformers"
    prompts: dict[str, str] | None = None
    preset: str | None = None
    revision: str | None = None
    optional: bool = False
    batch_size: int = 32
    device: str | None = None
    dtype: str | None = None
    max_seq_length: int | None = None
    normalize: bool = False
    truncate_dim: int | None = None
    trust_remote_code: bool = False
    pooling: str | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    tokenizer_kwargs: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    num_gpus: float | None = None  # --executor ray: GPUs per worker (fractions share a GPU); unset: CPU workers
    file: Path | None = None


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
    "hub",  # hub tasks (ruMTEB suite)
    "mteb_task",
    *DOCUMENT_KEYS,  # your own documents
}
MODEL_KEYS = {f for f in ModelSpec.__dataclass_fields__ if f != "file"}
# backends whose `model` may be left out
BACKEND_DEFAULT_MODEL = {
    "bm25": "bm25",
    "navec": "pkg://natasha/data/emb/navec_news_v1_1B_250K_300d_100q.tar",
}


def read_yaml(path: Path) -> Any:
    """Parse a YAML file safely; a syntax error becomes a one-line UserError."""
    if not path.is_file():
        raise UserError(path, "file not found", fix="check the path")
    try:
        with path.open(encoding="utf-8-sig") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise UserError(where, f"malformed YAML ({problem})", fix="correct the YAML syntax") from None
    except UnicodeDecodeError:
        raise UserError(path, "not UTF-8 text", fix="save the file as UTF-8") from None


def check_name(value: Any, where: Path, field_name: str = "name") -> str:
    """Names become file names: letters, digits, '.', '_' and '-' only."""
    if not isinstance(value, str) or not value:
        raise UserError(where, "missing or empty", field=field_name, fix="give a short name")
    if not NAME_RE.match(value) or value in {".", ".."}:
        raise UserError(
            where,
            f"'{value}' is not a safe name",
            field=field_name,
            fix="use only letters, digits, '.', '_' and '-' (it becomes a file name)",
        )
    return value


def _unknown(keys: set[str], allowed: set[str], where: Path, what: str) -> None:
    extra = sorted(keys - allowed)
    if extra:
        raise UserError(
            where,
            f"unknown key '{extra[0]}' in {what}",
            field=extra[0],
            fix=f"remove it or use one of: {', '.join(sorted(allowed))}",
        )


def _typed(value: Any, kind: type | tuple[type, ...], where: Path, field_name: str, hint: str) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise UserError(where, f"expected {hint}, got {value!r}", field=field_name)
    if not isinstance(value, kind):
        raise UserError(where, f"expected {hint}, got {type(value).__name__} {value!r}", field=field_name)
    return value


def load_task(path: Path) -> TaskSpec:
    """Read and validate one task YAML file."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise UserError(path, "a task file must be a mapping of keys", fix="see tasks/README.md")
    _unknown(set(raw), TASK_KEYS, path, "task file")
    name = check_name(raw.get("name"), path)
    category = raw.get("category")
    if category not in CATEGORIES:
        raise UserError(
            path, f"unknown category {category!r}", field="category", fix=f"use one of: {', '.join(CATEGORIES)}"
        )
    # --- hub tasks (ruMTEB suite): begin ---
    hub = mteb_task = None
    if "hub" in raw:
        from embbench.data.hub import parse_hub

        if "data" in raw:
            raise UserError(path, "give either 'data' or 'hub', not both", field="hub")
        hub = parse_hub(raw["hub"], path)
        mteb_task = raw.get("mteb_task")
        if not isinstance(mteb_task, str) or not mteb_task:
            raise UserError(path, "missing for a hub task", field="mteb_task", fix="name the mteb task, e.g. TERRa")
        for key in ("eval_split", "train_split"):
            if key in raw:
                raise UserError(path, f"not used by a hub task ({key} comes from hub.splits and mteb)", field=key)
    elif "mteb_task" in raw:
        raise UserError(path, "only a hub task names an mteb task", field="mteb_task", fix="add 'hub:' or remove it")
    # --- hub tasks (ruMTEB suite): end ---
    documents = parse_documents(raw, path, category) if DOCUMENT_KEYS & set(raw) else None  # your own documents
    data = raw.get("data")
    folder: Path | None = None
    if hub is None and documents is None:
        if not isinstance(data, str) or not data:
            raise UserError(path, "missing", field="data", fix="give the data folder (relative to this file) or 'hub:'")
        folder = (path.parent / data).resolve()
        if not folder.is_dir():
            raise UserError(path, f"data folder {folder} does not exist", field="data", fix="correct the path")
    params = raw.get("params") or {}
    _typed(params, dict, path, "params", "a mapping")
    score_range = raw.get("score_range")
    if score_range is not None:
        ok = (
            isinstance(score_range, list)
            and len(score_range) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in score_range)
            and score_range[0] < score_range[1]
        )
        if not ok:
            raise UserError(path, f"expected [min, max] with min < max, got {score_range!r}", field="score_range")
        score_range = (float(score_range[0]), float(score_range[1]))
    elif category == "sts":
        raise UserError(path, "missing for an STS task", field="score_range", fix="add e.g. score_range: [0, 5]")
    main_metric = raw.get("main_metric")
    if main_metric is not None:
        _typed(main_metric, str, path, "main_metric", "a metric name")
    text_fields = {}
    for key in ("description", "source", "license", "eval_split", "train_split"):
        if key in raw:
            text_fields[key] = str(_typed(raw[key], (str, int, float), path, key, "text"))
    if hub is not None:  # hub tasks (ruMTEB suite): the splits, for records and `embbench ls`
        text_fields["eval_split"] = "+".join(hub.splits)
    return TaskSpec(
        name=name,
        category=category,
        data=folder,
        file=path.resolve(),
        main_metric=main_metric,
        params=dict(params),
        score_range=score_range,
        **text_fields,
        hub=hub,
        mteb_task=mteb_task,
        documents=documents,
    )


# --- task suites (tasks/<suite>/suite.yaml): begin ---
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


def find_suite(name: str) -> Path:
    """The folder of a named suite: tasks/<name> under the working directory, else in the embbench checkout."""
    if not NAME_RE.match(name) or name in {".", ".."}:
        raise UserError("--suite", f"'{name}' is not a suite name", fix="e.g. --suite rumteb")
    for root in (Path("tasks"), Path(__file__).resolve().parents[2] / "tasks"):
        if (root / name / SUITE_FILE).is_file():
            return root / name
    raise UserError("--suite", f"no suite '{name}' (no tasks/{name}/{SUITE_FILE})", fix="e.g. --suite rumteb")


def _in_sub_suite(file: Path, root: Path) -> bool:
    """Whether a file lies in a folder below root that is a suite of its own (holds a suite.yaml)."""
    return any((d / SUITE_FILE).is_file() for d in file.parents if d != root and root in d.parents)


# --- task suites: end ---


def find_task_files(paths: list[Path]) -> list[Path]:
    """Expand files and folders (recursively, *.yaml / *.yml) into a sorted list of task files.

    A folder holding a suite.yaml gives the task files that file lists; while expanding a folder, its sub-folders
    that are suites of their own (e.g. tasks/rumteb, which needs the Hugging Face hub) are left out."""
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir() and (p / SUITE_FILE).is_file():  # task suites
            files.extend(suite_members(p))
        elif p.is_dir():
            files.extend(
                sorted(
                    q
                    for q in p.rglob("*")
                    if q.suffix in {".yaml", ".yml"} and q.is_file() and not _in_sub_suite(q, p)  # task suites
                )
            )
        elif p.is_file():
            files.append(p)
        else:
            raise UserError(p, "no such task file or folder", fix="check the --tasks path")
    return list({f.resolve(): f for f in files}.values())  # a file named twice (two suites share it) counts once


def load_tasks(paths: list[Path]) -> list[TaskSpec]:
    """Load every task file; two tasks with one name are an error."""
    # your own documents: a chunk-size sweep is a task per size
    tasks = [s for f in find_task_files(paths) for s in expand_sweep(load_task(f))]
    seen: dict[str, Path] = {}
    for t in tasks:
        if t.name in seen:
            raise UserError(
                t.file,
                f"task name '{t.name}' is also used by {seen[t.name]}",
                field="name",
                fix="give each task a unique name",
            )
        seen[t.name] = t.file
    if not tasks:
        raise UserError(", ".join(map(str, paths)), "no task files (*.yaml) found", fix="point --tasks at task files")
    return tasks


def load_models(path: Path) -> list[ModelSpec]:
    """Read and validate models.yaml."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("models"), list):
        raise UserError(
            path, "expected a top-level 'models:' list", field="models", fix="see the README for the models.yaml format"
        )
    _unknown(set(raw), {"models"}, path, "models.yaml")
    specs: list[ModelSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw["models"]):
        where = Path(f"{path}[models][{i}]")
        if not isinstance(entry, dict):
            raise UserError(where, "each model entry must be a mapping", fix="use 'name:' and 'model:' keys")
        label = entry.get("name", f"#{i}")
        where = Path(f"{path}: model '{label}'")
        _unknown(set(entry), MODEL_KEYS, where, "the model entry")
        name = check_name(entry.get("name"), where)
        if name in seen:
            raise UserError(
                where, f"model name '{name}' is used twice", field="name", fix="give each model a unique name"
            )
        seen.add(name)
        from embbench.spec.presets import apply_preset  # local import: presets import config types

        entry = apply_preset(dict(entry), where)
        if entry.get("model") is None and entry.get("backend") in BACKEND_DEFAULT_MODEL:
            entry["model"] = BACKEND_DEFAULT_MODEL[entry["backend"]]
        if not isinstance(entry.get("model"), str) or not entry["model"]:
            raise UserError(where, "missing", field="model", fix="give a hub id, a local folder or pkg://package/path")
        ref = entry["model"]
        if ref.startswith((".", "/", "~")) and not any(
            p.exists() for p in (Path(ref).expanduser(), path.parent / Path(ref).expanduser())
        ):
            raise UserError(
                where,
                f"local model '{ref}' does not exist",
                field="model",
                fix="correct the path (relative to models.yaml) or use a hub id",
            )
        prompts = entry.get("prompts")
        if prompts is not None:
            _typed(prompts, dict, where, "prompts", "a mapping of key -> prompt string")
            for k, v in prompts.items():
                if not isinstance(v, str):
                    raise UserError(where, f"prompt for '{k}' must be a string", field="prompts")
        for key, kind, hint in (
            ("batch_size", int, "a positive integer"),
            ("max_seq_length", int, "a positive integer"),
            ("truncate_dim", int, "a positive integer"),
            ("num_gpus", (int, float), "a positive number of GPUs per Ray worker (e.g. 1 or 0.5)"),  # --executor ray
        ):
            if entry.get(key) is not None:
                _typed(entry[key], kind, where, key, hint)
                if entry[key] <= 0:
                    raise UserError(where, f"expected {hint}, got {entry[key]}", field=key)
        for key in ("optional", "normalize", "trust_remote_code"):
            if key in entry:
                _typed(entry[key], bool, where, key, "true or false")
        for key in ("model_kwargs", "tokenizer_kwargs", "options"):
            if key in entry:
                _typed(entry[key], dict, where, key, "a mapping")
        if entry.get("dtype") not in (None, "float32", "float16", "bfloat16", "auto"):
            raise UserError(
                where, f"unknown dtype {entry['dtype']!r}", field="dtype", fix="use float32, float16, bfloat16 or auto"
            )
        if entry.get("pooling") not in (None, "cls", "mean", "last", "max"):
            raise UserError(
                where, f"unknown pooling {entry['pooling']!r}", field="pooling", fix="use cls, mean or last"
            )
        for key in ("model", "backend", "revision", "device", "preset"):
            if entry.get(key) is not None:
                _typed(entry[key], str, where, key, "a string")
        entry["name"] = name
        specs.append(ModelSpec(file=path.resolve(), **{k: v for k, v in entry.items() if v is not None}))
    if not specs:
        raise UserError(path, "no models listed", field="models", fix="add at least one model entry")
    return specs
