"""Rows for a task: ``load(task)`` reads its source (a local folder or a hub dataset) and returns its Data."""

from __future__ import annotations

from typing import Any

from embbench import categories
from embbench.data import hub
from embbench.data.limit import limit_columns
from embbench.data.local import read_columns
from embbench.errors import UserError
from embbench.spec.documents import DocumentsSource
from embbench.spec.tasks import HubSource, TaskSpec


def load(task: TaskSpec) -> Any:
    """The task's Data, built by its category's ``to_data`` from the columns its source gives (a multi-split hub
    task: categories._splits.SplitsData). Raises UserError for bad data, hub.TaskUnavailable when a hub dataset
    cannot be fetched now."""
    if isinstance(task.source, HubSource):
        return hub.load(task)  # imports mteb and datasets, for hub tasks only
    if isinstance(task.source, DocumentsSource):  # built into a BEIR folder by data.documents.build first
        raise UserError(
            task.file, "a documents task must be built before it is loaded", fix="run it with `embbench run`"
        )
    columns = limit_columns(read_columns(task, task.source.folder), task.limit)  # --limit: a smoke run
    return categories.get(task.category).to_data(columns, task.file)
