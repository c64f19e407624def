"""Parsing an LLM's answer: JSON behind a fence or a preamble, or plain text line by line."""

from __future__ import annotations

from embbench.questions.parse import parse_candidates, parse_verdict


def pairs(text: str) -> list[tuple[str, str | None]]:
    return [(c.question, c.answer) for c in parse_candidates(text)]


def test_plain_text_with_preambles_numbering_labels_and_quotes() -> None:
    text = (
        'Here are 3 questions:\n1) "Когда открылся театр?" — Ответ: Театр открылся в 1870 году.\n'
        "- Вопрос 2: «Кто его построил?»\n  Answer: Его построил архитектор.\n* Sure, anything else?\n"
        "Конечно! Вот ещё:\n3. где находится сад"
    )
    assert pairs(text) == [
        ("Когда открылся театр?", "Театр открылся в 1870 году."),
        ("Кто его построил?", "Его построил архитектор."),
        ("Sure, anything else?", None),  # a question: the language filter, not the parser, drops it
        ("где находится сад", None),  # a numbered search query without '?' is a question too
    ]


def test_json_in_a_fence_behind_a_preamble_and_other_shapes() -> None:
    fenced = 'Вот вопросы:\n```json\n{"questions": [{"question": "1. Где сад?", "answer": "«Сад в центре.»"}]}\n```'
    assert pairs(fenced) == [("Где сад?", "Сад в центре.")]
    assert pairs('[{"вопрос": "Где сад?", "ответ": "В центре."}, "Кто садовник?"]') == [
        ("Где сад?", "В центре."),
        ("Кто садовник?", None),
    ]
    assert pairs('{"question": "Где сад?"}') == [("Где сад?", None)]


def test_an_answer_without_questions_is_malformed() -> None:
    for text in ("Извините, я не могу помочь.", "", "Here are some questions:", '{"questions": []}'):
        assert parse_candidates(text) == [], text


def test_verdicts() -> None:
    assert parse_verdict('```json\n{"answers": false}\n```') is False
    assert parse_verdict('{"answers": true}') is True
    assert parse_verdict("Да, фрагмент отвечает.") is True and parse_verdict("No.") is False
    assert parse_verdict("Трудно сказать") is None
