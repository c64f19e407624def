"""Generation end to end: passages -> LLM -> parsed -> filtered -> rows appended to the CSV, resumable.

The CSV has the documents task's columns question, answer, document, and a `passage` column (the chunk id it was
generated from; the documents task ignores it). Each accepted row is appended, flushed and fsynced at once, so a
killed generation keeps every row it reported; re-running the same command continues: passages that already have
a row, or that the sidecar records as done, are not asked again, and duplicates are checked against the rows
already there. The sidecar <out stem>.generated_by.json (rewritten atomically after each passage) holds the
`generated_by` record (LLM host, model, prompt version, seed, date, counts of every filter, tokens, cost, summed
over the runs; a documents task over the file copies it into its results) and the passages done.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embbench._faults import hit as _fault_point
from embbench._io import atomic_write_json
from embbench.errors import UserError
from embbench.questions import filters, prompts
from embbench.questions.client import ChatClient
from embbench.questions.parse import Candidate, parse_candidates, parse_verdict
from embbench.questions.sample import Passage, read_corpus, spread
from embbench.spec.documents import Chunking, generated_by_path

HEADER = ["question", "answer", "document", "passage"]
Log = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """What one generation is asked to do (the CLI's flags)."""

    documents: Path
    out: Path
    n: int
    chunking: Chunking
    seed: int = 0
    examples: Path | None = None
    verify: bool = False
    price_in: float | None = None  # USD per 1M prompt tokens
    price_out: float | None = None  # USD per 1M completion tokens
    concurrency: int = 4


@dataclass
class Outcome:
    """What one passage gave: each candidate's fate (a filter's name, or None: passed), and whether it was malformed."""

    passage: Passage
    fates: list[tuple[Candidate, str | None]] = field(default_factory=list)
    malformed: bool = False
    retried: bool = False


def sidecar_path(out: Path) -> Path:
    return generated_by_path(out)


def ask(client: ChatClient, passage: Passage, examples: list[str], s: Settings) -> Outcome:
    """One passage: ask for questions (a malformed answer is asked once more), run the local filters and, with
    --verify, the second pass until one candidate is confirmed (the others after it are left unchecked)."""
    outcome = Outcome(passage)
    messages = prompts.generate_messages(passage.document, passage.text, examples, s.seed)
    candidates = parse_candidates(client.chat(messages, prompts.QUESTIONS_SCHEMA, "questions"))
    if not candidates:
        outcome.retried = True
        candidates = parse_candidates(client.chat(messages, prompts.QUESTIONS_SCHEMA, "questions"))
    outcome.malformed = not candidates
    confirmed = False
    for c in candidates:
        reason = filters.local_reason(c, passage)
        if reason is None and s.verify and not confirmed:
            verdict = parse_verdict(
                client.chat(prompts.verify_messages(passage.text, c.question), prompts.VERIFY_SCHEMA, "verdict")
            )
            reason = None if verdict else "not_answered"
            confirmed = verdict is True
        outcome.fates.append((c, reason))
    return outcome


class _State:
    """The output CSV and its sidecar: rows already there, passages done, counts carried over from earlier runs."""

    def __init__(self, s: Settings, record: dict[str, Any]):
        self.s, self.record = s, record
        self.rows = _read_rows(s.out)
        self.seen = filters.Seen()
        for r in self.rows:
            self.seen.add(r["question"])
        old = _read_sidecar(s.out, record)
        self.done: set[str] = set(old.get("passages_done", [])) | {r["passage"] for r in self.rows}
        self.counts: Counter[str] = filters.empty_counts()
        before = old.get("generated_by", {})
        self.counts.update(before.get("counts", {}))
        self.tokens = dict(before.get("tokens", {"in": 0, "out": 0}))
        self.requests, self.retries = int(before.get("requests", 0)), int(before.get("retries", 0))
        self.runs = int(before.get("runs", 0)) + 1

    def accept(self, c: Candidate, p: Passage) -> None:
        new = not self.s.out.exists() or self.s.out.stat().st_size == 0
        with self.s.out.open("a", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            if new:
                w.writerow(HEADER)
            row = [c.question, c.answer or "", p.document, p.id]
            w.writerow(row)
            fh.flush()
            os.fsync(fh.fileno())
        self.rows.append(dict(zip(HEADER, row, strict=True)))
        self.seen.add(c.question)
        _fault_point("question_row")

    def save(self, client: ChatClient, base: dict[str, int]) -> None:
        tokens = {"in": base["in"] + client.tokens_in, "out": base["out"] + client.tokens_out}
        cost = None
        if self.s.price_in is not None or self.s.price_out is not None:
            cost = tokens["in"] / 1e6 * (self.s.price_in or 0) + tokens["out"] / 1e6 * (self.s.price_out or 0)
        record = {
            **self.record,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "questions": len(self.rows),
            "counts": dict(self.counts),
            "tokens": tokens,
            "cost_usd": cost,
            "requests": self.requests + client.requests,
            "retries": self.retries + client.retries,
            "runs": self.runs,
        }
        payload = {"generated_by": record, "passages_done": sorted(self.done)}
        self.tokens = tokens
        atomic_write_json(sidecar_path(self.s.out), payload)


def _read_rows(out: Path) -> list[dict[str, str]]:
    """The rows already written; a last line cut short by a kill is dropped (rows never hold a newline)."""
    if not out.exists():
        return []
    data = out.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        out.write_bytes(data)
    rows = list(csv.reader(data.decode("utf-8").splitlines()))
    if not rows:
        return []
    if rows[0] != HEADER:
        raise UserError(
            out,
            f"exists and is not a generated questions file (header {rows[0][:4]})",
            field="--out",
            fix="give a new --out, or remove that file",
        )
    return [dict(zip(HEADER, r, strict=True)) for r in rows[1:] if len(r) == len(HEADER)]


def _read_sidecar(out: Path, record: dict[str, Any]) -> dict[str, Any]:
    """The earlier run's sidecar; one made with another model, prompt version, seed or chunking is a UserError."""
    path = sidecar_path(out)
    if not path.exists():
        return {}
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        before = old["generated_by"]
    except (ValueError, KeyError, TypeError):
        raise UserError(path, "unreadable generated_by record", fix="remove it (and the CSV) to start over") from None
    for key in ("model", "prompt_version", "seed", "chunking", "documents"):
        if before.get(key) != record.get(key):
            raise UserError(
                path,
                f"{out} was generated with {key} {before.get(key)!r}, not {record.get(key)!r}",
                field=key,
                fix="re-run with the same settings to continue, or give a new --out",
            )
    return old


def generate(s: Settings, client: ChatClient, log: Log) -> dict[str, Any]:
    """Generate until the CSV holds s.n questions (or the passages run out); the generated_by record."""
    if s.out.is_dir():
        raise UserError(s.out, "is a folder", field="--out", fix="give a file name, e.g. questions.csv")
    corpus = read_corpus(s.documents, s.chunking)
    for sk in corpus.skipped:
        log(f"{s.documents / sk.path}: skipped: {sk.reason}")
    if s.n > len(corpus.passages):
        raise UserError(
            s.documents,
            f"--n {s.n} is more than the {len(corpus.passages)} passages of the documents "
            f"(chunks of up to {s.chunking.size} {s.chunking.unit}; one question per passage)",
            field="--n",
            fix=f"ask for at most {len(corpus.passages)}, give a smaller --chunk-size, or add documents",
        )
    examples = prompts.read_examples(s.examples)
    state = _State(s, _record(s, client, examples))
    base = dict(state.tokens)
    todo = [p for p in spread(corpus.passages, s.seed) if p.id not in state.done]
    if len(state.rows) >= s.n:
        log(f"{s.out}: already holds {len(state.rows)} questions (--n {s.n}); nothing to do")
        return {"questions": len(state.rows), "counts": dict(state.counts)}
    client.probe()
    s.out.parent.mkdir(parents=True, exist_ok=True)
    log(f"questions: {len(todo)} passages to ask {client.model} at {client.host} for {s.n - len(state.rows)} questions")
    _loop(s, client, examples, state, todo, base)
    state.save(client, base)
    if len(state.rows) < s.n:
        log(f"{s.out}: the passages ran out at {len(state.rows)} of {s.n} questions (see the counts below)")
    written: dict[str, Any] = json.loads(sidecar_path(s.out).read_text(encoding="utf-8"))["generated_by"]
    return written


def _loop(
    s: Settings, client: ChatClient, examples: list[str], state: _State, todo: list[Passage], base: dict[str, int]
) -> None:
    """Keep `concurrency` passages in flight until n questions are accepted or no passage is left."""
    queue = iter(todo)
    with ThreadPoolExecutor(max_workers=max(1, s.concurrency)) as pool:
        running: set[Future[Outcome]] = set()
        try:
            while True:
                while len(running) < max(1, s.concurrency):
                    p = next(queue, None)
                    if p is None:
                        break
                    running.add(pool.submit(ask, client, p, examples, s))
                if not running or len(state.rows) >= s.n:
                    break
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for f in finished:
                    _take(f.result(), state)
                state.save(client, base)
        finally:
            for f in running:
                f.cancel()


def _take(o: Outcome, state: _State) -> None:
    """Count one passage's candidates and append its first survivor that is no duplicate (while n is not reached)."""
    c = state.counts
    c["passages"] += 1
    c["retried_malformed"] += o.retried
    c["malformed"] += o.malformed
    taken = False
    for cand, reason in o.fates:
        c["candidates"] += 1
        if reason is None:
            reason = state.seen.reason(cand.question)
        if reason is not None:
            c[reason] += 1
        elif taken or len(state.rows) >= state.s.n:
            c["spare"] += 1  # passed, but a passage gives one question
        else:
            state.accept(cand, o.passage)
            c["accepted"] += 1
            taken = True
    state.done.add(o.passage.id)


def _record(s: Settings, client: ChatClient, examples: list[str]) -> dict[str, Any]:
    ch = s.chunking
    return {
        "tool": "embbench questions",
        "llm": client.host,
        "model": client.model,
        "prompt_version": prompts.PROMPT_VERSION,
        "seed": s.seed,
        "documents": str(s.documents.resolve()),
        "chunking": {"size": ch.size, "overlap": ch.overlap, "unit": ch.unit},
        "examples": len(examples),
        "verify": s.verify,
        "price_in": s.price_in,
        "price_out": s.price_out,
    }
