"""The seven task categories; each is a module of pure functions: load(task) and evaluate(data, embed, params)."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from embbench.spec.config import CATEGORIES

NAMES = CATEGORIES  # the one list of category names lives in config


def get(category: str) -> ModuleType:
    """The module implementing a category (imported lazily)."""
    if category not in NAMES:
        raise KeyError(category)
    return import_module(f"{__name__}.{category}")
