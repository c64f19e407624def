"""What a generated question must pass to be kept, each rule counted by name (Counts) for the summary.

In order: at least MIN_WORDS words; Russian (a share of Cyrillic letters); an answer given; the answer found in
the passage (so in its document) by the documents task's own matching rule (relevance.normalise, whole words), so
the file builds with 0 unmatched; no span of COPY_WORDS or more words copied from the passage (such a question is
a lexical lookup: BM25 would win by construction); then, against the questions kept so far, no duplicate (equal
once normalised) and no near-duplicate (difflib ratio at least NEAR_RATIO).
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field

from embbench.data.documents.relevance import normalise
from embbench.questions.parse import Candidate
from embbench.questions.sample import Passage

MIN_WORDS = 3
MIN_CYRILLIC = 0.4  # share of the letters that are Cyrillic: "Что такое Ogród Saski?" (44%) is Russian
COPY_WORDS = 5
NEAR_RATIO = 0.85
# every filter by name, in the order they run; the summary lists each (0 included)
FILTERS = (
    "too_short",
    "not_russian",
    "no_answer",
    "answer_not_in_document",
    "copies_passage",
    "not_answered",  # the optional second LLM pass (--verify) said the passage does not answer it
    "duplicate",
    "near_duplicate",
)


def words(text: str) -> list[str]:
    return normalise(text)[0].split()


def cyrillic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("\u0400" <= c <= "\u04ff" for c in letters) / len(letters) if letters else 0.0


def longest_shared_run(question: list[str], passage: list[str]) -> int:
    """The longest run of consecutive words the question shares with the passage."""
    m = difflib.SequenceMatcher(None, question, passage, autojunk=False)
    return m.find_longest_match(0, len(question), 0, len(passage)).size


def local_reason(c: Candidate, passage: Passage) -> str | None:
    """The first filter (up to copies_passage) that drops the candidate; None when it passes them all."""
    q = words(c.question)
    if len(q) < MIN_WORDS:
        return "too_short"
    if cyrillic_share(c.question) < MIN_CYRILLIC:
        return "not_russian"
    if not c.answer or not words(c.answer):
        return "no_answer"
    if f" {' '.join(words(c.answer))} " not in f" {' '.join(words(passage.text))} ":
        return "answer_not_in_document"
    if longest_shared_run(q, words(passage.text)) >= COPY_WORDS:
        return "copies_passage"
    return None


@dataclass
class Seen:
    """The questions kept so far, normalised, for the duplicate and near-duplicate rules."""

    exact: set[str] = field(default_factory=set)
    texts: list[str] = field(default_factory=list)

    def add(self, question: str) -> None:
        key = " ".join(words(question))
        self.exact.add(key)
        self.texts.append(key)

    def reason(self, question: str) -> str | None:
        key = " ".join(words(question))
        if key in self.exact:
            return "duplicate"
        m = difflib.SequenceMatcher(None, "", key, autojunk=False)
        for other in self.texts:
            m.set_seq1(other)
            if m.real_quick_ratio() >= NEAR_RATIO and m.quick_ratio() >= NEAR_RATIO and m.ratio() >= NEAR_RATIO:
                return "near_duplicate"
        return None


# what else the summary counts: passages asked, answers asked again, answers skipped, candidates and where they went
TALLIES = ("passages", "retried_malformed", "malformed", "candidates", "accepted", "spare")


def empty_counts() -> Counter[str]:
    """Every tally and filter at 0, so the summary names each even when it dropped nothing."""
    return Counter(dict.fromkeys(TALLIES + FILTERS, 0))
