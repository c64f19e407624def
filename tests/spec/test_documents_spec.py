"""The `documents:` task keys: parsing, the questions table, the sweep, and each bad input as one UserError line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from embbench.errors import UserError
from embbench.spec import load_task, load_tasks
from embbench.spec.documents import Chunking, DocumentsSource, decode_bytes

ANSWER = "Летний театр работал с 1870 по 1939 годы."
DOC = f"# Театры\n\nРядом, в Саксонском саду. {ANSWER} Театр Войцеха Богуславского был лучшим.\n"


def write_questions(path: Path, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def make_task(
    tmp_path: Path,
    *,
    chunking: str = "{size: 200, overlap: 20}",
    rows: list[list[str]] | None = None,
    docs: dict[str, str] | None = None,
    extra: str = "",
) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir(exist_ok=True)
    for name, text in ({"a.md": DOC} if docs is None else docs).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    header = ["question", "answer", "document"]
    write_questions(tmp_path / "questions.csv", [header, *(rows or [["Когда работал театр?", ANSWER, "a.md"]])])
    task = tmp_path / "task.yaml"
    task.write_text(
        "name: ours\ncategory: retrieval\ndocuments: docs\nquestions: questions.csv\n"
        + (f"chunking: {chunking}\n" if chunking else "")
        + extra,
        encoding="utf-8",
    )
    return task


def test_a_documents_task_parses_into_a_frozen_source(tmp_path: Path) -> None:
    t = load_task(make_task(tmp_path, chunking="{size: 300, overlap: 30, unit: chars}"))
    src = t.source
    assert isinstance(src, DocumentsSource) and t.documents is None  # built into a LocalSource at run time
    assert src.folder == (tmp_path / "docs").resolve()
    assert src.chunkings == (Chunking(300, 30, "chars"),) and not src.sweep
    assert [(q.row, q.qid, q.document) for q in src.questions] == [(2, "q2", "a.md")]
    assert src.max_unmatched == 0.05


def test_a_sweep_makes_one_task_per_size_and_a_single_size_keeps_its_name(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    sweep = make_task(tmp_path / "one", chunking="{sizes: [100, 200, 400], unit: chars}")
    single = make_task(tmp_path / "two", chunking="{size: 150}", extra="")
    single.write_text(single.read_text().replace("name: ours", "name: mine"), encoding="utf-8")
    tasks = load_tasks([sweep, single])
    assert [t.name for t in tasks] == ["ours@100", "ours@200", "ours@400", "mine"]
    # the default overlap is 10% of each size; the build folder is always <task>@<size>
    assert [(t.source.chunking.overlap, t.source.build_name) for t in tasks] == [
        (10, "ours@100"),
        (20, "ours@200"),
        (40, "ours@400"),
        (15, "mine@150"),
    ]


def test_a_top_level_sizes_key_is_a_sweep_too(tmp_path: Path) -> None:
    task = make_task(tmp_path, chunking="{overlap: 5, unit: words}", extra="sizes: [20, 40]\n")
    assert [(t.name, t.source.chunking) for t in load_tasks([task])] == [
        ("ours@20", Chunking(20, 5, "words")),
        ("ours@40", Chunking(40, 5, "words")),
    ]


def test_excel_style_csv_semicolons_cp1251_russian_headers_and_a_bare_file_name(tmp_path: Path) -> None:
    task = make_task(tmp_path, docs={"sub/a.md": DOC})
    write_questions(
        tmp_path / "questions.csv",
        [["Вопрос", "Ответ", "Документ"], ["Когда работал театр?", ANSWER, "a.md"], ["", "", ""]],
        delimiter=";",
        encoding="cp1251",
    )
    (q,) = load_task(task).source.questions  # the blank row is skipped
    assert (q.question, q.answer, q.document) == ("Когда работал театр?", ANSWER, "sub/a.md")


def test_an_xlsx_questions_file_is_read(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    task = make_task(tmp_path)
    book = openpyxl.Workbook()
    book.active.append(["question", "answer"])
    book.active.append(["Когда работал театр?", ANSWER])
    book.save(tmp_path / "questions.xlsx")
    task.write_text(task.read_text().replace("questions.csv", "questions.xlsx"), encoding="utf-8")
    (q,) = load_task(task).source.questions
    assert (q.row, q.answer, q.document) == (2, ANSWER, None)


def test_decoding_legacy_russian_encodings() -> None:
    text = "Рядом, в Саксонском саду, Летний театр работал с 1870 по 1939 годы. Ёлка стоит."
    for enc in ("utf-8", "utf-8-sig", "cp1251", "koi8_r", "utf-16"):
        assert decode_bytes(text.encode(enc), Path("x.txt")) == text, enc


def _bad(tmp_path: Path, case: str) -> Path:
    """The task file of one bad input (see BAD)."""
    if case == "overlap":
        return make_task(tmp_path, chunking="{size: 100, overlap: 100}")
    if case == "size_below_answer":
        return make_task(tmp_path, chunking="{sizes: [200, 30], overlap: 5}")
    if case == "no_question_column":
        task = make_task(tmp_path)
        write_questions(tmp_path / "questions.csv", [["вопросы", "answer"], ["q", ANSWER]])
        return task
    if case == "no_answer_column":
        task = make_task(tmp_path)
        write_questions(tmp_path / "questions.csv", [["question", "passage"], ["q", ANSWER]])
        return task
    if case == "empty_answer":
        return make_task(tmp_path, rows=[["Когда?", ANSWER, "a.md"], ["Где?", "  ", "a.md"]])
    if case == "document_names_no_file":
        return make_task(tmp_path, rows=[["Когда?", ANSWER, "b.md"]])
    if case == "empty_folder":
        return make_task(tmp_path, docs={})
    if case == "no_supported_file":
        return make_task(tmp_path, docs={"a.xls": "x", "b.json": "{}"})
    if case == "data_and_documents":
        return make_task(tmp_path, extra="data: docs\n")
    if case == "not_retrieval":
        task = make_task(tmp_path)
        task.write_text(task.read_text().replace("retrieval", "reranking"), encoding="utf-8")
        return task
    if case == "unknown_unit":
        return make_task(tmp_path, chunking="{size: 200, unit: tokens}")
    if case == "max_unmatched":
        return make_task(tmp_path, extra="max_unmatched: 5\n")
    raise AssertionError(case)


# case -> pieces the one line must name (file / row / field, the problem, the fix)
BAD = {
    "overlap": ["task.yaml", "chunking.overlap", "overlap 100 >= size 100", "smaller than the chunk size"],
    "size_below_answer": [
        "task.yaml",
        "'chunking'",
        "size 30 chars",
        "longest answer (41 chars",
        "row 2",
        "at least 41",
    ],
    "no_question_column": ["questions.csv", "'question'", "missing column", "found: вопросы, answer", "fix:"],
    "no_answer_column": ["questions.csv", "'answer'", "missing column 'answer'", "question, answer"],
    "empty_answer": ["questions.csv row 3", "'answer'", "empty answer", "quote the passage"],
    "document_names_no_file": ["questions.csv row 2", "'document'", "'b.md' names no file", "relative to"],
    "empty_folder": ["docs", "'documents'", "has no files", "add documents"],
    "no_supported_file": ["docs", "'documents'", "none of its 2 files", ".txt"],
    "data_and_documents": ["task.yaml", "'data'", "either 'documents' or 'data'"],
    "not_retrieval": ["task.yaml", "'category'", "retrieval task", "category: retrieval"],
    "unknown_unit": ["task.yaml", "chunking.unit", "'tokens'", "chars or words"],
    "max_unmatched": ["task.yaml", "'max_unmatched'", "from 0 to 1"],
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_naming_file_row_and_fix(tmp_path: Path, case: str) -> None:
    with pytest.raises(UserError) as err:
        load_tasks([_bad(tmp_path, case)])
    line = str(err.value)
    assert "\n" not in line
    for piece in BAD[case]:
        assert piece in line, (piece, line)
