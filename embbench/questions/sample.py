"""Passages for question generation: the documents chunked as the documents task chunks them, sampled with a seed,
spread over documents (round robin) and over lengths (short, middle and long chunks in turn within a document)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from embbench.data.documents.chunk import Chunk, chunk_document
from embbench.data.documents.read import Skipped, read_folder
from embbench.errors import UserError
from embbench.spec.documents import DEFAULT_OVERLAP, DEFAULT_SIZE, Chunking, list_documents, measure

MIN_WORDS = 12  # a passage shorter than this (a heading, a caption) rarely answers a question
LENGTH_BINS = 3


# a passage is a chunk exactly as the documents task makes it (same id `<path>#<start>-<end>`, same text slice), so a
# generated question's passage id names a chunk of the task built from the same documents and chunking
Passage = Chunk


@dataclass(frozen=True)
class Corpus:
    """The documents read (path -> text), the files skipped, and every passage long enough to ask about."""

    texts: dict[str, str]
    skipped: tuple[Skipped, ...]
    passages: tuple[Passage, ...]


def default_chunking(size: int | None = None, overlap: int | None = None) -> Chunking:
    """The documents task's default: 1000 characters, 10% overlap."""
    size = size or DEFAULT_SIZE
    return Chunking(size, int(size * DEFAULT_OVERLAP) if overlap is None else overlap)


def read_corpus(folder: Path, chunking: Chunking) -> Corpus:
    """Every readable document of the folder and its passages (chunks of at least MIN_WORDS words)."""
    if not folder.is_dir():
        raise UserError(folder, "the documents folder does not exist", field="--documents", fix="correct the path")
    docs, skipped = read_folder(folder, list_documents(folder))
    if not docs:
        raise UserError(folder, "no readable document in the folder", field="--documents", fix="add .txt/.md/... files")
    passages = [
        ch for d in docs for ch in chunk_document(d.path, d.text, chunking) if measure(ch.text, "words") >= MIN_WORDS
    ]
    return Corpus({d.path: d.text for d in docs}, tuple(skipped), tuple(passages))


def spread(passages: tuple[Passage, ...], seed: int) -> list[Passage]:
    """All passages in a seeded order that alternates documents and, within one, length bins (short/middle/long)."""
    if not passages:
        return []
    rng = random.Random(seed)
    lengths = sorted(len(p.text) for p in passages)
    cuts = [lengths[len(lengths) * i // LENGTH_BINS] for i in range(1, LENGTH_BINS)]
    per_doc: dict[str, list[list[Passage]]] = {}
    for p in passages:
        bins = per_doc.setdefault(p.document, [[] for _ in range(LENGTH_BINS)])
        bins[sum(len(p.text) >= c for c in cuts)].append(p)
    queues = []
    for doc in sorted(per_doc):
        bins = per_doc[doc]
        for b in bins:
            rng.shuffle(b)
        first = rng.randrange(LENGTH_BINS)
        order = [bins[(first + i) % LENGTH_BINS] for i in range(LENGTH_BINS)]
        queues.append([b.pop() for _ in range(max(map(len, order))) for b in order if b])
    rng.shuffle(queues)
    out: list[Passage] = []
    for i in range(max(map(len, queues))):
        out.extend(q[i] for q in queues if i < len(q))
    return out
