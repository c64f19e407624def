"""Cutting a document into chunks, the same for every model: a size in chars or words, overlap, sentence-snapped.

The rule (deterministic, so every model sees one corpus):
  1. Sentences: paragraphs are split at blank lines, each paragraph into sentences by razdel (natasha project); a
     razdel boundary that is not followed by whitespace is ignored, so no cut ever falls inside a word. A sentence
     longer than the size is split at word boundaries (whitespace) into pieces of at most the size; a single word
     longer than the size stays whole (the only case a chunk exceeds the size).
  2. Packing: a chunk takes whole pieces while it stays within the size, so every chunk ends where a sentence (or
     piece) ends.
  3. Overlap: the next chunk starts inside the previous one, at most `overlap` units before its end: at the earliest
     sentence start in that window, else at the earliest word start there, provided the chunk can still take its
     next piece; when no such start exists the chunks just touch (no overlap).
So the chunks cover every non-space character of the document in order: neighbours either touch (only whitespace
between them) or share at most `overlap` units. A chunk is the exact slice text[start:end]: its id is
`<document path>#<start>-<end>` (character offsets in the document text).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import pairwise

from embbench.errors import missing_extra
from embbench.spec.documents import Chunking

WORD = re.compile(r"\S+")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Chunk:
    """A slice of one document: text == document_text[start:end]."""

    document: str
    start: int
    end: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.document}#{self.start}-{self.end}"


def sentence_starts(text: str) -> list[int]:
    """Offsets where sentences start: razdel's sentence starts within each paragraph, kept only where whitespace
    precedes them (so a boundary never falls inside a word)."""
    try:
        from razdel import sentenize
    except ImportError:
        raise missing_extra("razdel", "documents") from None
    starts: list[int] = []
    pos = 0
    for brk in [*PARAGRAPH_BREAK.finditer(text), None]:
        stop = brk.start() if brk else len(text)
        for s in sentenize(text[pos:stop]):
            at = pos + s.start
            if not text[at : at + 1].isspace() and (at == 0 or text[at - 1].isspace()):
                starts.append(at)
        pos = brk.end() if brk else stop
    return sorted(set(starts))


class _Doc:
    """A document's word spans and unit measure, for packing."""

    def __init__(self, text: str, unit: str):
        self.text = text
        self.unit = unit
        spans = [m.span() for m in WORD.finditer(text)]
        self.word_starts = [s for s, _ in spans]
        self.word_ends = [e for _, e in spans]

    def measure(self, start: int, end: int) -> int:
        """Length of text[start:end] (start and end on word boundaries) in the unit."""
        if self.unit == "chars":
            return end - start
        return bisect_left(self.word_starts, end) - bisect_left(self.word_starts, start)

    def words(self, start: int, end: int) -> list[tuple[int, int]]:
        lo, hi = bisect_left(self.word_starts, start), bisect_left(self.word_starts, end)
        return list(zip(self.word_starts[lo:hi], self.word_ends[lo:hi], strict=True))


def _pieces(doc: _Doc, starts: list[int], size: int) -> list[tuple[int, int]]:
    """Sentences as (start, end) without trailing whitespace; a sentence over the size split at words."""
    out: list[tuple[int, int]] = []
    bounds = [*starts, len(doc.text)]
    for s, nxt in pairwise(bounds):
        e = s + len(doc.text[s:nxt].rstrip())
        if e <= s:
            continue
        if doc.measure(s, e) <= size:
            out.append((s, e))
            continue
        piece_start = piece_end = None
        for ws, we in doc.words(s, e):
            if piece_start is not None and doc.measure(piece_start, we) > size:
                out.append((piece_start, piece_end))  # type: ignore[arg-type]
                piece_start = None
            if piece_start is None:
                piece_start = ws
            piece_end = we
        if piece_start is not None:
            out.append((piece_start, piece_end))  # type: ignore[arg-type]
    return out


def _overlap_start(doc: _Doc, chunk: tuple[int, int], nxt: tuple[int, int], c: Chunking, sents: set[int]) -> int:
    """Where the chunk after `chunk` starts: inside it, by the overlap rule (module docstring), else at nxt."""
    start, end = chunk
    if c.overlap == 0:
        return nxt[0]
    window = [
        ws
        for ws, _ in doc.words(start + 1, end)
        if doc.measure(ws, end) <= c.overlap and doc.measure(ws, nxt[1]) <= c.size
    ]
    if not window:
        return nxt[0]
    return next((ws for ws in window if ws in sents), window[0])


def chunk_document(path: str, text: str, chunking: Chunking) -> list[Chunk]:
    """The chunks of one document (see the module docstring)."""
    doc = _Doc(text, chunking.unit)
    starts = sentence_starts(text)
    if doc.word_starts and (not starts or starts[0] > doc.word_starts[0]):
        starts.insert(0, doc.word_starts[0])  # text before razdel's first sentence (never expected) is kept
    pieces = _pieces(doc, starts, chunking.size)
    sents = set(starts)
    chunks: list[Chunk] = []
    i, start = 0, pieces[0][0] if pieces else 0
    while i < len(pieces):
        j = i
        while j + 1 < len(pieces) and doc.measure(start, pieces[j + 1][1]) <= chunking.size:
            j += 1
        end = pieces[j][1]
        chunks.append(Chunk(path, start, end, text[start:end]))
        i = j + 1
        if i < len(pieces):
            start = _overlap_start(doc, (start, end), pieces[i], chunking, sents)
    return chunks


def covering(chunks: list[Chunk], start: int, end: int) -> list[tuple[Chunk, int]]:
    """The chunks overlapping text[start:end] with how many of its characters each holds (chunks sorted)."""
    starts = [ch.start for ch in chunks]
    hi = bisect_right(starts, end)
    return [
        (ch, min(ch.end, end) - max(ch.start, start)) for ch in chunks[:hi] if min(ch.end, end) > max(ch.start, start)
    ]
