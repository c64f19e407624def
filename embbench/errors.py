"""User-facing errors: one line that names the file, the field, the problem and the fix."""

from __future__ import annotations

from pathlib import Path

# every character str.splitlines() breaks at, written escaped: a message quoting user data stays one line
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


class UserError(Exception):
    """A mistake in the user's input; printed as one line, exit code 2, never a traceback."""

    exit_code = 2

    def __init__(self, where: str | Path, problem: str, *, field: str | None = None, fix: str | None = None):
        self.where = str(where)
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [self.where]
        if self.field:
            parts.append(f"field '{self.field}'")
        text = ": ".join(parts) + f": {self.problem}"
        if self.fix:
            text += f" (fix: {self.fix})"
        return text.translate(_LINE_BREAKS)


class ModelLoadError(Exception):
    """A model was found but could not be loaded (broken folder, unsupported architecture)."""


class ModelUnavailable(Exception):
    """A model could not be loaded (no network, unknown hub id, missing folder)."""


def missing_extra(package: str, extra: str) -> UserError:
    """The error for an optional dependency that is not installed."""
    return UserError(
        package,
        f"the optional package '{package}' is not installed",
        fix=f"pip install 'embbench[{extra}]'",
    )
