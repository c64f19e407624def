"""Paths written into result files, made portable: no absolute path of the machine that ran the benchmark."""

from __future__ import annotations

import site
import sys
import sysconfig
from pathlib import Path

from embbench.resources import resource_path


def _roots(base: Path | None) -> list[tuple[Path, str]]:
    """(folder, how it is written) from the most specific: the package's own data, site-packages, the project
    folder (base: the output's parent), the user's home."""
    roots = [(resource_path(), "<embbench>")]
    packages = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    packages |= {p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")}  # e.g. added by a .pth
    roots += [(Path(p).resolve(), "<site-packages>") for p in sorted(packages)]
    if base is not None:
        roots.append((base.resolve(), "."))
    roots.append((Path.home().resolve(), "~"))
    return roots


def portable(path: str | Path, base: Path | None = None) -> str:
    """'<embbench>/tasks/terra.yaml', '<site-packages>/pkg/model', 'tasks/x.yaml' (relative to base), '~/x';
    else only the file or folder name. Anything that is not a local absolute path (hub ids, hf://...) is kept."""
    text = str(path)
    p = Path(text).expanduser()
    if "://" in text or not p.is_absolute():
        return text
    p = p.resolve()
    for root, label in _roots(base):
        if p == root or root in p.parents:
            rel = p.relative_to(root).as_posix()
            if label == ".":
                return rel or "."
            return f"{label}/{rel}" if rel != "." else label
    return p.name
