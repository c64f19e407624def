"""A task file's ``subset_of:`` block: the task is a small subset of a public dataset, comparable to an mteb task."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embbench.errors import UserError

SUBSET_KEYS = ("full_size", "mteb_task", "dataset", "revision", "note")
DATASET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
REVISION_RE = re.compile(r"^[0-9a-f]{40}$")
MTEB_TASK_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
HUB_DATASETS = "https://huggingface.co/datasets/"


@dataclass(frozen=True)
class SubsetOf:
    """How a task relates to the public data: the size of the source split it was drawn from, and the comparable
    public mteb task (its name and Hugging Face dataset at a revision) when there is one."""

    full_size: int  # items (texts, pairs or queries, as the task counts them) in the source split
    mteb_task: str | None = None
    dataset: str | None = None  # a Hugging Face dataset id, e.g. mteb/TERRa
    revision: str | None = None  # its commit (40 hex), as mteb's task metadata pins it
    note: str = ""  # how the two relate (same source, other split, ...)

    @property
    def url(self) -> str | None:
        """The dataset's page on the Hugging Face hub (the id is validated, so the link is safe)."""
        return f"{HUB_DATASETS}{self.dataset}" if self.dataset else None

    def as_dict(self) -> dict[str, Any]:
        """The result record's ``task_info.subset_of``."""
        out: dict[str, Any] = {"full_size": self.full_size}
        if self.mteb_task:
            out.update(mteb_task=self.mteb_task, dataset=self.dataset, revision=self.revision, url=self.url)
        if self.note:
            out["note"] = self.note
        return out


def parse_subset_of(raw: Any, path: Path) -> SubsetOf | None:
    """Validate ``subset_of:`` (absent: None); every mistake is one UserError naming the field."""
    if raw is None:
        return None
    example = "{full_size: 2000, mteb_task: TERRa, dataset: mteb/TERRa, revision: <40 hex>}"
    if not isinstance(raw, dict):
        raise UserError(path, f"expected a mapping, got {raw!r}", field="subset_of", fix=f"give {example}")
    extra = sorted(set(raw) - set(SUBSET_KEYS))
    if extra:
        raise UserError(
            path, f"unknown key '{extra[0]}' in subset_of", field=f"subset_of.{extra[0]}", fix=f"use {example}"
        )
    size = raw.get("full_size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise UserError(
            path,
            f"expected a positive whole number, got {size!r}",
            field="subset_of.full_size",
            fix="give the number of items in the public split the subset was drawn from",
        )
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise UserError(path, f"expected text, got {note!r}", field="subset_of.note", fix="quote the note")
    task = raw.get("mteb_task")
    if task is None:
        for key in ("dataset", "revision"):
            if key in raw:
                raise UserError(path, "names no mteb task", field=f"subset_of.{key}", fix="add subset_of.mteb_task")
        return SubsetOf(full_size=size, note=note)
    checks = (
        ("mteb_task", MTEB_TASK_RE, "the mteb task name, e.g. TERRa (mteb.get_task(name))"),
        ("dataset", DATASET_RE, "the Hugging Face dataset id, e.g. mteb/TERRa (mteb's task metadata `dataset.path`)"),
        ("revision", REVISION_RE, "the dataset commit, 40 hex digits (mteb's task metadata `dataset.revision`)"),
    )
    for key, pattern, fix in checks:
        value = raw.get(key)
        if not isinstance(value, str) or not pattern.match(value):
            problem = "missing" if value is None else f"{value!r} is not valid"
            raise UserError(path, problem, field=f"subset_of.{key}", fix=f"give {fix}")
    return SubsetOf(full_size=size, mteb_task=task, dataset=raw["dataset"], revision=raw["revision"], note=note)
