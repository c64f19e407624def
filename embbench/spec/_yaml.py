"""YAML reading and the field checks shared by task files and models.yaml (each error names file, field, fix)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from embbench.errors import UserError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def read_yaml(path: Path) -> Any:
    """Parse a YAML file safely; a syntax error becomes a one-line UserError."""
    if not path.is_file():
        raise UserError(path, "file not found", fix="check the path")
    try:
        with path.open(encoding="utf-8-sig") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise UserError(where, f"malformed YAML ({problem})", fix="correct the YAML syntax") from None
    except UnicodeDecodeError:
        raise UserError(path, "not UTF-8 text", fix="save the file as UTF-8") from None


def check_name(value: Any, where: Path | str, field_name: str = "name") -> str:
    """Names become file names: letters, digits, '.', '_' and '-' only."""
    if not isinstance(value, str) or not value:
        raise UserError(where, "missing or empty", field=field_name, fix="give a short name")
    if not NAME_RE.match(value) or value in {".", ".."}:
        raise UserError(
            where,
            f"'{value}' is not a safe name",
            field=field_name,
            fix="use only letters, digits, '.', '_' and '-' (it becomes a file name)",
        )
    return value


def unknown_keys(keys: set[str], allowed: set[str], where: Path | str, what: str) -> None:
    """A key the format does not have is an error (a typo would otherwise be ignored)."""
    extra = sorted(keys - allowed)
    if extra:
        raise UserError(
            where,
            f"unknown key '{extra[0]}' in {what}",
            field=extra[0],
            fix=f"remove it or use one of: {', '.join(sorted(allowed))}",
        )


def typed(value: Any, kind: type | tuple[type, ...], where: Path | str, field_name: str, hint: str) -> Any:
    """The value if it has the expected type (a bool is not a number); else a UserError naming the field."""
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise UserError(where, f"expected {hint}, got {value!r}", field=field_name, fix=f"give {hint}")
    if not isinstance(value, kind):
        got = f"{type(value).__name__} {value!r}"
        raise UserError(where, f"expected {hint}, got {got}", field=field_name, fix=f"give {hint}")
    return value


def check_unique(names: list[tuple[str, Path | str]], what: str, field_name: str = "name") -> None:
    """No two names alike, ignoring case: they become file names, and 'terra' and 'TERRa' would share one file on a
    case-insensitive file system (macOS, Windows)."""
    seen: dict[str, tuple[str, Path | str]] = {}
    for name, where in names:
        key = name.casefold()
        if key in seen:
            other, other_where = seen[key]
            same = "is also used" if other == name else f"differs only in case from '{other}', used"
            raise UserError(
                where,
                f"{what} name '{name}' {same} by {other_where}",
                field=field_name,
                fix=f"give each {what} a unique name (case is ignored: names become file names)",
            )
        seen[key] = (name, where)
