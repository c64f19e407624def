"""What to run: task files and models.yaml parsed into frozen, validated specs (tasks.py, models.py)."""

from embbench.spec.models import ModelSpec, load_models, load_pipelines, models_from_refs
from embbench.spec.pipelines import PipelineSpec, RerankerSpec
from embbench.spec.suites import default_task_paths, find_suite, find_task, known_tasks, list_suites
from embbench.spec.tasks import (
    CATEGORIES,
    HubSource,
    LocalSource,
    TaskSpec,
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
    "default_task_paths",
    "find_suite",
    "find_task",
    "find_task_files",
    "known_tasks",
    "list_suites",
    "load_models",
    "load_pipelines",
    "load_task",
    "load_tasks",
    "models_from_refs",
    "parse_hub",
    "resolve_params",
]
