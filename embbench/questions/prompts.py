"""The Russian prompts (versioned: PROMPT_VERSION goes into every generated_by record) and the JSON schemas asked for.

Real example queries (--examples) steer the style as Chroma's generative benchmarking does: the model is shown how
the team's users actually ask (short search queries or full questions) and asked to write in that manner.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from embbench.errors import UserError
from embbench.spec.documents import decode_bytes

PROMPT_VERSION = "ru-1"
CANDIDATES = 3  # questions asked per passage; the first that passes every filter is kept
MAX_EXAMPLES = 8

SYSTEM = (
    "Ты помогаешь собрать набор для оценки поиска по документам. По фрагменту документа ты пишешь вопросы на "
    "русском языке, какие задал бы реальный пользователь, не видя фрагмента. Отвечай только JSON."
)
GENERATE = """Фрагмент документа «{document}»:
<<<
{passage}
>>>

Напиши {k} разных вопроса на русском языке, на каждый из которых отвечает этот фрагмент.
Правила:
- вопрос понятен без фрагмента и не пересказывает его: не копируй из фрагмента длинные куски текста, \
используй свои слова и синонимы;
- в вопросе не меньше трёх слов;
- для каждого вопроса приведи ответ: одно или два предложения фрагмента, скопированные дословно, без изменений.
{style}
Ответ строго в формате JSON: {{"questions": [{{"question": "...", "answer": "..."}}]}}"""
STYLE = """Пользователи пишут запросы так (подражай их длине и манере, но не их темам):
{examples}
"""
VERIFY = """Фрагмент документа:
<<<
{passage}
>>>

Вопрос: {question}

Содержит ли фрагмент ответ на этот вопрос? Ответ строго в формате JSON: {{"answers": true}} или {{"answers": false}}"""

QUESTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "questions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"question": {"type": "string"}, "answer": {"type": "string"}},
                "required": ["question", "answer"],
            },
        }
    },
    "required": ["questions"],
}
VERIFY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answers": {"type": "boolean"}},
    "required": ["answers"],
}


def read_examples(path: Path | None) -> list[str]:
    """The real example queries, one per line (blank lines and duplicates dropped)."""
    if path is None:
        return []
    if not path.is_file():
        raise UserError(path, "the examples file does not exist", field="--examples", fix="one real query per line")
    lines = [" ".join(line.split()) for line in decode_bytes(path.read_bytes(), path).split("\n")]
    examples = list(dict.fromkeys(x for x in lines if x))
    if not examples:
        raise UserError(path, "the examples file has no queries", field="--examples", fix="one real query per line")
    return examples


def generate_messages(document: str, passage: str, examples: list[str], seed: int) -> list[dict[str, str]]:
    """The chat messages asking for CANDIDATES questions about one passage, styled on a seeded pick of examples."""
    style = ""
    if examples:
        pick = random.Random(f"{seed}:{document}:{passage[:50]}").sample(examples, min(MAX_EXAMPLES, len(examples)))
        style = STYLE.format(examples="\n".join(f"- {x}" for x in pick))
    user = GENERATE.format(document=document, passage=passage, k=CANDIDATES, style=style)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def verify_messages(passage: str, question: str) -> list[dict[str, str]]:
    """The chat messages asking whether the passage answers the question."""
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": VERIFY.format(passage=passage, question=question)},
    ]
