"""The filters one by one, on hand-made candidates."""

from __future__ import annotations

from embbench.questions.filters import Seen, cyrillic_share, local_reason
from embbench.questions.parse import Candidate
from embbench.questions.sample import Passage

TEXT = (
    "Рядом, в Саксонском саду, Летний театр работал с 1870 по 1939 годы. "
    "В межвоенный период комплекс включал первое варшавское литературное кабаре."
)
PASSAGE = Passage("a.txt", 0, len(TEXT), TEXT)
ANSWER = "Летний театр работал с 1870 по 1939 годы."


def reason(question: str, answer: str | None = ANSWER) -> str | None:
    return local_reason(Candidate(question, answer), PASSAGE)


def test_each_local_filter() -> None:
    assert reason("Сколько лет театр?") is None
    assert reason("Когда?") == "too_short"
    assert reason("When did the summer theatre close?") == "not_russian"
    assert reason("Что такое Ogród Saski в Варшаве?") is None  # Latin names pass
    assert reason("Когда закрылся летний театр?", None) == "no_answer"
    assert reason("Когда закрылся летний театр?", "Театр закрылся в 1950 году.") == "answer_not_in_document"
    # the documents task's matching rule: case, punctuation and ё do not matter, whole words do
    assert reason("Когда закрылся летний театр?", "летний ТЕАТР работал, с 1870 по 1939") is None
    assert reason("Когда закрылся летний театр?", "етний театр работал") == "answer_not_in_document"
    assert reason("Правда ли, что летний театр работал с 1870?") == "copies_passage"  # 5 words in a row
    assert reason("Правда ли, что летний театр работал?") is None  # 3 words in a row


def test_duplicates_and_near_duplicates() -> None:
    seen = Seen()
    seen.add("Когда работал Летний театр в Варшаве?")
    assert seen.reason("когда работал летний театр в варшаве") == "duplicate"
    assert seen.reason("Когда работал Летний театр в Варшаве сейчас?") == "near_duplicate"
    assert seen.reason("Какое кабаре было первым литературным?") is None


def test_cyrillic_share() -> None:
    assert cyrillic_share("Театр") == 1.0 and cyrillic_share("Theatre") == 0.0 and cyrillic_share("123") == 0.0
