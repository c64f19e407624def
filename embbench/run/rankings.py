"""Stored rankings: each query's top documents and scores of a (model, task), in <output>/rankings/<model>/<task>."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from embbench._io import atomic_write
from embbench.categories.retrieval import Run, ranked
from embbench.errors import UserError
from embbench.results import result_path

CATEGORIES = ("retrieval", "reranking")  # the categories whose results come with a stored ranking


def ranking_path(output: Path, model: str, task: str) -> Path:
    """<output>/rankings/<model>/<task>.jsonl.gz (names were checked to be safe file names)."""
    return output / "rankings" / model / f"{task}.jsonl.gz"


Keep = Callable[[Run], Any]  # where the runner sends a model's ranking (write_ranking bound to output/model/task)


def take_run(items: dict[str, Any] | None) -> Run | None:
    """Remove and return the run a retrieval or reranking evaluation left in its per-item detail (None: none)."""
    return None if not items else items.pop("run", None)


def keep_ranking(items: dict[str, Any] | None, keep: Keep | None) -> None:
    """Take the run out of an evaluation's per-item detail and hand it to keep (when there is one of each)."""
    run = take_run(items)
    if run is not None and keep is not None:
        keep(run)


def write_ranking(output: Path, model: str, task: str, run: Run) -> Path:
    """One JSON line per query, {"query_id", "doc_ids", "scores"} best first, gzipped (no timestamp inside, so the
    same ranking gives the same bytes), written atomically."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        for qid, docs in run.items():
            best = ranked(docs)
            line = {"query_id": qid, "doc_ids": [d for d, _ in best], "scores": [s for _, s in best]}
            gz.write((json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8"))
    path = ranking_path(output, model, task)

    def write(fh: IO[bytes]) -> None:
        fh.write(buf.getvalue())

    try:
        atomic_write(path, write)
    except OSError as exc:
        raise UserError(
            path, f"cannot write ({exc.strerror or exc})", fix="free disk space or make it writable"
        ) from None
    return path


def read_ranking(path: Path) -> Run:
    """The run stored at path (query id -> {document id: score}); an unreadable file is a one-line UserError."""
    run: Run = {}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                run[str(row["query_id"])] = dict(zip(row["doc_ids"], map(float, row["scores"]), strict=True))
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise UserError(path, f"unreadable ranking ({exc})", fix="delete it and re-run that model") from None
    return run


def lacks_ranking(output: Path, model: str, task: str, category: str) -> bool:
    """A scored retrieval or reranking result whose stored ranking is missing (written before rankings were
    stored): it is recomputed, so later pipeline stages can read it."""
    if category not in CATEGORIES or ranking_path(output, model, task).is_file():
        return False
    try:
        return bool(json.loads(result_path(output, model, task).read_text(encoding="utf-8"))["applicable"])
    except (OSError, ValueError, KeyError, TypeError):
        return True
