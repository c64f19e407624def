"""Reading task data files (JSON Lines, gzipped JSON Lines, CSV, Parquet) with checks naming file, row and column."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from embbench.errors import UserError

FORMATS = (".jsonl", ".jsonl.gz", ".csv", ".parquet")


class MissingDataFile(UserError):
    """A split file is absent; the runner re-raises it against the task file's 'data' field."""

    def __init__(self, folder: Path, split: str):
        self.folder, self.split = folder, split
        super().__init__(
            folder / f"{split}.jsonl",
            "data file not found",
            fix=f"add {split}.jsonl (or {split}.jsonl.gz / {split}.csv / {split}.parquet) to {folder}",
        )


def find_split_file(folder: Path, split: str) -> Path:
    """The file holding one split: <split>.jsonl, .csv or .parquet."""
    for ext in FORMATS:
        p = folder / f"{split}{ext}"
        if p.is_file():
            return p
    raise MissingDataFile(folder, split)


def read_records(path: Path) -> list[dict[str, Any]]:
    """All rows of a .jsonl / .csv / .parquet file as dicts; a file that is not UTF-8, a CSV the csv module
    rejects or an unreadable Parquet file is a one-line UserError."""
    try:
        return _read_records(path)
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start : exc.start + 1].hex()
        raise UserError(path, f"not UTF-8 text (invalid byte 0x{bad})", fix="save the file as UTF-8") from None
    except csv.Error as exc:
        raise UserError(path, f"malformed CSV ({exc})", fix="check the quoting of that file") from None
    except (gzip.BadGzipFile, EOFError) as exc:
        raise UserError(path, f"not a complete gzip file ({exc})", fix="re-compress it with gzip") from None


def _open_text(path: Path) -> Any:
    """A UTF-8 text handle on a .jsonl or .jsonl.gz file (a leading BOM skipped, line ends as written)."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _read_records(path: Path) -> list[dict[str, Any]]:
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        rows = []
        with _open_text(path) as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserError(
                        f"{path}:{lineno}", f"invalid JSON ({exc.msg})", fix="one JSON object per line"
                    ) from None
                if not isinstance(row, dict):
                    raise UserError(
                        f"{path}:{lineno}", "each line must be a JSON object", fix='write {"key": value} rows'
                    )
                rows.append(row)
        return rows
    if path.suffix == ".csv":
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long documents are fine (the default limit is 128 KiB)
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return [dict(r) for r in csv.DictReader(fh)]
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise UserError(path, "reading Parquet needs pyarrow", fix="pip install 'embbench[parquet]'") from None
        try:
            return pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow.ArrowInvalid and friends: a truncated or foreign file
            raise UserError(path, f"unreadable Parquet file ({exc})", fix="re-export the file") from None
    raise UserError(path, f"unsupported file type {''.join(path.suffixes)}", fix=f"use one of {', '.join(FORMATS)}")


def read_split(
    folder: Path, split: str, columns: Mapping[str, Callable[[Any], Any]]
) -> tuple[Path, list[dict[str, Any]]]:
    """Read a split and convert each required column with its checker; errors name file, row and column."""
    path = find_split_file(folder, split)
    rows = read_records(path)
    if not rows:
        raise UserError(path, "the file has no rows", fix="add data or remove the task")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise UserError(
            path,
            f"missing column '{missing[0]}' (found: {', '.join(map(str, rows[0]))})",
            field=missing[0],
            fix=f"the file needs the columns {', '.join(columns)}",
        )
    out = []
    for i, row in enumerate(rows):
        item = {}
        for col, check in columns.items():
            if col not in row:
                raise UserError(f"{path} row {i + 1}", f"missing column '{col}'", field=col)
            try:
                item[col] = check(row[col])
            except ValueError as exc:
                raise UserError(f"{path} row {i + 1}", str(exc), field=col) from None
        out.append(item)
    return path, out


def text(value: Any) -> str:
    """A non-empty text."""
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__} {value!r:.40}")
    if not value.strip():
        raise ValueError("empty or whitespace-only text (remove the row or fill in the text)")
    return value


def label(value: Any) -> str:
    """A single class label (string or integer), kept as a string."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        kind = "a list" if isinstance(value, list) else type(value).__name__
        raise ValueError(f"expected one class label (text or integer), got {kind} {value!r:.40}")
    value = str(value).strip()
    if not value:
        raise ValueError("empty label")
    return value


def label_list(value: Any) -> list[str]:
    """A list of class labels (possibly empty); a JSON string holding a list is accepted (CSV)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"expected a list of labels, got text {value!r:.40}") from None
    if not isinstance(value, list):
        raise ValueError(f"expected a list of labels, got {type(value).__name__} {value!r:.40}")
    return [label(v) for v in value]


def binary(value: Any) -> int:
    """A 0/1 label (also '0'/'1' text from CSV)."""
    if isinstance(value, str) and value.strip() in {"0", "1"}:
        return int(value)
    if isinstance(value, bool) or value not in (0, 1):
        raise ValueError(f"expected label 0 or 1, got {value!r:.40}")
    return int(value)


def number(value: Any) -> float:
    """A finite number (also numeric text from CSV)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"expected a number, got text {value!r:.40}") from None
    if not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite number, got {value!r:.40}")
    return float(value)


def text_list(value: Any) -> list[str]:
    """A list of non-empty texts."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"expected a list of texts, got text {value!r:.40}") from None
    if not isinstance(value, list):
        raise ValueError(f"expected a list of texts, got {type(value).__name__}")
    return [text(v) for v in value]


def fingerprint(paths: Iterable[Path]) -> str:
    """sha256 over the bytes of the data files (order-independent of the iteration order)."""
    h = hashlib.sha256()
    for p in sorted(Path(p) for p in paths):
        h.update(p.name.encode())
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ BEIR layout


def read_id_texts(path: Path, with_title: bool) -> dict[str, str]:
    """A BEIR corpus or queries file as id -> text (a document: mteb's (title + " " + text).strip())."""
    rows = read_records(path)
    out: dict[str, str] = {}
    for i, row in enumerate(rows):
        where = f"{path} row {i + 1}"
        rid = row.get("_id", row.get("id"))
        if rid is None or (isinstance(rid, str) and not rid.strip()):
            raise UserError(where, "missing id", field="_id", fix="give every row a unique '_id'")
        rid = str(rid)
        if rid in out:
            raise UserError(where, f"duplicate id '{rid}'", field="_id", fix="ids must be unique")
        if "text" not in row:
            raise UserError(where, "missing column 'text'", field="text")
        try:
            body = text(row["text"]) if not with_title else row["text"]
        except ValueError as exc:
            raise UserError(where, str(exc), field="text") from None
        if with_title:
            title = row.get("title") or ""
            if not isinstance(body, str) or not isinstance(title, str):
                raise UserError(where, "title and text must be text", field="text")
            body = f"{title} {body}".strip() if title else body.strip()  # mteb: (title + " " + text).strip()
            if not body.strip():
                raise UserError(where, "empty document (no title and no text)", field="text")
        out[rid] = body
    if not out:
        raise UserError(path, "the file has no rows")
    return out


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels TSV: header query-id, corpus-id, score."""
    if not path.is_file():
        raise UserError(path, "qrels file not found", fix="add qrels/<split>.tsv (query-id<TAB>corpus-id<TAB>score)")
    qrels: defaultdict[str, dict[str, int]] = defaultdict(dict)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start : exc.start + 1].hex()
        raise UserError(path, f"not UTF-8 text (invalid byte 0x{bad})", fix="save the file as UTF-8") from None
    start = 1 if lines and not lines[0].split("\t")[-1].strip().lstrip("-").isdigit() else 0
    for lineno, line in enumerate(lines[start:], start + 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise UserError(
                f"{path}:{lineno}",
                f"expected 3 tab-separated columns, got {len(parts)}",
                fix="query-id<TAB>corpus-id<TAB>score",
            )
        try:
            score = int(parts[2])
        except ValueError:
            raise UserError(f"{path}:{lineno}", f"score {parts[2]!r} is not an integer", field="score") from None
        qrels[parts[0]][parts[1]] = score
    return dict(qrels)
