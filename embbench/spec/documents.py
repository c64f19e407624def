"""The `documents:` task source (your own documents): task-file keys, the questions table and their checks."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from embbench.errors import UserError, missing_extra

# task-file keys of a documents task (config.TASK_KEYS takes them in)
DOCUMENT_KEYS = frozenset({"documents", "questions", "chunking", "sizes", "max_unmatched"})
SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
UNITS = ("chars", "words")
DEFAULT_SIZE = 1000
DEFAULT_OVERLAP = 0.1  # of the size, when the task file gives none
DEFAULT_MAX_UNMATCHED = 0.05
# header names accepted for each column (case-insensitive); Russian spreadsheets often say вопрос / ответ
COLUMNS = {
    "question": ("question", "вопрос"),
    "answer": ("answer", "ответ"),
    "document": ("document", "документ", "file", "файл"),
}
# legacy encodings tried when a file is not UTF-8: the Russian ones first, then Western (charset-normalizer decides)
LEGACY_ENCODINGS = ["cp1251", "koi8_r", "cp866", "mac_cyrillic", "iso8859_5", "cp1252"]
WORD_RE = re.compile(r"\S+")
# `embbench questions` writes its generated_by record next to the questions file: questions.csv ->
# questions.generated_by.json; a task whose questions file has one records it (task_info.documents.generated_by)
GENERATED_BY_SUFFIX = ".generated_by.json"
UNKNOWN_ENCODING = "unknown text encoding"


@dataclass(frozen=True)
class Question:
    """One row of the questions file."""

    row: int  # the row number a spreadsheet shows (the header is row 1)
    question: str
    answer: str
    document: str | None  # the file holding the answer, relative to the documents folder; None: any

    @property
    def qid(self) -> str:
        return f"q{self.row}"


@dataclass(frozen=True)
class Chunking:
    """How documents are cut: at most `size` units per chunk, `overlap` units shared by neighbours."""

    size: int
    overlap: int
    unit: str = "chars"


@dataclass(frozen=True)
class Built:
    """What building the BEIR folder found (set at run time by data/documents/build.py)."""

    folder: Path
    documents: int
    chunks: int
    questions: int
    unmatched: int
    skipped: tuple[tuple[str, str], ...] = ()  # (file, reason): files that could not be read


@dataclass(frozen=True)
class DocumentsSource:
    """A folder of documents and a questions table, turned into a retrieval task per chunking at run time."""

    folder: Path
    questions_file: Path
    questions: tuple[Question, ...]
    chunkings: tuple[Chunking, ...]  # one per size; several make a sweep
    sweep: bool = False  # `sizes:` was given: one task per size, named <task>@<size>
    max_unmatched: float = DEFAULT_MAX_UNMATCHED
    build_name: str | None = None  # <task>@<size>: the folder under <output>/documents (set by expand_sweep)
    built: Built | None = None
    generated_by: dict[str, Any] | None = None  # the questions were generated (embbench questions): its record

    @property
    def uri(self) -> str:
        return str(self.folder)

    @property
    def chunking(self) -> Chunking:
        return self.chunkings[0]

    def task_info(self) -> dict[str, Any]:
        """The `documents` entry of a result's task_info: chunking and what the build found."""
        c = self.chunking
        info: dict[str, Any] = {"size": c.size, "overlap": c.overlap, "unit": c.unit}
        info.update(documents_folder=str(self.folder), questions_file=str(self.questions_file))
        if self.generated_by is not None:
            info["generated_by"] = self.generated_by
        if self.built is not None:
            b = self.built
            info.update(
                folder=str(b.folder),
                documents=b.documents,
                chunks=b.chunks,
                questions=b.questions,
                unmatched=b.unmatched,
                skipped=[list(s) for s in b.skipped],
            )
        return info


def measure(text: str, unit: str) -> int:
    """The length of a text in a chunking unit: characters, or whitespace-separated words."""
    return len(text) if unit == "chars" else len(WORD_RE.findall(text))


def decode_bytes(data: bytes, where: Path) -> str:
    """Text from bytes: UTF-8 (a BOM skipped), else the legacy encoding charset-normalizer finds; NFC-normalised."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                import charset_normalizer
            except ImportError:
                raise missing_extra("charset-normalizer", "documents") from None
            best = charset_normalizer.from_bytes(data, cp_isolation=LEGACY_ENCODINGS).best()
            if best is None:
                raise UserError(where, UNKNOWN_ENCODING, fix="save the file as UTF-8") from None
            text = str(best)
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def parse_documents(raw: dict[str, Any], path: Path, category: str) -> DocumentsSource:
    """The documents source of a task file (keys in DOCUMENT_KEYS), its questions read and checked."""
    if category != "retrieval":
        raise UserError(path, "a documents task is a retrieval task", field="category", fix="use category: retrieval")
    for other in ("data", "hub"):
        if other in raw:
            raise UserError(path, f"give either 'documents' or '{other}', not both", field=other)
    if "eval_split" in raw or "train_split" in raw:
        raise UserError(path, "not used by a documents task (its qrels are built as 'test')", field="eval_split")
    folder = _folder(raw, path)
    files = list_documents(folder)
    questions_file = _questions_file(raw, path)
    chunkings, sweep = _chunkings(raw, path)
    max_unmatched = raw.get("max_unmatched", DEFAULT_MAX_UNMATCHED)
    if isinstance(max_unmatched, bool) or not isinstance(max_unmatched, (int, float)) or not 0 <= max_unmatched <= 1:
        raise UserError(path, f"expected a share from 0 to 1, got {max_unmatched!r}", field="max_unmatched")
    questions = read_questions(questions_file, folder, files)
    unit = chunkings[0].unit  # one unit for every size
    q = max(questions, key=lambda q: measure(q.answer, unit))
    n = measure(q.answer, unit)
    for c in chunkings:
        if c.size < n:
            raise UserError(
                path,
                f"chunk size {c.size} {c.unit} is smaller than the longest answer ({n} {c.unit}, "
                f"{questions_file} row {q.row})",
                field="chunking",
                fix=f"use a size of at least {n} {c.unit}, or shorten that answer",
            )
    return DocumentsSource(
        folder,
        questions_file,
        tuple(questions),
        chunkings,
        sweep,
        float(max_unmatched),
        generated_by=read_generated_by(questions_file),
    )


def generated_by_path(questions_file: Path) -> Path:
    """Where `embbench questions` keeps the record of a questions file it wrote."""
    return questions_file.with_name(questions_file.stem + GENERATED_BY_SUFFIX)


def read_generated_by(questions_file: Path) -> dict[str, Any] | None:
    """The generated_by record next to a questions file; None when it has none (written by people) or it is
    unreadable (the record is provenance only: it never fails a task)."""
    path = generated_by_path(questions_file)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))["generated_by"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if isinstance(record, dict) else None


def _folder(raw: dict[str, Any], path: Path) -> Path:
    value = raw.get("documents")
    if not isinstance(value, str) or not value:
        raise UserError(path, "missing", field="documents", fix="give the documents folder (relative to this file)")
    folder = (path.parent / value).resolve()
    if not folder.is_dir():
        raise UserError(path, f"documents folder {folder} does not exist", field="documents", fix="correct the path")
    return folder


def _questions_file(raw: dict[str, Any], path: Path) -> Path:
    value = raw.get("questions")
    if not isinstance(value, str) or not value:
        raise UserError(path, "missing", field="questions", fix="give the questions file, e.g. questions.csv")
    file = (path.parent / value).resolve()
    if not file.is_file():
        raise UserError(path, f"questions file {file} does not exist", field="questions", fix="correct the path")
    if file.suffix.lower() not in (".csv", ".tsv", ".xlsx"):
        raise UserError(path, f"unsupported questions file {file.name}", field="questions", fix="use .csv or .xlsx")
    return file


def _int(value: Any, path: Path, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(path, f"expected an integer >= {minimum}, got {value!r}", field=field)
    return value


def _chunkings(raw: dict[str, Any], path: Path) -> tuple[tuple[Chunking, ...], bool]:
    """`chunking: {size | sizes, overlap, unit}` (or a top-level `sizes:`); the default is 1000 chars, 10% overlap."""
    spec = raw.get("chunking") or {}
    if not isinstance(spec, dict):
        raise UserError(path, f"expected a mapping, got {spec!r}", field="chunking", fix="e.g. {size: 1000}")
    extra = sorted(set(spec) - {"size", "sizes", "overlap", "unit"})
    if extra:
        raise UserError(path, f"unknown key '{extra[0]}'", field="chunking", fix="use size or sizes, overlap, unit")
    given = [k for k in ("size", "sizes") if k in spec] + (["sizes"] if "sizes" in raw else [])
    if len(given) > 1:
        raise UserError(path, "give one of chunking.size, chunking.sizes or sizes", field="chunking")
    sweep = bool(given) and given[0] == "sizes"
    sizes = raw["sizes"] if "sizes" in raw else spec.get("sizes", [spec.get("size", DEFAULT_SIZE)])
    if not isinstance(sizes, list) or not sizes or len(set(map(str, sizes))) != len(sizes):
        raise UserError(path, f"expected a list of distinct sizes, got {sizes!r}", field="sizes", fix="[500, 1000]")
    unit = spec.get("unit", "chars")
    if unit not in UNITS:
        raise UserError(path, f"unknown unit {unit!r}", field="chunking.unit", fix="use chars or words")
    out = []
    for value in sizes:
        size = _int(value, path, "chunking.size", 1)
        overlap = spec.get("overlap", int(size * DEFAULT_OVERLAP))
        overlap = _int(overlap, path, "chunking.overlap", 0)
        if overlap >= size:
            raise UserError(
                path,
                f"overlap {overlap} >= size {size}",
                field="chunking.overlap",
                fix="make the overlap smaller than the chunk size",
            )
        out.append(Chunking(size, overlap, unit))
    return tuple(out), sweep


def list_documents(folder: Path) -> list[str]:
    """Every file under folder (recursive; hidden files and folders left out), as sorted paths relative to it."""
    files = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise UserError(folder, "the documents folder has no files", field="documents", fix="add documents")
    if not any(f.lower().endswith(SUPPORTED) for f in files):
        raise UserError(
            folder,
            f"none of its {len(files)} files is a supported document",
            field="documents",
            fix=f"add {', '.join(SUPPORTED)} files",
        )
    return files


def _table(path: Path) -> list[list[str]]:
    """The rows of a CSV/TSV (delimiter and encoding detected) or of an XLSX file's first sheet, as text cells."""
    if path.suffix.lower() == ".xlsx":
        try:
            import openpyxl
        except ImportError:
            raise missing_extra("openpyxl", "documents") from None
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # a zip that is not a workbook, a password-protected file...
            raise UserError(path, f"unreadable spreadsheet ({exc})", fix="re-save it as .xlsx or .csv") from None
        rows = [["" if v is None else str(v) for v in r] for r in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
        return rows
    text = decode_bytes(path.read_bytes(), path)
    first = text.split("\n", 1)[0]
    delimiter = ","
    for d in (",", ";", "\t"):  # Excel in a Russian locale writes ';'
        if {"question", "answer"} <= {_column(h) for h in next(csv.reader([first], delimiter=d), [])}:
            delimiter = d
            break
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise UserError(path, f"malformed CSV ({exc})", fix="check the quoting of that file") from None


def _column(header: str) -> str | None:
    name = header.strip().lower()
    return next((col for col, names in COLUMNS.items() if name in names), None)


def read_questions(path: Path, folder: Path, files: list[str]) -> list[Question]:
    """The questions table's rows (blank rows skipped); a missing column, an empty question or answer, or a
    `document` naming no file is a one-line UserError naming the file and the row."""
    rows = _table(path)
    header = [_column(h) for h in rows[0]] if rows else []
    for col in ("question", "answer"):
        if col not in header:
            found = ", ".join(rows[0]) if rows else "nothing"
            raise UserError(
                path,
                f"missing column '{col}' (found: {found})",
                field=col,
                fix="the file needs the columns question, answer (document optional)",
            )
    by_name: dict[str, list[str]] = {}
    for f in files:
        by_name.setdefault(f.rsplit("/", 1)[-1], []).append(f)
    out = []
    for i, row in enumerate(rows[1:], 2):
        cells = {
            col: unicodedata.normalize("NFC", v).strip() for col, v in zip(header, row, strict=False) if col is not None
        }
        if not any(cells.values()):
            continue
        for col, fix in (("question", "fill in the question"), ("answer", "quote the passage that answers it")):
            if not cells.get(col):
                raise UserError(f"{path} row {i}", f"empty {col}", field=col, fix=f"{fix}, or remove the row")
        document = _document(cells.get("document") or None, files, by_name, f"{path} row {i}", folder)
        out.append(Question(i, cells["question"], cells["answer"], document))
    if not out:
        raise UserError(path, "the questions file has no rows", fix="add questions")
    return out


def _document(
    value: str | None, files: list[str], by_name: dict[str, list[str]], where: str, folder: Path
) -> str | None:
    """A `document` cell as a path relative to the folder: the path itself, or a file name that is unique."""
    if value is None:
        return None
    rel = value.replace("\\", "/")
    rel = rel[2:] if rel.startswith("./") else rel
    if rel in files:
        return rel
    matches = by_name.get(rel, [])
    if len(matches) == 1:
        return matches[0]
    problem = f"document '{value}' names no file in {folder}"
    if matches:
        problem = f"document '{value}' matches {len(matches)} files ({', '.join(matches[:3])})"
    raise UserError(where, problem, field="document", fix="give the file's path relative to the documents folder")


def expand_sweep(task: Any) -> list[Any]:
    """One task per chunk size: a sweep's task is named <task>@<size>; a single size keeps its name."""
    src = task.source
    if not isinstance(src, DocumentsSource) or src.build_name is not None:
        return [task]
    return [
        replace(
            task,
            name=f"{task.name}@{c.size}" if src.sweep else task.name,
            source=replace(src, chunkings=(c,), sweep=False, build_name=f"{task.name}@{c.size}"),
        )
        for c in src.chunkings
    ]
