"""`embbench init [DIR]`: a commented models.yaml and example tasks of each kind a team writes, copied from
the package's templates (embbench/resources/init)."""

from __future__ import annotations

import shutil
from pathlib import Path

from embbench.errors import UserError
from embbench.resources import resource_path


def write_scaffold(folder: Path) -> tuple[list[Path], list[Path]]:
    """Copy models.yaml and tasks/ into folder; files already there are kept. Returns (written, kept)."""
    template = resource_path("init")
    if folder.exists() and not folder.is_dir():
        raise UserError(folder, "exists and is not a folder", fix="give a folder for embbench init")
    written: list[Path] = []
    kept: list[Path] = []
    for src in sorted(p for p in template.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        dst = folder / src.relative_to(template)
        if dst.exists():
            kept.append(dst)
            continue
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        except OSError as exc:
            raise UserError(dst, f"cannot write ({exc.strerror or exc})", fix="choose a writable folder") from None
        written.append(dst)
    return written, kept
