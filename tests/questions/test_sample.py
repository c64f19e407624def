"""Passages: the documents task's chunks, every one once, in a seeded order spread over documents and lengths."""

from __future__ import annotations

from pathlib import Path

from embbench.data.documents.chunk import chunk_document
from embbench.data.documents.read import read_folder
from embbench.questions.sample import MIN_WORDS, default_chunking, read_corpus, spread
from embbench.spec.documents import list_documents

DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "documents" / "docs"


def test_passages_are_the_documents_task_chunks() -> None:
    chunking = default_chunking(400)
    corpus = read_corpus(DOCS, chunking)
    docs, _ = read_folder(DOCS, list_documents(DOCS))
    chunks = {ch.id: ch.text for d in docs for ch in chunk_document(d.path, d.text, chunking)}
    assert corpus.passages and all(chunks[p.id] == p.text for p in corpus.passages)
    assert all(len(p.text.split()) >= MIN_WORDS for p in corpus.passages)
    assert chunking.overlap == 40  # the documents task's default: 10% of the size


def test_spread_is_seeded_and_alternates_documents_and_lengths() -> None:
    passages = read_corpus(DOCS, default_chunking(400)).passages
    order = spread(passages, 0)
    assert sorted(p.id for p in order) == sorted(p.id for p in passages)  # each once
    assert [p.id for p in spread(passages, 0)] == [p.id for p in order]
    assert [p.id for p in spread(passages, 1)] != [p.id for p in order]
    assert len({p.document for p in order[:3]}) == 3  # the first three come from the three documents
    lengths = sorted(len(p.text) for p in passages)
    first = [len(p.text) for p in order[:9]]
    assert min(first) < lengths[len(lengths) // 3] and max(first) >= lengths[2 * len(lengths) // 3]
