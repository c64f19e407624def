"""`embbench questions` against a messy OpenAI-compatible chat server on 127.0.0.1: every filter exercised and
counted, the file runs as a documents task, a killed generation resumes, bad input is one line."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from embbench.cli import main as embbench
from embbench.data.documents.build import build_documents
from embbench.questions.filters import FILTERS
from embbench.questions.generate import HEADER, sidecar_path
from embbench.questions.prompts import PROMPT_VERSION
from embbench.spec import load_tasks
from tests.questions.chat_server import MODEL, ChatServer

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "tests" / "fixtures" / "documents" / "docs"
SIZE = "400"  # 35 passages in the fixture's three documents


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def main(argv: list[str]) -> int:
    return embbench(["questions", *argv])


def args(server: ChatServer, out: Path, n: int, *extra: str) -> list[str]:
    return [
        "--documents",
        str(DOCS),
        "--out",
        str(out),
        "--llm",
        server.url,
        "--llm-model",
        MODEL,
        "--n",
        str(n),
        "--chunk-size",
        SIZE,
        "--seed",
        "0",
        *extra,
    ]


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and err.strip().endswith(errors[0]) and "Traceback" not in err, err
    return errors[0]


def test_every_filter_is_exercised_and_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "questions.csv"
    with ChatServer() as server:
        assert main(args(server, out, 8, "--concurrency", "3", "--price-in", "0.5", "--price-out", "2")) == 0
    got = rows(out)
    assert len(got) == 8 and list(got[0]) == HEADER
    record = json.loads(sidecar_path(out).read_text(encoding="utf-8"))["generated_by"]
    counts = record["counts"]
    # the server's answers trip every filter but the --verify one (tested below)
    for name in FILTERS:
        assert (counts[name] > 0) == (name != "not_answered"), (name, counts)
    assert counts["malformed"] == 1 and counts["retried_malformed"] == 2  # passage 2 retried then good; 3 skipped
    per_candidate = sum(counts[k] for k in FILTERS) + counts["accepted"] + counts["spare"]
    assert per_candidate == counts["candidates"] and counts["accepted"] == 8
    assert record["retries"] >= 1 and server.rate_limited == 1  # the 429 was retried
    assert record["tokens"] == {"in": server.prompt_tokens, "out": server.completion_tokens}
    assert record["cost_usd"] == pytest.approx(server.prompt_tokens * 0.5e-6 + server.completion_tokens * 2e-6)
    assert record["llm"] == server.url.rsplit("/v1", 1)[0] and record["model"] == MODEL and record["seed"] == 0
    assert record["prompt_version"] == PROMPT_VERSION and record["date"] and record["questions"] == 8
    for r in got:  # the good question of each passage, with the passage's first sentence, in Russian
        assert r["question"].startswith("Что известно про") and r["answer"] and r["passage"].startswith(r["document"])
    assert len({r["question"] for r in got}) == 8 and len({r["passage"] for r in got}) == 8
    assert server.bodies[0]["response_format"]["type"] == "json_schema"  # structured output was asked for
    err = capsys.readouterr().err
    assert "8 questions" in err and "near_duplicate" in err


def test_the_file_runs_as_a_documents_task(tmp_path: Path) -> None:
    out = tmp_path / "questions.csv"
    with ChatServer() as server:
        assert main(args(server, out, 6)) == 0
    task = tmp_path / "generated.yaml"
    task.write_text(
        f"name: generated\ncategory: retrieval\ndocuments: {DOCS}\nquestions: {out}\n"
        f"chunking: {{size: {SIZE}, overlap: 40}}\nmax_unmatched: 0\n",
        encoding="utf-8",
    )
    (built,) = build_documents(load_tasks([task]), tmp_path / "run", lambda _m: None)
    assert built.documents is not None and built.documents.built is not None
    assert built.documents.built.unmatched == 0 and built.documents.built.questions == 6
    queries = (tmp_path / "run" / "documents" / f"generated@{SIZE}" / "queries.jsonl").read_text(encoding="utf-8")
    assert len(queries.splitlines()) == 6


def test_verify_pass_drops_questions_the_passage_does_not_answer(tmp_path: Path) -> None:
    out = tmp_path / "questions.csv"
    with ChatServer(unanswerable=True) as server:
        assert main(args(server, out, 4, "--verify", "--concurrency", "1")) == 0
    counts = json.loads(sidecar_path(out).read_text(encoding="utf-8"))["generated_by"]["counts"]
    assert counts["not_answered"] >= 4 and server.verify_requests >= 8
    assert all("билет" not in r["question"] for r in rows(out))


def test_a_killed_generation_resumes_without_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "questions.csv"
    with ChatServer() as server:
        env = {**os.environ, "PYTHONPATH": str(REPO), "EMBBENCH_TEST_KILL_AT": "question_row:3"}
        cmd = [sys.executable, "-m", "embbench", "questions", *args(server, out, 7, "--concurrency", "1")]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == -9, proc.stderr
        first = rows(out)
        assert len(first) == 3
        asked = server.chat_requests
        assert main(args(server, out, 7, "--concurrency", "1")) == 0
        assert main(args(server, out, 7, "--concurrency", "1")) == 0  # complete: asks nothing more
        final = rows(out)
        assert len(final) == 7 and final[:3] == first
        assert len({r["question"] for r in final}) == 7 and len({r["passage"] for r in final}) == 7
        assert server.chat_requests > asked
        record = json.loads(sidecar_path(out).read_text(encoding="utf-8"))["generated_by"]
        assert record["questions"] == 7 and record["runs"] == 2


def test_a_torn_last_row_is_dropped_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "questions.csv"
    with ChatServer() as server:
        assert main(args(server, out, 3)) == 0
        out.write_bytes(out.read_bytes() + "Что известно про обрыв".encode())
        assert main(args(server, out, 4)) == 0
    assert len(rows(out)) == 4 and all(r["passage"] for r in rows(out))


def test_no_documents_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    with ChatServer() as server:
        argv = args(server, tmp_path / "q.csv", 3)
        argv[1] = str(tmp_path / "empty")
        assert "has no files" in one_line_error(capsys, argv)


def test_n_larger_than_the_passages_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ChatServer() as server:
        assert "more than the 35 passages" in one_line_error(capsys, args(server, tmp_path / "q.csv", 36))


def test_a_rejected_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for list_models in (True, False):  # refused by GET /models, or by the chat request itself (vLLM's 404)
        with ChatServer(list_models=list_models) as server:
            argv = args(server, tmp_path / "q.csv", 3)
            argv[argv.index(MODEL)] = "no-such-model"
            assert "field '--llm-model'" in one_line_error(capsys, argv)


def test_an_unreachable_llm_is_one_line_and_keeps_what_was_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "q.csv"
    with ChatServer() as server:
        assert main(args(server, out, 3)) == 0
    before = out.read_bytes()
    capsys.readouterr()
    line = one_line_error(capsys, args(server, out, 5))  # the server is gone
    assert "no LLM answering" in line and out.read_bytes() == before


def test_key_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with ChatServer() as server:
        argv = args(server, tmp_path / "q.csv", 3, "--api-key-env", "GITHUB_TOKEN")
        assert "not read as an API key" in one_line_error(capsys, argv)
        monkeypatch.setenv("REMOTE_API_KEY", "sk-secret-value")
        argv = args(server, tmp_path / "q.csv", 3, "--api-key-env", "REMOTE_API_KEY")
        argv[argv.index(server.url)] = "http://example.invalid:8000/v1"
        line = one_line_error(capsys, argv)
        assert "unencrypted" in line and "sk-secret" not in line
    assert not (tmp_path / "q.csv").exists()


def test_a_run_over_generated_and_real_questions_reports_the_bm25_leakage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("bm25s")

    out = tmp_path / "questions.csv"
    with ChatServer() as server:
        assert main(args(server, out, 10)) == 0
    real = REPO / "tests" / "fixtures" / "documents" / "questions.csv"
    tasks = []
    for name, questions in (("generated", out), ("real", real)):
        task = tmp_path / f"{name}.yaml"
        task.write_text(
            f"name: {name}\ncategory: retrieval\ndocuments: {DOCS}\nquestions: {questions}\nchunking: {{size: 800}}\n",
            encoding="utf-8",
        )
        tasks.append(str(task))
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  - name: bm25\n    backend: bm25\n", encoding="utf-8")
    report = tmp_path / "out"
    argv = ["run", "--models", str(models), "--tasks", *tasks, "--output", str(report), "--no-speed", "--no-cache"]
    assert embbench(argv) == 0, capsys.readouterr().err
    record = json.loads((report / "results" / "bm25" / "generated.json").read_text(encoding="utf-8"))
    by = record["task_info"]["documents"]["generated_by"]  # the record travels into the results
    assert by["model"] == MODEL and by["questions"] == 10 and by["counts"]["accepted"] == 10
    scores = {
        t: json.loads((report / "results" / "bm25" / f"{t}.json").read_text(encoding="utf-8"))["main_score"]
        for t in ("generated", "real")
    }
    gap = f"{(scores['generated'] - scores['real']) * 100:+.1f} points"
    md = (report / "leaderboard.md").read_text(encoding="utf-8")
    assert f"generated: questions generated by {MODEL} (prompt ru-1): BM25 leakage {gap}" in md
