"""models.yaml: entries parsed, filled from presets, validated, turned into frozen ModelSpecs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embbench.errors import UserError
from embbench.spec._yaml import check_name, check_unique, read_yaml, typed, unknown_keys
from embbench.spec.pipelines import PipelineSpec, parse_pipelines
from embbench.spec.presets import apply_preset, preset_table


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
    search_precision: str | None = None  # retrieval/reranking search on CUDA: float32 (unset), float16 or bfloat16
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


MODEL_KEYS = {f for f in ModelSpec.__dataclass_fields__ if f != "file"}
STRING_KEYS = ("model", "backend", "revision", "device", "preset", "search_precision")
# backends whose `model` may be left out
BACKEND_DEFAULT_MODEL = {
    "bm25": "bm25",
    "navec": "pkg://natasha/data/emb/navec_news_v1_1B_250K_300d_100q.tar",
}
ST_BACKEND = "sentence-transformers"


def _check_types(entry: dict[str, Any], where: str) -> None:
    """Every field's type, before a preset is looked up by name or model id (a list there is a user mistake)."""
    for key in STRING_KEYS:
        if entry.get(key) is not None:
            typed(entry[key], str, where, key, "a string")
    for key, kind, hint in (
        ("batch_size", int, "a positive integer"),
        ("max_seq_length", int, "a positive integer"),
        ("truncate_dim", int, "a positive integer"),
        ("num_gpus", (int, float), "a positive number of GPUs per Ray worker (e.g. 1 or 0.5)"),  # --executor ray
    ):
        if entry.get(key) is not None:
            typed(entry[key], kind, where, key, hint)
            if entry[key] <= 0:
                raise UserError(where, f"expected {hint}, got {entry[key]}", field=key)
    for key in ("optional", "normalize", "trust_remote_code"):
        if key in entry:
            typed(entry[key], bool, where, key, "true or false")
    for key in ("model_kwargs", "tokenizer_kwargs", "options"):
        if key in entry:
            typed(entry[key], dict, where, key, "a mapping")
    prompts = entry.get("prompts")
    if prompts is not None:
        typed(prompts, dict, where, "prompts", "a mapping of key -> prompt string")
        for k, v in prompts.items():
            if not isinstance(v, str):
                raise UserError(where, f"prompt for '{k}' must be a string", field="prompts")


def _check_values(entry: dict[str, Any], where: str, models_file: Path) -> None:
    """Values the backends would misread or silently ignore."""
    ref = entry["model"]
    if ref.startswith((".", "/", "~")) and not any(
        p.exists() for p in (Path(ref).expanduser(), models_file.parent / Path(ref).expanduser())
    ):
        raise UserError(
            where,
            f"local model '{ref}' does not exist",
            field="model",
            fix="correct the path (relative to models.yaml) or use a hub id",
        )
    if entry.get("dtype") not in (None, "float32", "float16", "bfloat16", "auto"):
        raise UserError(
            where, f"unknown dtype {entry['dtype']!r}", field="dtype", fix="use float32, float16, bfloat16 or auto"
        )
    if entry.get("search_precision") not in (None, "float32", "float16", "bfloat16"):
        raise UserError(
            where,
            f"unknown search_precision {entry['search_precision']!r}",
            field="search_precision",
            fix="use float32, float16 or bfloat16 (half precision applies to a search on CUDA)",
        )
    if entry.get("search_precision") is not None and entry.get("backend") == "bm25":
        raise UserError(where, "bm25 ranks without vectors", field="search_precision", fix="remove it")
    if entry.get("pooling") not in (None, "cls", "mean", "last", "max"):
        raise UserError(
            where, f"unknown pooling {entry['pooling']!r}", field="pooling", fix="use cls, mean, last or max"
        )
    if entry.get("options") and entry.get("backend", ST_BACKEND) == ST_BACKEND:
        raise UserError(
            where,
            "the sentence-transformers backend takes no options",
            field="options",
            fix="remove 'options' (use model_kwargs / tokenizer_kwargs, or the entry's own fields)",
        )
    for key in ("model_kwargs", "tokenizer_kwargs"):
        if "trust_remote_code" in (entry.get(key) or {}):
            raise UserError(
                where,
                f"trust_remote_code inside {key}",
                field=f"{key}.trust_remote_code",
                fix="remove it there and set the entry's own field: trust_remote_code: true",
            )


def _model_spec(entry: dict[str, Any], where: str, path: Path) -> ModelSpec:
    """One checked entry (its name already checked) as a ModelSpec."""
    unknown_keys(set(entry), MODEL_KEYS, where, "the model entry")
    _check_types(entry, where)
    entry = apply_preset(dict(entry), Path(where))
    _check_types(entry, where)  # what the preset filled in
    if entry.get("model") is None and entry.get("backend") in BACKEND_DEFAULT_MODEL:
        entry["model"] = BACKEND_DEFAULT_MODEL[entry["backend"]]
    if not isinstance(entry.get("model"), str) or not entry["model"]:
        raise UserError(where, "missing", field="model", fix="give a hub id, a local folder or pkg://package/path")
    _check_values(entry, where, path)
    return ModelSpec(file=path.resolve(), **{k: v for k, v in entry.items() if v is not None})


def load_models(path: Path) -> list[ModelSpec]:
    """Read and validate models.yaml."""
    path = Path(path)
    if path.is_dir():
        model_folder = any(
            (path / f).is_file() for f in ("config.json", "modules.json", "config_sentence_transformers.json")
        )
        raise UserError(
            path,
            "is a folder" + (" holding a model" if model_folder else "") + ", not a models file (YAML)",
            field="--models",
            fix=f"benchmark the model in it with -m {path}"
            if model_folder
            else "give models.yaml, or -m MODEL_ID_OR_PATH",
        )
    if not path.exists():
        raise UserError(path, "file not found", fix="run `embbench init` to write a models.yaml, or pass -m MODEL")
    raw = read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("models"), list):
        raise UserError(
            path, "expected a top-level 'models:' list", field="models", fix="see the README for the models.yaml format"
        )
    # pipelines: spec/pipelines.py; report: read by the report layer
    unknown_keys(set(raw), {"models", "pipelines", "report"}, path, "models.yaml")
    specs: list[ModelSpec] = []
    for i, entry in enumerate(raw["models"]):
        if not isinstance(entry, dict):
            raise UserError(
                f"{path}[models][{i}]", "each model entry must be a mapping", fix="use 'name:' and 'model:' keys"
            )
        label = entry.get("name", f"#{i}")
        where = f"{path}: model '{label}'"
        name = check_name(entry.get("name"), where)
        specs.append(_model_spec({**entry, "name": name}, where, path))
    check_unique([(s.name, f"{path}: model '{s.name}'") for s in specs], "model")
    if not specs:
        raise UserError(path, "no models listed", field="models", fix="add at least one model entry")
    parse_pipelines(raw.get("pipelines"), path, [s.name for s in specs])  # a bad pipeline stops the run here too
    return specs


def load_pipelines(path: Path) -> list[PipelineSpec]:
    """The `pipelines:` of models.yaml (checked against its models), each after the stages it reads."""
    path = Path(path)
    specs = load_models(path)
    return parse_pipelines(read_yaml(path).get("pipelines"), path, [s.name for s in specs])


def _name_for(ref: str) -> str:
    """A model's name from its id or folder: the id's last part; a folder named 'model' takes its parent's name."""
    parts = [p for p in ref.replace("\\", "/").rstrip("/").split("/") if p not in ("", ".", "..")]
    if not parts:
        return "model"
    name = parts[-2] if parts[-1] == "model" and len(parts) > 1 else parts[-1]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._") or "model"
    return name[:128]


def models_from_refs(refs: list[str]) -> list[ModelSpec]:
    """`-m ID_OR_PATH` (repeatable), mteb's way: no models.yaml; a preset applies to a known id or a preset name."""
    specs = []
    for ref in refs:
        where = f"-m {ref}"
        if ref in preset_table():
            entry: dict[str, Any] = {"name": ref, "preset": ref}
        else:
            path = Path(ref).expanduser()
            local = path.exists() or ref.startswith((".", "/", "~"))
            entry = {"name": _name_for(ref), "model": str(path.resolve()) if local else ref}
        specs.append(_model_spec(entry, where, Path.cwd() / "models.yaml"))
    check_unique([(s.name, f"-m {s.model}") for s in specs], "model")
    return specs
