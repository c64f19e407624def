"""Your own documents: reading, chunking, relevance from answers, the BEIR build, and a run over the built tasks."""

from __future__ import annotations

import csv
import json
import re
import shutil
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embbench.data.documents.build import build_documents, notes
from embbench.data.documents.chunk import Chunk, chunk_document
from embbench.data.documents.read import read_document, read_folder
from embbench.data.documents.relevance import locate, normalise, qrels, relevant
from embbench.errors import UserError
from embbench.spec import LocalSource, load_tasks
from embbench.spec.documents import Chunking, Question
from tests.fakes import KeywordEncoder

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "documents"  # a subset of xquad_ru_docs (README)
PAGE = """<!DOCTYPE html><html lang="ru"><head><meta charset="{charset}"><title>Театры</title></head><body>
<header><div class="logo">ШАПКАСАЙТА</div></header>
<nav><a href="/">МЕНЮГЛАВНАЯ</a> | <a href="/a">МЕНЮАРХИВ</a></nav>
<article><h1>Театры Варшавы</h1>
<p>Рядом, в Саксонском саду, Летний театр работал с 1870 по 1939 годы, а позже комплекс включал кабаре.</p>
<p>Театр Войцеха Богуславского был лучшим примером польского монументального театра своего времени.</p>
</article>
<aside>БОКОВАЯКОЛОНКА: реклама</aside>
<footer>ПОДВАЛСАЙТА © 2024, все права защищены</footer></body></html>"""
BOILERPLATE = ("ШАПКАСАЙТА", "МЕНЮГЛАВНАЯ", "МЕНЮАРХИВ", "БОКОВАЯКОЛОНКА", "ПОДВАЛСАЙТА")


def check_cover(text: str, chunks: list[Chunk], c: Chunking) -> None:
    """The chunking rule (chunk.py): exact slices, within the size, in order, covering the document without gaps
    beyond whitespace, overlapping by at most `overlap` units, never cut inside a word."""
    words = [m.span() for m in re.finditer(r"\S+", text)]

    def size(a: int, b: int) -> int:
        return b - a if c.unit == "chars" else sum(1 for s, _ in words if a <= s < b)

    assert chunks, "a document with text has chunks"
    assert chunks[0].start == words[0][0] and chunks[-1].end == words[-1][1]
    for ch in chunks:
        assert ch.text == text[ch.start : ch.end] and ch.id == f"{ch.document}#{ch.start}-{ch.end}"
        assert size(ch.start, ch.end) <= c.size or len(ch.text.split()) == 1
        assert ch.start == 0 or text[ch.start - 1].isspace(), "a chunk starts at a word start"
        assert ch.end == len(text) or text[ch.end].isspace(), "a chunk ends at a word end"
    for a, b in pairwise(chunks):
        assert a.start < b.start and a.end < b.end
        if b.start >= a.end:
            assert not text[a.end : b.start].strip(), "only whitespace between neighbours"
        else:
            assert size(b.start, a.end) <= c.overlap


@pytest.mark.parametrize(
    "chunking",
    [Chunking(300, 0), Chunking(700, 100), Chunking(1500, 200), Chunking(60, 10, "words"), Chunking(200, 0, "words")],
)
@pytest.mark.parametrize("name", ["article_01.md", "article_02.html", "article_03.txt"])
def test_chunk_spans_cover_each_document(name: str, chunking: Chunking) -> None:
    text = read_document(FIXTURE / "docs" / name)
    check_cover(text, chunk_document(name, text, chunking), chunking)


def test_chunks_end_at_sentence_ends_and_overlap_starts_at_a_sentence_when_it_can() -> None:
    text = "Первое предложение здесь. Второе предложение тут. Третье! Четвёртое предложение в конце."
    chunks = chunk_document("a.txt", text, Chunking(55, 30))
    assert [ch.text for ch in chunks] == [
        "Первое предложение здесь. Второе предложение тут.",
        "Второе предложение тут. Третье!",  # the overlap starts at the sentence start inside the window
        "Третье! Четвёртое предложение в конце.",
    ]


WORDS = st.sampled_from(
    ["театр", "Варшава", "1870", "г.", "т.е.", "«кабаре»", "—", "Ёлка.", "сад,", "оченьдлинноеслово"]
)


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.tuples(WORDS, st.sampled_from([" ", " ", "\n", "\n\n", ". ", "  "])), min_size=1, max_size=120),
    size=st.integers(5, 80),
    share=st.floats(0, 0.9),
    unit=st.sampled_from(["chars", "words"]),
)
def test_chunk_cover_holds_for_any_text(words: list[tuple[str, str]], size: int, share: float, unit: str) -> None:
    text = "".join(w + sep for w, sep in words).strip()
    c = Chunking(size, int(size * share), unit)
    check_cover(text, chunk_document("x.txt", text, c), c)


def test_html_boilerplate_is_in_no_chunk(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(PAGE.format(charset="utf-8"), encoding="utf-8")
    text = read_document(tmp_path / "page.html")
    assert "Летний театр работал с 1870 по 1939 годы" in text and "польского монументального" in text
    for c in (Chunking(100, 20), Chunking(1000, 0)):
        chunks = chunk_document("page.html", text, c)
        assert not [(b, ch.id) for ch in chunks for b in BOILERPLATE if b in ch.text]


def test_a_cp1251_page_and_koi8_text_read_correctly(tmp_path: Path) -> None:
    (tmp_path / "page.htm").write_bytes(PAGE.format(charset="windows-1251").encode("cp1251"))
    plain = "Летний театр работал с 1870 по 1939 годы.\r\n\r\nЁлка стоит в центре сада, т. е. у входа."
    (tmp_path / "old.txt").write_bytes(plain.encode("cp1251"))
    (tmp_path / "older.txt").write_bytes(plain.encode("koi8_r"))
    assert "Летний театр работал с 1870 по 1939 годы" in read_document(tmp_path / "page.htm")
    expected = plain.replace("\r\n", "\n")
    assert read_document(tmp_path / "old.txt") == expected
    assert read_document(tmp_path / "older.txt") == expected


def test_docx_text_and_unreadable_files_are_skipped_with_one_line_each(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_paragraph("Летний театр работал с 1870 по 1939 годы.")
    d.add_paragraph("Второй абзац документа.")
    d.save(tmp_path / "a.docx")
    (tmp_path / "broken.pdf").write_bytes(b"not a pdf at all")
    (tmp_path / "table.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    docs, skipped = read_folder(tmp_path, ["a.docx", "broken.pdf", "empty.txt", "table.xls"])
    assert [(d.path, d.text) for d in docs] == [
        ("a.docx", "Летний театр работал с 1870 по 1939 годы.\n\nВторой абзац документа.")
    ]
    assert [s.path for s in skipped] == ["broken.pdf", "empty.txt", "table.xls"]
    lines = [s.line() for s in skipped]
    assert all(
        "\n" not in line and line.startswith(s.path + ": skipped: ") for line, s in zip(lines, skipped, strict=True)
    )
    assert "unreadable PDF" in lines[0] and "no text" in lines[1] and "unsupported file type" in lines[2]


def tiny_pdf(lines: list[str]) -> bytes:
    """A one-page PDF (Helvetica, Latin text) showing the lines, with a correct xref table."""
    ops = "BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(f"({ln}) Tj T*" for ln in lines) + " ET"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        " /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(ops)} >>\nstream\n{ops}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    return out + f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()


def test_pdf_text_is_extracted_with_line_end_hyphens_joined(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(
        tiny_pdf(["The summer theatre worked from 1870", "to 1939. A hyphen-", "ated word."])
    )
    assert read_document(tmp_path / "a.pdf") == "The summer theatre worked from 1870\nto 1939. A hyphenated word."


def test_normalising_ignores_case_yo_spaces_punctuation_and_stress_marks() -> None:
    a, _ = normalise("«Ёлка» — стоит,\n  в цент\u0301ре\u00adсада!")
    b, _ = normalise("ёлка - СТОИТ в центре\u00adсада")
    assert a == b == "елка стоит в центресада"
    text = "Он сказал: «Ёлка — стоит»."
    norm, where = normalise(text)
    assert norm == "он сказал елка стоит" and text[where[10] : where[-1] + 1] == "Ёлка — стоит"


def test_relevance_of_a_straddling_answer_hand_checked() -> None:
    # chunks [0, 50) [40, 100) [100, 150); an answer at [45, 120) is in none whole:
    # it shares 5 chars with the first, 55 of 75 (73%) with the second, 20 (27%) with the third
    chunks = [Chunk("d", 0, 50, ""), Chunk("d", 40, 100, ""), Chunk("d", 100, 150, "")]
    assert [ch.id for ch in relevant(chunks, 45, 120)] == ["d#40-100"]
    # an answer split 50/50 makes both relevant; one held whole by two overlapping chunks makes both relevant
    assert [ch.id for ch in relevant(chunks, 75, 125)] == ["d#40-100", "d#100-150"]
    assert [ch.id for ch in relevant(chunks, 42, 48)] == ["d#0-50", "d#40-100"]
    # spread over three chunks with none holding half: the chunk holding the most
    three = [Chunk("d", 0, 10, ""), Chunk("d", 10, 20, ""), Chunk("d", 20, 30, "")]
    assert [ch.id for ch in relevant(three, 6, 25)] == ["d#10-20"]


def test_a_straddling_answer_end_to_end() -> None:
    s1 = "Первое предложение довольно длинное и про театр."
    s2 = "Второе предложение рассказывает о Летнем саде."
    text = f"{s1} {s2} Третье завершает."
    chunks = {"d.txt": chunk_document("d.txt", text, Chunking(70, 0))}
    assert [ch.text for ch in chunks["d.txt"]] == [s1, s2 + " Третье завершает."]
    # the answer quotes the end of s1 and the start of s2: 20 of its 52 characters (38%) in the first chunk, 31 (60%)
    # in the second, which alone is relevant
    q = Question(2, "О чём?", "длинное и про театр. Второе предложение рассказывает", "d.txt")
    located = locate([q], {"d.txt": text})
    (span,) = located.spans["q2"]
    assert text[span[1] : span[2]] == q.answer and span[2] - span[1] == 52
    assert qrels(located, chunks) == {"q2": {f"d.txt#{len(s1) + 1}-{len(text)}": 1}}


def _task_dir(tmp_path: Path, yaml_extra: str, extra_rows: list[list[str]] = ()) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "ours")
    with (tmp_path / "ours" / "questions.csv").open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(extra_rows)
    task = tmp_path / "ours" / "task.yaml"
    task.write_text(
        "name: ours\ncategory: retrieval\ndocuments: docs\nquestions: questions.csv\n" + yaml_extra, encoding="utf-8"
    )
    return task


BOGUS = ["Где находится Атлантида?", "Атлантида находится под водой у берегов Гренландии.", ""]


def test_an_unmatched_answer_is_reported_not_dropped(tmp_path: Path) -> None:
    task = _task_dir(tmp_path, "chunking: {size: 1000, overlap: 100}\n", [BOGUS])
    lines: list[str] = []
    (built,) = build_documents(load_tasks([task]), tmp_path / "out", lines.append)
    folder = tmp_path / "out" / "documents" / "ours@1000"
    assert built.source == LocalSource(folder)
    with (folder / "unmatched.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["file"], r["row"], r["question"], r["reason"]) for r in rows] == [
        (str(task.parent / "questions.csv"), "26", BOGUS[0], "not found in any document")
    ]
    queries = [json.loads(line)["_id"] for line in (folder / "queries.jsonl").open(encoding="utf-8")]
    assert len(queries) == 24 and "q26" not in queries
    info = built.documents.task_info()
    assert (info["questions"], info["unmatched"], info["documents"]) == (24, 1, 3)
    assert notes([built]) == [f"ours: 1 question(s) unmatched, left out (see {folder / 'unmatched.csv'})"]


def test_too_many_unmatched_answers_fail_the_task_with_one_line(tmp_path: Path) -> None:
    task = _task_dir(tmp_path, "chunking: {size: 1000, overlap: 100}\nmax_unmatched: 0.02\n", [BOGUS])
    with pytest.raises(UserError) as err:
        build_documents(load_tasks([task]), tmp_path / "out", lambda _m: None)
    line = str(err.value)
    assert "\n" not in line and "unmatched.csv" in line and "1 of 25 questions (4.0%)" in line
    assert "check the answers" in line and (tmp_path / "out/documents/ours@1000/unmatched.csv").is_file()


def test_built_folder_is_an_ordinary_retrieval_task(tmp_path: Path) -> None:
    from embbench.data import load
    from embbench.spec import TaskSpec

    task = _task_dir(tmp_path, "chunking: {size: 1000, overlap: 100}\n")
    build_documents(load_tasks([task]), tmp_path / "out", lambda _m: None)
    folder = tmp_path / "out" / "documents" / "ours@1000"
    data = load(TaskSpec("plain", "retrieval", LocalSource(folder), task))  # no documents source: plain BEIR
    corpus = {json.loads(r)["_id"]: json.loads(r)["text"] for r in (folder / "corpus.jsonl").open(encoding="utf-8")}
    assert data.corpus == corpus and len(data.queries) == 24
    with (task.parent / "questions.csv").open(encoding="utf-8") as fh:
        answers = {f"q{i}": r["answer"] for i, r in enumerate(csv.DictReader(fh), 2)}
    for qid, docs in data.qrels.items():  # a relevant chunk holds its answer (xquad answers are whole sentences)
        assert all(normalise(answers[qid])[0] in normalise(corpus[cid])[0] for cid in docs)
    assert not any(b in t for t in corpus.values() for b in ("Главная | Архив", "© архив"))


def test_identical_chunks_across_sizes_are_encoded_once(tmp_path: Path) -> None:
    import contextlib

    from embbench.run.executor import LocalExecutor
    from embbench.run.runner import run

    # article_03.txt (4630 bytes, ~2.5k chars) is one chunk at 3000 and 6000 characters; the other two are longer
    task = _task_dir(tmp_path, "chunking: {sizes: [3000, 6000], overlap: 0}\n")
    out = tmp_path / "out"
    tasks = build_documents(load_tasks([task]), out, lambda _m: None)
    corpora = [
        {json.loads(r)["text"] for r in (t.source.folder / "corpus.jsonl").open(encoding="utf-8")} for t in tasks
    ]
    shared = corpora[0] & corpora[1]
    assert len(shared) >= 1
    encoder = KeywordEncoder(["театр", "варшава", "норманн", "лютер", "год"])

    class Fake(LocalExecutor):  # the keyword encoder stands in for a model
        def encoder(self, spec, sink):  # type: ignore[no-untyped-def]
            return contextlib.nullcontext(encoder)

    summary = run([_spec()], tasks, out, executor=Fake(), log=lambda _m: None)
    assert summary.written == [("fake", "ours@3000"), ("fake", "ours@6000")]
    first, second = (json.loads((out / "results" / "fake" / f"{t.name}.json").read_text()) for t in tasks)
    assert first["embedding"]["from_cache"] == 0
    # the 24 questions and the shared chunks come from the cache; only the new chunks are encoded
    e = second["embedding"]
    assert e["from_cache"] == 24 + len(shared) and e["encoded"] == len(corpora[1] - shared)
    assert second["task_info"]["documents"]["size"] == 6000 and second["task_info"]["documents"]["unmatched"] == 0


def _spec():  # type: ignore[no-untyped-def]
    from embbench.spec import ModelSpec

    return ModelSpec(name="fake", model="fake")


def test_embbench_run_builds_the_sweep_and_reports_skipped_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("bm25s")
    from embbench.cli import main

    task = _task_dir(tmp_path, "chunking: {sizes: [800, 1600]}\n")
    (task.parent / "docs" / "notes.odt").write_bytes(b"PK\x03\x04")  # unsupported: listed, skipped
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  - name: bm25\n    backend: bm25\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(
        ["run", "--models", str(models), "--tasks", str(task), "--output", str(out), "--no-speed", "--no-cache"]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    for size in (800, 1600):
        record = json.loads((out / "results" / "bm25" / f"ours@{size}.json").read_text(encoding="utf-8"))
        assert record["main_metric"] == "ndcg_at_10" and 0 < record["main_score"] <= 1
        data = record["task_info"]["data"]  # the built folder, as a portable path (no absolute local path)
        assert record["n_items"] == 24 and data.endswith(f"ours@{size}") and not data.startswith("/")
        assert record["task_info"]["documents"]["skipped"] == [
            ["notes.odt", record["task_info"]["documents"]["skipped"][0][1]]
        ]
    skipped = [line for line in err.splitlines() if "notes.odt: skipped: unsupported file type" in line]
    assert len(skipped) == 2  # once when read, once in the list at the end
