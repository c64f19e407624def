"""The category registry: the seven ruMTEB categories, their display labels, and the module implementing each.

Each category is one module of pure functions over plain inputs (``evaluate(data, embed, params)`` returning a flat
dict of metrics), imported lazily by ``get``. This registry imports nothing from embbench, so every layer may use it.

To add a category:
  1. write ``categories/<name>.py`` with ``Data``, ``DEFAULTS``, ``MAIN_METRIC`` and ``evaluate`` (copy ``sts.py``);
  2. add its name to ``NAMES`` and its mteb TaskType to ``LABELS`` below;
  3. add task files (YAML) that use it, and a hand-computed test in the category tests.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

NAMES = (
    "classification",
    "multilabel_classification",
    "clustering",
    "pair_classification",
    "retrieval",
    "reranking",
    "sts",
)
# our category name -> mteb's TaskType name: the report's labels, and the spelling prompt tables may use
LABELS = {
    "classification": "Classification",
    "multilabel_classification": "MultilabelClassification",
    "clustering": "Clustering",
    "pair_classification": "PairClassification",
    "retrieval": "Retrieval",
    "reranking": "Reranking",
    "sts": "STS",
}


def get(category: str) -> ModuleType:
    """The module implementing a category (imported lazily)."""
    if category not in NAMES:
        raise KeyError(category)
    return import_module(f"{__name__}.{category}")
