"""The category registry: the seven ruMTEB categories, their display labels, and the module implementing each.

Each category is one module of pure functions over plain inputs, imported lazily by ``get``: a frozen ``Data``;
``to_data(columns, where)``, the one place its Data is built from neutral ``_common.Columns`` (the data layer reads
them from local files or converts them from the hub); ``DEFAULTS`` (protocol parameters); ``METRICS`` (the names
``evaluate`` returns, which a task's ``main_metric`` is checked against); ``MAIN_METRIC``; ``VERSION`` (hashed into
each result's request key: bump it when DEFAULTS or the scoring change, so stored results are recomputed); and
``evaluate`` / ``evaluate_items`` (+ ``evaluate_ranking_items`` where a ranking baseline applies). This registry
imports nothing from embbench, and categories import nothing from spec or data, so every layer may use them.

To add a category:
  1. write ``categories/<name>.py`` with the names above (copy ``sts.py``);
  2. add its name to ``NAMES`` and its mteb TaskType to ``LABELS`` below, and its local files' columns to
     ``data/local.py`` (and its hub conversion to ``data/hub.py`` if mteb has such tasks);
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
