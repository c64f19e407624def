"""Which chunks answer which question, from the answer passages quoted in the questions table.

The rule:
  1. Normalising (answer and document alike): NFC text, case folded, ё as е, combining marks (stress accents) and
     invisible format characters (soft hyphens) dropped, and every run of characters that are not letters or
     digits (spaces, punctuation, quotes, dashes, symbols) made one space. So «Ёлка» — стоит matches "ёлка - стоит".
  2. Finding: the answer occurs in a document where its normalised text is a run of whole normalised words of
     the document's. Every occurrence counts. With a `document` cell only that file is searched, else all of them.
     An answer found nowhere makes the question unmatched: listed in unmatched.csv, left out of the queries.
  3. Judging, per occurrence (character span [a, b) of the document text):
     - every chunk that contains the whole span is relevant;
     - if none does (the answer straddles chunks), every chunk holding at least half of the span's characters is
       relevant; if none holds half (the answer spreads over three or more chunks), the chunk holding the most is.
     Relevance is 1 (binary, as in BEIR qrels); a question's relevant chunks are the union over its occurrences.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from embbench.data.documents.chunk import Chunk, covering
from embbench.spec.documents import Question

MIN_SHARE = 0.5  # a straddled answer's chunk is relevant when it holds at least this share of the answer
Span = tuple[str, int, int]  # (document path, start, end)


def normalise(text: str) -> tuple[str, list[int]]:
    """The normalised text (rule 1) and, for each of its characters, the offset of the character it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if unicodedata.combining(ch) or unicodedata.category(ch) == "Cf":
            continue
        for c in ch.casefold().replace("ё", "е"):
            if c.isalnum():
                out.append(c)
                where.append(i)
            elif out and out[-1] != " ":
                out.append(" ")
                where.append(i)
    if out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), where


@dataclass(frozen=True)
class Unmatched:
    """A question whose answer was found in no document, and why."""

    question: Question
    reason: str


@dataclass(frozen=True)
class Located:
    """Where each question's answer occurs (by question id) and the questions left unmatched."""

    spans: dict[str, list[Span]]
    unmatched: list[Unmatched]


def _occurrences(needle: str, hay: str, where: list[int], path: str) -> list[Span]:
    """Spans of the whole-word occurrences of a normalised answer in a normalised document (rule 2)."""
    padded, key = f" {hay} ", f" {needle} "
    out = []
    at = padded.find(key)
    while at != -1:
        first, last = at, at + len(needle) - 1  # offsets in hay (padded has one leading space)
        out.append((path, where[first], where[last] + 1))
        at = padded.find(key, at + 1)
    return out


def locate(questions: Iterable[Question], texts: Mapping[str, str], skipped: Iterable[str] = ()) -> Located:
    """Find every question's answer in the documents' texts (path -> text); skipped: files that could not be read."""
    norm = {path: normalise(text) for path, text in texts.items()}
    unreadable = set(skipped)
    spans: dict[str, list[Span]] = {}
    unmatched: list[Unmatched] = []
    for q in questions:
        needle, _ = normalise(q.answer)
        if not needle:
            unmatched.append(Unmatched(q, "the answer has no letters or digits"))
            continue
        if q.document is not None and q.document in unreadable:
            unmatched.append(Unmatched(q, f"its document {q.document} could not be read"))
            continue
        targets = [q.document] if q.document is not None else sorted(norm)
        found = [s for p in targets if p in norm for s in _occurrences(needle, *norm[p], p)]
        if found:
            spans[q.qid] = found
        else:
            where = f"not found in {q.document}" if q.document is not None else "not found in any document"
            unmatched.append(Unmatched(q, where))
    return Located(spans, unmatched)


def relevant(chunks: list[Chunk], start: int, end: int) -> list[Chunk]:
    """The chunks of one document (sorted by start) judged relevant to an answer at [start, end) (rule 3)."""
    held = covering(chunks, start, end)
    whole = [ch for ch, n in held if n == end - start]
    if whole:
        return whole
    half = [ch for ch, n in held if n >= MIN_SHARE * (end - start)]
    if half:
        return half
    most = max((n for _, n in held), default=0)
    return [ch for ch, n in held if n == most and n > 0]


def qrels(located: Located, chunks: Mapping[str, list[Chunk]]) -> dict[str, dict[str, int]]:
    """query id -> {chunk id: 1} for every located answer, given each document's chunks."""
    out: dict[str, dict[str, int]] = {}
    for qid, spans in located.spans.items():
        judged = {ch.id: 1 for path, a, b in spans for ch in relevant(chunks[path], a, b)}
        if judged:
            out[qid] = judged
    return out
