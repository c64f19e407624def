"""Prompt resolution with mteb's precedence: task+role > task > category+role > category > role."""

from __future__ import annotations

from collections.abc import Mapping

from embbench.categories import LABELS
from embbench.categories._common import Role

MTEB_TYPE = LABELS  # our category name -> mteb's TaskType name (prompt tables may use either spelling)


def candidate_keys(task_name: str, category: str, role: Role) -> list[str]:
    """Prompt-table keys to try, most specific first (mirrors mteb's AbsEncoder.get_prompt_name)."""
    types = [category, MTEB_TYPE.get(category, category)]
    keys: list[str] = []
    if role:
        keys.append(f"{task_name}-{role}")
    keys.append(task_name)
    if role:
        keys.extend(f"{t}-{role}" for t in types)
    keys.extend(types)
    if role:
        keys.append(role)
    return list(dict.fromkeys(keys))  # first occurrences, in order


def resolve_prompt(table: Mapping[str, str] | None, task_name: str, category: str, role: Role) -> str | None:
    """The prompt string for this (task, category, role), or None when the table has no matching key."""
    if not table:
        return None
    for key in candidate_keys(task_name, category, role):
        if key in table:
            return table[key]
    return None
