"""The speed probe's fixed sample: real RAG-length passages and real questions from the built-in data."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from embbench.data.files import find_split_file, read_records
from embbench.errors import UserError
from embbench.resources import data_root

PASSAGE_CHARS = (400, 1500)  # RAG chunk lengths kept for the throughput sample


def builtin_data_dir() -> Path:
    """The built-in suites' data, shipped in the package (embbench/resources/tasks/data): the sample is the same
    texts wherever embbench is installed."""
    data = data_root()
    if not (data / "retrieval" / "tydiqa_goldp_ru" / "queries.jsonl").is_file():
        raise UserError(
            data,
            "the speed probe's built-in texts (retrieval/tydiqa_goldp_ru) are missing from the installed package",
            fix="reinstall embbench, or skip the probe with --no-speed",
        )
    return data


def _by_hash(texts: Sequence[str]) -> list[str]:
    """Distinct texts in a fixed pseudo-random order (sha256 of the text): a sample independent of file order."""
    return sorted(set(texts), key=lambda t: hashlib.sha256(t.encode()).hexdigest())


def sample_passages(n: int, data_dir: Path | None = None, chars: tuple[int, int] = PASSAGE_CHARS) -> list[str]:
    """n distinct real passages of chars[0]..chars[1] characters (tydiqa corpus + xquad positives), deterministic."""
    data = data_dir or builtin_data_dir()
    tydiqa = data / "retrieval" / "tydiqa_goldp_ru"
    pool = [r["text"] for r in read_records(find_split_file(tydiqa, "corpus"))]
    xquad = data / "reranking" / "xquad_ru"
    if xquad.is_dir():
        pool += [p for r in read_records(find_split_file(xquad, "test")) for p in r["positive"]]
    chosen = [t for t in _by_hash(pool) if chars[0] <= len(t) <= chars[1]][:n]
    if len(chosen) < n:
        raise UserError(
            "speed probe", f"only {len(chosen)} built-in passages of {chars[0]}-{chars[1]} chars, {n} asked"
        )
    return chosen


def sample_queries(n: int, data_dir: Path | None = None) -> list[str]:
    """n distinct real questions (tydiqa_goldp_ru queries), deterministic."""
    data = data_dir or builtin_data_dir()
    queries = read_records(find_split_file(data / "retrieval" / "tydiqa_goldp_ru", "queries"))
    chosen = _by_hash([r["text"] for r in queries])[:n]
    if len(chosen) < n:
        raise UserError("speed probe", f"only {len(chosen)} built-in queries, {n} asked")
    return chosen


def sample_digest(data_dir: Path | None = None) -> str:
    """sha256 of the files the sample is drawn from (16 hex digits): a kept probe of other texts is never reused."""
    data = data_dir or builtin_data_dir()
    h = hashlib.sha256()
    tydiqa = data / "retrieval" / "tydiqa_goldp_ru"
    files = [find_split_file(tydiqa, "corpus"), find_split_file(tydiqa, "queries")]
    if (data / "reranking" / "xquad_ru").is_dir():
        files.append(find_split_file(data / "reranking" / "xquad_ru", "test"))
    for f in files:
        raw = f.read_bytes()
        h.update(len(raw).to_bytes(8, "big") + raw)
    return h.hexdigest()[:16]
