"""Text from a folder of documents: .txt/.md as text, HTML main text (trafilatura), PDF (pypdf), .docx (python-docx).

Every text is decoded (UTF-8, else the legacy Russian encoding charset-normalizer detects: cp1251, koi8-r, ...),
NFC-normalised, with line ends as '\\n' and paragraphs separated by a blank line. A file that cannot be read is
reported as a Skipped entry (one line naming it and why) and the rest goes on without it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embbench.errors import UserError, missing_extra
from embbench.spec.documents import SUPPORTED, UNKNOWN_ENCODING, decode_bytes


@dataclass(frozen=True)
class Document:
    """One readable document: its path relative to the documents folder and its text."""

    path: str
    text: str


@dataclass(frozen=True)
class Skipped:
    """A file left out, and why."""

    path: str
    reason: str

    def line(self) -> str:
        return f"{self.path}: skipped: {self.reason}"


HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")


class Unreadable(Exception):
    """A document whose text cannot be had (the message says why)."""


def read_folder(folder: Path, files: list[str]) -> tuple[list[Document], list[Skipped]]:
    """The documents among files (paths relative to folder), and the files skipped with their reasons."""
    docs, skipped = [], []
    for rel in files:
        if not rel.lower().endswith(SUPPORTED):
            skipped.append(Skipped(rel, f"unsupported file type (supported: {', '.join(SUPPORTED)})"))
            continue
        try:
            text = read_document(folder / rel)
        except Unreadable as exc:
            skipped.append(Skipped(rel, str(exc)))
            continue
        if not text.strip():
            skipped.append(Skipped(rel, "no text (a scanned PDF or an empty file?)"))
            continue
        docs.append(Document(rel, text))
    return docs, skipped


def read_document(path: Path) -> str:
    """The text of one document, normalised (see the module docstring)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            text = _pdf(path)
        elif suffix == ".docx":
            text = _docx(path)
        else:
            text = decode_bytes(path.read_bytes(), path)
            if suffix in (".html", ".htm"):
                text = _html(text)
    except UserError as exc:  # a missing extra is not about this file: it stops the run
        if exc.problem != UNKNOWN_ENCODING:
            raise
        raise Unreadable(exc.problem) from None
    except OSError as exc:
        raise Unreadable(f"cannot read ({exc.strerror or exc})") from None
    return _tidy(text)


def _tidy(text: str) -> str:
    """NFC, '\\n' line ends, no trailing spaces, and at most one blank line between paragraphs."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = re.sub(r"[ \t\f\v]+\n", "\n", text)
    return re.sub(r"\n\s*\n\s*", "\n\n", text).strip()


def _html(html: str) -> str:
    """The main text of a page: navigation, menus, headers and footers dropped (trafilatura, precision first)."""
    try:
        import trafilatura
    except ImportError:
        raise missing_extra("trafilatura", "documents") from None
    options: dict[str, Any] = {
        "include_tables": True,
        "include_comments": False,
        "deduplicate": False,
        "output_format": "txt",
    }
    # favor_precision keeps boilerplate out even on short pages, where the default falls back to the whole page
    text = trafilatura.extract(html, favor_precision=True, **options) or trafilatura.extract(html, **options)
    if not text:
        raise Unreadable("no main text found in the page")
    return text.replace("\n", "\n\n")  # trafilatura writes one block (paragraph, heading, row) per line


def _pdf(path: Path) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:
        raise missing_extra("pypdf", "documents") from None
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise Unreadable("the PDF is encrypted")
        text = "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except (PyPdfError, ValueError, KeyError) as exc:
        raise Unreadable(f"unreadable PDF ({type(exc).__name__}: {exc})") from None
    return HYPHEN_BREAK.sub(r"\1\2", text)  # a word hyphenated across a line end is one word again


def _docx(path: Path) -> str:
    try:
        import docx
    except ImportError:
        raise missing_extra("python-docx", "documents") from None
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises zipfile, lxml and its own errors for a file that is not .docx
        raise Unreadable(f"unreadable .docx ({type(exc).__name__}: {exc})") from None
    blocks = [p.text for p in document.paragraphs]
    for table in document.tables:
        blocks.extend(" | ".join(cell.text for cell in row.cells) for row in table.rows)
    return "\n\n".join(blocks)
