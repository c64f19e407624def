"""Package data shipped in the wheel: the built-in task suites and their data, published reference scores."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """A file or folder of embbench/resources as a filesystem path (pip installs wheels unpacked, so the
    importlib.resources Traversable is a real folder; a zipped install is refused with the reason)."""
    node = resources.files(__name__).joinpath(*parts)
    path = Path(str(node))
    if not isinstance(node, Path) and not path.exists():
        raise RuntimeError(f"embbench's package data is not on the filesystem ({node}); install embbench unzipped")
    return path


def tasks_root() -> Path:
    """The built-in task suites: <suite>/suite.yaml, the demo task files and data/."""
    return resource_path("tasks")


def data_root() -> Path:
    """The built-in suites' data folders (the speed probe's sample texts come from here too)."""
    return resource_path("tasks", "data")
