"""What to run: task files and models.yaml parsed into frozen, validated specs (tasks.py, models.py)."""

from embbench.spec.models import ModelSpec, load_models, load_pipelines
from embbench.spec.pipelines import PipelineSpec, RerankerSpec
from embbench.spec.tasks import (
    CATEGORIES,
    HubSource,
    LocalSource,
    TaskSpec,
    find_suite,
    find_task_files,
    load_task,
    load_tasks,
    parse_hub,
    resolve_params,
)

__all__ = [
    "CATEGORIES",
    "HubSource",
    "LocalSource",
    "ModelSpec",
    "PipelineSpec",
    "RerankerSpec",
    "TaskSpec",
    "find_suite",
    "find_task_files",
    "load_models",
    "load_pipelines",
    "load_task",
    "load_tasks",
    "parse_hub",
    "resolve_params",
]
