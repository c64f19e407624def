"""Questions out of an LLM's answer: the JSON asked for, or plain text read line by line.

Plain text is what many servers give despite the request: preambles ("Вот 3 вопроса:", "Here are..."), numbering,
bullets, labels ("Вопрос 1:", "Ответ:"), markdown bold and quotes around the question are stripped, as
llama-index's question generator does not do (it keeps the preamble as a question). An answer with no question in
it parses to nothing: the caller retries once, then skips the passage and counts it as malformed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

QUESTION_KEYS = ("question", "вопрос", "query", "запрос")
ANSWER_KEYS = ("answer", "ответ", "quote", "цитата", "evidence")
FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
BULLET = re.compile(r"^(?:[-*•·–—>]+\s*|\(?\d{1,3}\s*[.)\]:]\s*|\d{1,3}\s+[-–—]\s*)+")
LABEL = re.compile(r"^(?:вопрос|question|q|запрос|query)\s*\d*\s*[:.)\-–—]\s*", re.IGNORECASE)
ANSWER_LABEL = re.compile(r"(?:^|\s[-–—|]?\s*|\s)(?:ответ|answer|a|цитата|quote)\s*\d*\s*:\s*", re.IGNORECASE)
PREAMBLE = re.compile(
    r"^(?:вот|ниже|конечно|хорошо|разумеется|here\s+(?:are|is)|sure|certainly|below|okay|ok)\b", re.IGNORECASE
)
QUOTES = "\"'«»“”„‘’`"


@dataclass(frozen=True)
class Candidate:
    """One generated question and the passage text the LLM quoted as its answer (None: it gave none)."""

    question: str
    answer: str | None


def clean(text: str) -> str:
    """One line, markdown bold and surrounding quotes stripped."""
    text = " ".join(text.replace("**", "").replace("__", "").split())
    while len(text) >= 2 and text[0] in QUOTES and text[-1] in QUOTES:
        text = text[1:-1].strip()
    return text


def parse_candidates(content: str) -> list[Candidate]:
    """The questions in an answer (JSON or plain text); [] when there are none (a malformed answer)."""
    content = FENCE.sub("", content.strip())
    data = _json(content)
    if data is not None:
        found = _from_json(data)
        if found:
            return found
    return _from_text(content)


def parse_verdict(content: str) -> bool | None:
    """The second pass's verdict: {"answers": true/false}, or a plain да/нет/yes/no; None when unreadable."""
    data = _json(FENCE.sub("", content.strip()))
    if isinstance(data, dict):
        value = next((v for k, v in data.items() if k.lower() in ("answers", "answer", "ответ")), None)
        if isinstance(value, bool):
            return value
        content = str(value) if value is not None else ""
    word = clean(content).lower().lstrip("{[ ").split(maxsplit=1)
    if word:
        first = word[0].strip(".,!:;")
        if first in ("да", "yes", "true"):
            return True
        if first in ("нет", "no", "false"):
            return False
    return None


def _json(content: str) -> Any:
    """The JSON value in the text: the whole text, else the widest {...} or [...] in it; None when there is none."""
    for text in (content, _widest(content, "{", "}"), _widest(content, "[", "]")):
        if text:
            try:
                return json.loads(text)
            except ValueError:
                continue
    return None


def _widest(content: str, open_: str, close: str) -> str | None:
    start, end = content.find(open_), content.rfind(close)
    return content[start : end + 1] if 0 <= start < end else None


def _field(item: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for k, v in item.items():
        if k.lower() in keys and isinstance(v, str) and v.strip():
            return v
    return None


def _from_json(data: Any) -> list[Candidate]:
    if isinstance(data, dict):
        items = next((v for v in data.values() if isinstance(v, list)), None)
        items = items if items is not None else [data]
    elif isinstance(data, list):
        items = data
    else:
        return []
    out = []
    for item in items:
        if isinstance(item, str) and clean(item):
            out.append(Candidate(_strip_label(item), None))
        elif isinstance(item, dict):
            q = _field(item, QUESTION_KEYS)
            if q and clean(q):
                a = _field(item, ANSWER_KEYS)
                out.append(Candidate(_strip_label(q), clean(a) if a else None))
    return out


def _strip_label(line: str) -> str:
    line = clean(line)
    for _ in range(3):  # "1. Вопрос: «...»" has a number, a label and quotes
        stripped = clean(LABEL.sub("", BULLET.sub("", line)))
        if stripped == line:
            break
        line = stripped
    return line


def _from_text(content: str) -> list[Candidate]:
    """Plain text: one question per line (numbered, bulleted, labelled or ending in '?'); an 'Ответ:' line or an
    'Ответ:' part of the line is the answer of the question before it."""
    out: list[Candidate] = []
    for raw in content.split("\n"):
        line = clean(raw)
        if not line:
            continue
        listed = bool(BULLET.match(line) or LABEL.match(line))
        line = _strip_label(line)
        parts = ANSWER_LABEL.split(line, maxsplit=1)
        if len(parts) == 2 and not parts[0].strip() and out and out[-1].answer is None:
            out[-1] = Candidate(out[-1].question, clean(parts[1]) or None)  # an "Ответ: ..." line
            continue
        question = clean(parts[0].rstrip(" -–—|"))
        answer = clean(parts[1]) if len(parts) == 2 else None
        if not question or _preamble(question):
            continue
        if listed or question.endswith("?") or answer:
            out.append(Candidate(question, answer or None))
    return out


def _preamble(line: str) -> bool:
    """An introduction, not a question: "Вот 3 вопроса:", "Here are some questions:", "Конечно! ..."."""
    return (line.endswith(":") and "?" not in line) or (bool(PREAMBLE.match(line)) and not line.endswith("?"))
