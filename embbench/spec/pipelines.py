"""models.yaml `pipelines:`: hybrid fusions and retrieve-then-rerank stages, checked into frozen PipelineSpecs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embbench.errors import UserError
from embbench.spec._yaml import check_name, typed, unknown_keys

FUSIONS = ("rrf", "score")
DTYPES = ("float32", "float16", "bfloat16", "auto")
PIPELINE_KEYS = {"name", "hybrid", "fusion", "k", "weights", "first_stage", "reranker", "top_k", "optional"}
# model names' characters plus '+' (as in "bm25+MiniLM"): still a safe file name everywhere ('>' is not, on Windows)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
RERANKER_KEYS = {"model", "revision", "device", "dtype", "batch_size", "max_length", "trust_remote_code"}


@dataclass(frozen=True)
class RerankerSpec:
    """A sentence-transformers CrossEncoder: a hub id or a local folder (relative to models.yaml), and its options."""

    model: str
    revision: str | None = None
    device: str | None = None
    dtype: str | None = None
    batch_size: int = 32
    max_length: int | None = None
    trust_remote_code: bool = False
    file: Path | None = None


@dataclass(frozen=True)
class PipelineSpec:
    """One entry of `pipelines:`: either a hybrid (models fused by rrf or min-max score fusion) or a first stage
    (a model or an earlier pipeline) whose top_k documents a reranker rescores."""

    name: str
    hybrid: tuple[str, ...] = ()
    fusion: str = "rrf"
    k: int = 60  # rrf's constant
    weights: tuple[float, ...] | None = None  # score fusion, one per hybrid member (default: equal)
    first_stage: str | None = None
    reranker: RerankerSpec | None = None
    top_k: int = 100
    optional: bool = False  # a reranker that cannot be fetched offline is reported in one line, the run goes on
    file: Path | None = field(default=None, compare=False)

    @property
    def stages(self) -> tuple[str, ...]:
        """The models or pipelines this pipeline reads the stored rankings of."""
        return self.hybrid if self.hybrid else (self.first_stage or "",)

    def describe(self) -> dict[str, Any]:
        """What the result file records about the pipeline (its model_info)."""
        if self.hybrid:
            out: dict[str, Any] = {"kind": "hybrid", "hybrid": list(self.hybrid), "fusion": self.fusion}
            out.update({"k": self.k} if self.fusion == "rrf" else {"weights": self.weights})
            return out
        assert self.reranker is not None
        reranker = {k: v for k, v in self.reranker.__dict__.items() if k != "file"}
        return {"kind": "rerank", "first_stage": self.first_stage, "reranker": reranker, "top_k": self.top_k}


def _positive_int(entry: dict[str, Any], key: str, where: str) -> None:
    if key in entry:
        typed(entry[key], int, where, key, "a positive integer")
        if entry[key] <= 0:
            raise UserError(where, f"expected a positive integer, got {entry[key]}", field=key)


def _reranker(raw: Any, where: str, path: Path) -> RerankerSpec:
    """`reranker:` as a hub id / folder string, or a mapping with `model` and the options a model has."""
    entry: dict[str, Any] = {"model": raw} if isinstance(raw, str) else raw
    typed(entry, dict, where, "reranker", "a hub id, a local folder, or a mapping with 'model'")
    unknown_keys(set(entry), RERANKER_KEYS, where, "the reranker")
    for key in ("model", "revision", "device", "dtype"):
        if entry.get(key) is not None:
            typed(entry[key], str, where, f"reranker.{key}", "a string")
    if not entry.get("model"):
        raise UserError(where, "missing", field="reranker.model", fix="give a CrossEncoder hub id or a local folder")
    for key in ("batch_size", "max_length"):
        _positive_int(entry, key, where)
    if "trust_remote_code" in entry:
        typed(entry["trust_remote_code"], bool, where, "reranker.trust_remote_code", "true or false")
    if entry.get("dtype") not in (None, *DTYPES):
        raise UserError(
            where, f"unknown dtype {entry['dtype']!r}", field="reranker.dtype", fix="use " + ", ".join(DTYPES)
        )
    ref = entry["model"]
    if ref.startswith((".", "/", "~")) and not any(
        p.exists() for p in (Path(ref).expanduser(), path.parent / Path(ref).expanduser())
    ):
        raise UserError(where, f"local reranker '{ref}' does not exist", field="reranker.model", fix="correct the path")
    return RerankerSpec(file=path.resolve(), **{k: v for k, v in entry.items() if v is not None})


def _hybrid(entry: dict[str, Any], where: str) -> dict[str, Any]:
    members = typed(entry["hybrid"], list, where, "hybrid", "a list of two or more model names")
    if len(members) < 2 or not all(isinstance(m, str) for m in members):
        raise UserError(where, "expected two or more model names", field="hybrid", fix="list models named above")
    if "first_stage" in entry or "reranker" in entry:
        raise UserError(where, "a pipeline is a hybrid or a rerank, not both", field="hybrid", fix="split it in two")
    fusion = entry.get("fusion", "rrf")
    if fusion not in FUSIONS:
        raise UserError(where, f"unknown fusion {fusion!r}", field="fusion", fix="use rrf or score")
    _positive_int(entry, "k", where)
    if "k" in entry and fusion != "rrf":
        raise UserError(where, "k is rrf's constant", field="k", fix="remove it, or use fusion: rrf")
    weights = entry.get("weights")
    if weights is not None:
        if fusion != "score":
            raise UserError(where, "weights are for score fusion", field="weights", fix="use fusion: score")
        typed(weights, list, where, "weights", "one number per hybrid member")
        if len(weights) != len(members) or any(isinstance(w, bool) or not isinstance(w, (int, float)) for w in weights):
            raise UserError(where, f"expected {len(members)} numbers", field="weights", fix="one per hybrid member")
        weights = tuple(float(w) for w in weights)
    return {"hybrid": tuple(members), "fusion": fusion, "k": entry.get("k", 60), "weights": weights}


def _pipeline(entry: dict[str, Any], where: str, path: Path) -> PipelineSpec:
    unknown_keys(set(entry), PIPELINE_KEYS, where, "the pipeline entry")
    if "optional" in entry:
        typed(entry["optional"], bool, where, "optional", "true or false")
    common = {"name": entry["name"], "optional": entry.get("optional", False), "file": path.resolve()}
    if "hybrid" in entry:
        return PipelineSpec(**common, **_hybrid(entry, where))
    if "first_stage" not in entry or "reranker" not in entry:
        missing = "first_stage" if "first_stage" not in entry else "reranker"
        raise UserError(where, "missing", field=missing, fix="give 'hybrid: [models]' or 'first_stage' + 'reranker'")
    typed(entry["first_stage"], str, where, "first_stage", "a model or pipeline name")
    for key in ("fusion", "k", "weights"):
        if key in entry:
            raise UserError(where, f"{key} is for hybrids", field=key, fix="remove it")
    _positive_int(entry, "top_k", where)
    reranker = _reranker(entry["reranker"], where, path)
    return PipelineSpec(**common, first_stage=entry["first_stage"], reranker=reranker, top_k=entry.get("top_k", 100))


def parse_pipelines(raw: Any, path: Path, model_names: Sequence[str]) -> list[PipelineSpec]:
    """The `pipelines:` list of models.yaml, in an order where each pipeline follows its stages; a stage that is
    neither a model nor a pipeline, a pipeline naming itself, a cycle, or a name a model has is a UserError."""
    if raw is None:
        return []
    typed(raw, list, path, "pipelines", "a list of pipeline entries")
    specs: dict[str, PipelineSpec] = {}
    models = set(model_names)
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise UserError(f"{path}[pipelines][{i}]", "each pipeline must be a mapping", fix="use 'name:' and stages")
        where = f"{path}: pipeline '{entry.get('name', f'#{i}')}'"
        name = _check_name(entry.get("name"), where)
        if name.casefold() in {n.casefold() for n in [*models, *specs]}:  # names become file names: case ignored
            raise UserError(where, f"name '{name}' is already used", field="name", fix="give the pipeline its own name")
        specs[name] = _pipeline({**entry, "name": name}, where, path)
    for spec in specs.values():
        where = f"{path}: pipeline '{spec.name}'"
        for stage in spec.stages:
            if stage == spec.name:
                raise UserError(
                    where, "names itself as a stage", field=_field(spec), fix="name a model or another pipeline"
                )
            if stage not in models and stage not in specs:
                known = ", ".join([*model_names, *(s for s in specs if s != spec.name)])
                raise UserError(
                    where,
                    f"stage '{stage}' is not a model or pipeline here",
                    field=_field(spec),
                    fix=f"use one of: {known}",
                )
    return _ordered(specs, models, path)


def _check_name(value: Any, where: str) -> str:
    if isinstance(value, str) and NAME_RE.match(value):
        return value
    check_name(value, where)  # the model-name rule's messages (missing, unsafe characters)
    raise UserError(where, f"'{value}' is not a safe name", field="name", fix="use letters, digits, '.', '_', '-', '+'")


def _field(spec: PipelineSpec) -> str:
    return "hybrid" if spec.hybrid else "first_stage"


def _ordered(specs: dict[str, PipelineSpec], models: set[str], path: Path) -> list[PipelineSpec]:
    """Stages before the pipelines that read them (depth-first); a cycle is a UserError naming it."""
    done: dict[str, PipelineSpec] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in done or name in models:
            return
        if name in trail:
            cycle = " -> ".join([*trail[trail.index(name) :], name])
            raise UserError(
                f"{path}: pipeline '{name}'",
                f"stages form a cycle ({cycle})",
                field=_field(specs[name]),
                fix="break the cycle",
            )
        for stage in specs[name].stages:
            visit(stage, (*trail, name))
        done[name] = specs[name]

    for name in specs:
        visit(name, ())
    return list(done.values())
