"""Builds a documents task's BEIR folder under the output, then hands the task on as an ordinary retrieval task.

<output>/documents/<task>@<size>/ holds corpus.jsonl (one row per chunk, id <document path>#<start>-<end>),
queries.jsonl (the matched questions, id q<row>), qrels/test.tsv (relevance.py's judgements), unmatched.csv (the
questions whose answer was found in no document: file, row, question, answer, document, reason) and build.json
(what was read, skipped and built). The folder is rewritten on every run; identical content keeps results current.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from embbench._io import atomic_write_text
from embbench.data.documents.chunk import Chunk, chunk_document
from embbench.data.documents.read import Document, Skipped, read_folder
from embbench.data.documents.relevance import Located, Unmatched, locate, qrels
from embbench.errors import UserError
from embbench.spec import LocalSource, TaskSpec
from embbench.spec.documents import Built, DocumentsSource, expand_sweep, list_documents

Log = Callable[[str], None]


def build_documents(tasks: list[TaskSpec], output: Path, log: Log) -> list[TaskSpec]:
    """Each documents task built into its BEIR folder (data points there); other tasks unchanged. A share of
    unmatched questions above the task's max_unmatched is a UserError (after unmatched.csv is written)."""
    read: dict[Path, tuple[list[Document], list[Skipped]]] = {}
    found: dict[tuple[Path, Path], Located] = {}
    out = []
    for task in (s for t in tasks for s in expand_sweep(t)):
        src = task.source
        if not isinstance(src, DocumentsSource):
            out.append(task)
            continue
        if src.folder not in read:
            read[src.folder] = read_folder(src.folder, list_documents(src.folder))
            for s in read[src.folder][1]:
                log(f"{src.folder / s.path}: skipped: {s.reason}")
        docs, skipped = read[src.folder]
        key = (src.folder, src.questions_file)
        if key not in found:
            texts = {d.path: d.text for d in docs}
            found[key] = locate(src.questions, texts, [s.path for s in skipped])
        out.append(_build_one(task, src, docs, skipped, found[key], output, log))
    return out


def _build_one(
    task: TaskSpec,
    src: DocumentsSource,
    docs: list[Document],
    skipped: list[Skipped],
    located: Located,
    output: Path,
    log: Log,
) -> TaskSpec:
    folder = output / "documents" / (src.build_name or f"{task.name}@{src.chunking.size}")
    chunks = {d.path: chunk_document(d.path, d.text, src.chunking) for d in docs}
    judged = qrels(located, chunks)
    all_chunks = [ch for d in docs for ch in chunks[d.path]]
    _write_unmatched(folder / "unmatched.csv", located.unmatched, src)
    n, bad = len(src.questions), len(located.unmatched)
    if bad / n > src.max_unmatched:
        raise UserError(
            folder / "unmatched.csv",
            f"{bad} of {n} questions ({bad / n:.1%}) have an answer found in no document (listed in this file)",
            fix=f"check the answers: each must quote a passage of its document; or raise max_unmatched "
            f"(now {src.max_unmatched}) in {task.file}",
        )
    _write_beir(folder, all_chunks, src, judged)
    built = replace(src, built=_built(folder, docs, all_chunks, judged, bad, skipped))
    info = built.task_info()
    atomic_write_text(folder / "build.json", json.dumps(info, ensure_ascii=False, indent=2) + "\n")
    c = src.chunking
    log(
        f"{task.name}: {len(docs)} documents -> {len(all_chunks)} chunks (size {c.size} {c.unit}, overlap "
        f"{c.overlap}); {len(judged)} questions, {bad} unmatched -> {folder}"
    )
    return replace(task, source=LocalSource(folder), documents=built)


def _built(
    folder: Path, docs: list[Document], chunks: list[Chunk], judged: dict[str, Any], bad: int, skipped: list[Skipped]
) -> Built:
    return Built(folder, len(docs), len(chunks), len(judged), bad, tuple((s.path, s.reason) for s in skipped))


def _jsonl(rows: list[dict[str, str]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def _write_beir(folder: Path, chunks: list[Chunk], src: DocumentsSource, judged: dict[str, dict[str, int]]) -> None:
    corpus = [{"_id": ch.id, "title": "", "text": ch.text} for ch in chunks]
    queries = [{"_id": q.qid, "text": q.question} for q in src.questions if q.qid in judged]
    lines = ["query-id\tcorpus-id\tscore"] + [
        f"{qid}\t{cid}\t{s}" for qid, docs in judged.items() for cid, s in docs.items()
    ]
    atomic_write_text(folder / "corpus.jsonl", _jsonl(corpus))
    atomic_write_text(folder / "queries.jsonl", _jsonl(queries))
    atomic_write_text(folder / "qrels" / "test.tsv", "\n".join(lines) + "\n")


def _write_unmatched(path: Path, unmatched: list[Unmatched], src: DocumentsSource) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", "row", "question", "answer", "document", "reason"])
    for u in unmatched:
        q = u.question
        w.writerow([str(src.questions_file), q.row, q.question, q.answer, q.document or "", u.reason])
    atomic_write_text(path, buf.getvalue())


def notes(tasks: list[TaskSpec]) -> list[str]:
    """Lines for the end of a run: each documents task's unmatched questions and the files it could not read."""
    lines: list[str] = []
    seen: set[Path] = set()
    for t in tasks:
        src = t.documents
        if src is None or src.built is None:
            continue
        b = src.built
        if b.unmatched:
            lines.append(f"{t.name}: {b.unmatched} question(s) unmatched, left out (see {b.folder / 'unmatched.csv'})")
        for path, reason in b.skipped:
            if src.folder / path not in seen:
                seen.add(src.folder / path)
                lines.append(f"{src.folder / path}: skipped: {reason}")
    return lines
