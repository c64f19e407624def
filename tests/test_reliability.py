"""Reliability: killed runs, concurrent runs, unwritable output, odd input, unusable vectors, unsafe input.

The kill and concurrency tests run `python -m embbench run` in subprocesses over the seven tiny tasks of
tests/test_cli.py (packaged all-MiniLM-L6-v2, max_seq_length 64) and compare every metric with one uninterrupted
run. Kills land at exact places through the test-only hook EMBBENCH_TEST_KILL_AT (embbench/_faults.py). The other
tests run in-process, most with small fake backends registered from here (nothing is downloaded).
"""

from __future__ import annotations

import csv
import errno
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"  # conftest sets it too; this file must never reach the network
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np
import pytest

from embbench.encode.backends import BACKENDS, Backend
from embbench.encode.cache import DiskCache, SegmentStore
from embbench.results import load_results
from tests.test_cli import (
    MINILM,
    MINILM_ENTRY,
    MODEL,
    TASKS,
    Result,
    cli,
    make_data,
    make_tasks,
    write_jsonl,
    write_models,
    write_task,
)

PROGRESS = re.compile(r"^  \((\d+)/(\d+)\) (\S+) \[")  # runner: "  (i/n) task [category]"
EVERY_TASK = sorted(TASKS.values())  # tasks run in task-file order


# ------------------------------------------------------------------------------------------------ helpers


@dataclass
class Suite:
    root: Path
    data: dict[str, Path]
    task_dir: Path
    tasks: dict[str, Path]
    models: Path
    reference: Path  # output folder of one uninterrupted run
    reference_cache: Path


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """The tiny suite and one uninterrupted run of it (in-process, into its own fresh cache)."""
    root = tmp_path_factory.mktemp("reliability")
    data = make_data(root / "data")
    task_dir = root / "tasks"
    tasks = make_tasks(task_dir, data)
    models = write_models(root / "models.yaml", [MINILM_ENTRY])
    reference, cache = root / "reference", root / "reference-cache"
    res = cli("run", "--models", models, "--tasks", task_dir, "--output", reference, "--cache-dir", cache, "--no-speed")
    assert res.code == 0, res.err
    yield Suite(root, data, task_dir, tasks, models, reference, cache)


def spawn(s: Suite, output: Path, cache: Path, kill_at: str | None = None) -> subprocess.Popen:
    """`python -m embbench run` over the suite in a subprocess (stderr captured)."""
    env = {k: v for k, v in os.environ.items() if k != "EMBBENCH_TEST_KILL_AT"}
    # one thread each: two runs at once (or a busy CI box) do not oversubscribe the cores; the vectors are the same
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
    if kill_at:
        env["EMBBENCH_TEST_KILL_AT"] = kill_at
    argv = ["run", "--models", s.models, "--tasks", s.task_dir, "--output", output, "--cache-dir", cache, "--no-speed"]
    return subprocess.Popen(
        [sys.executable, "-m", "embbench", *map(str, argv)],
        cwd=s.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def results(output: Path) -> dict[str, dict[str, Any]]:
    """task -> parsed result of the one model (every file must be valid JSON)."""
    out = {}
    for p in sorted((output / "results").glob(f"{MODEL}/*.json")):
        record = json.loads(p.read_text(encoding="utf-8"))
        assert (record["model"], f"{record['task']}.json") == (MODEL, p.name), p
        out[record["task"]] = record
    return out


def started(err: str) -> list[str]:
    """Tasks whose evaluation began in a run, in order."""
    return [m.group(3) for m in map(PROGRESS.match, err.splitlines()) if m]


def assert_same_scores(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Every metric and every per-item value equal, bit for bit (the vectors are float32 from the cache)."""
    assert got["n_items"] == want["n_items"], got["task"]
    assert got["main_score"] == want["main_score"], got["task"]
    assert got["metrics"] == want["metrics"], got["task"]
    assert got["items"] == want["items"], got["task"]
    assert got["task_info"]["data_fingerprint"] == want["task_info"]["data_fingerprint"]


def error_lines(res: Result) -> list[str]:
    return [line for line in res.err.splitlines() if line.startswith("error:")]


# ------------------------------------------------------------------------------------------- killed runs


def kill_and_check(s: Suite, output: Path, cache: Path, kill_at: str, before: set[str]) -> tuple[str, set[str]]:
    """Run with a kill point; it must die by SIGKILL having lost only the task in progress."""
    code, err = finish(spawn(s, output, cache, kill_at))
    assert code == -signal.SIGKILL, (kill_at, code, err)
    began = started(err)
    assert began, err
    *finished, current = began
    have = results(output)  # every file present parses
    assert set(have) == before | set(finished), (kill_at, sorted(have), began)
    assert current not in have
    assert {r.task for r in load_results(output)} == set(have)  # temporary files are not taken for results
    return current, set(have)


def test_killed_runs_resume_to_identical_results(suite: Suite, tmp_path: Path) -> None:
    """Kill a run during encoding, then its resumption during a cache write, then that one's resumption during a
    result write; a last plain run completes, and every result equals the uninterrupted run's bit for bit."""
    output, cache = tmp_path / "reports", tmp_path / "cache"

    # 1. during encoding: the 4th encode call of a fresh cache (in the third task: the second encodes once)
    current, have = kill_and_check(suite, output, cache, "encode:4", set())
    assert have, "no task finished before the kill"

    # 2. during a cache write: vectors renamed into place, keys not yet -> an orphan segment readers ignore
    segments_before = set(cache.rglob("*.npy"))
    current2, have2 = kill_and_check(suite, output, cache, "cache_write:3", have)
    assert current in have2 and len(have2) > len(have)  # the task killed in 1 was redone, and more
    have = have2
    orphans = [p for p in set(cache.rglob("*.npy")) - segments_before if not p.with_suffix(".keys").exists()]
    assert len(orphans) == 1, orphans
    store = SegmentStore(orphans[0].parent)
    store._refresh()
    assert orphans[0].stem not in store.segments

    # 3. during a result write: temporary file complete, not yet renamed -> left behind, never read as a result
    current3, have = kill_and_check(suite, output, cache, "result_write:2", have)
    assert current2 in have and current3 not in have
    leftovers = list((output / "results" / MODEL).glob(".*.tmp"))
    assert [p.name.split(".json.")[0] for p in leftovers] == [f".{current3}"], leftovers
    res = cli("report", "--output", output, "--no-charts", "--no-html", "--resamples", "10")
    assert res.code == 0, res.err
    board = json.loads((output / "leaderboard.json").read_text(encoding="utf-8"))
    assert {t["task"] for t in board["tasks"]} == have

    # 4. a plain run (in-process: no hook, and no second interpreter start-up) finishes from cache and files
    res = cli(
        "run",
        "--models",
        suite.models,
        "--tasks",
        suite.task_dir,
        "--output",
        output,
        "--cache-dir",
        cache,
        "--no-speed",
    )
    assert res.code == 0, res.err
    assert f"{len(EVERY_TASK) - len(have)} written, {len(have)} already present" in res.err, res.err
    got, want = results(output), results(suite.reference)
    assert sorted(got) == sorted(want) == EVERY_TASK
    for task in EVERY_TASK:
        assert_same_scores(got[task], want[task])
    assert sum(r["entries"] for r in DiskCache(cache).info()) > 0


# -------------------------------------------------------------------------------------------- concurrency


def test_two_runs_at_once_share_cache_and_output(suite: Suite, tmp_path: Path) -> None:
    output, cache = tmp_path / "reports", tmp_path / "cache"
    procs = [spawn(suite, output, cache) for _ in range(2)]
    outcomes = [finish(p) for p in procs]
    for code, err in outcomes:
        assert code == 0, err
        assert "Traceback" not in err and "database is locked" not in err, err
    got, want = results(output), results(suite.reference)
    assert sorted(got) == EVERY_TASK
    for task in EVERY_TASK:
        assert_same_scores(got[task], want[task])
    assert not [p for p in output.rglob("*") if p.name.endswith(".tmp")], "temporary files left behind"
    json.loads((output / "leaderboard.json").read_text(encoding="utf-8"))
    with (output / "leaderboard_wide.csv").open(encoding="utf-8", newline="") as fh:
        assert [r["model"] for r in csv.DictReader(fh)] == [MODEL]
    for chart in (output / "charts").glob("*.svg"):
        assert chart.read_text(encoding="utf-8").rstrip().endswith("</svg>"), chart
    # the shared cache holds every vector readable (possibly twice: both runs may have encoded a text)
    for folder in (p for p in cache.iterdir() if p.is_dir()):
        store = SegmentStore(folder)
        store._refresh()
        got_vecs = store.get_many(list(store.index))
        assert all(np.isfinite(v).all() for v in got_vecs.values())


HAMMER = """
import sys
from pathlib import Path
from embbench._io import atomic_write_text as _write_text
from embbench.results import write_json_atomic
folder, tag = Path(sys.argv[1]), sys.argv[2]
for i in range(300):
    _write_text(folder / "board.md", tag * (100000 + i))
for i in range(100):
    write_json_atomic(folder / "board.json", {"tag": tag, "i": i, "pad": tag * (1000 + i)})
"""


def test_leaderboard_writers_never_collide(tmp_path: Path) -> None:
    """Two processes rewriting the same leaderboard files: no crash, and always a whole file of one of them (the
    temporary file of each is its own; a shared name once let one process rename the other's half-written file)."""
    procs = [
        subprocess.Popen([sys.executable, "-c", HAMMER, str(tmp_path), tag], stderr=subprocess.PIPE, text=True)
        for tag in ("a", "b")
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    md = (tmp_path / "board.md").read_text()
    assert set(md) in ({"a"}, {"b"}) and len(md) == 100299
    board = json.loads((tmp_path / "board.json").read_text())
    assert board["i"] == 99 and board["pad"] == board["tag"] * 1099
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board.json", "board.md"]


# ------------------------------------------------------------------------------------ unwritable output


def _run(s: Suite, output: Path, *tasks: Path, models: Path | None = None, cache: Path | None = None) -> Result:
    return cli(
        "run",
        "--models",
        models or s.models,
        "--tasks",
        *(tasks or (s.task_dir,)),
        "--output",
        output,
        "--cache-dir",
        cache or s.reference_cache,
        "--no-speed",
    )


def test_output_under_a_file_fails_before_loading_a_model(suite: Suite, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    output = blocker / "reports"  # fails for root too
    res = _run(suite, output)
    assert res.code == 2, res.err
    assert "Traceback" not in res.err
    [line] = error_lines(res)
    assert line.startswith(f"error: {output}: cannot write") and "(fix: " in line, line
    assert "loading" not in res.err  # checked before any model
    assert blocker.read_text() == "not a folder\n"


def test_full_disk_before_the_run_fails_before_loading_a_model(
    suite: Suite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        if data.startswith(b"embbench write probe"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    output = tmp_path / "reports"
    res = _run(suite, output)
    assert res.code == 2, res.err
    [line] = error_lines(res)
    assert str(output) in line and "No space left on device" in line and "(fix: " in line, line
    assert "loading" not in res.err
    assert not list(output.rglob("*.tmp"))


def test_full_disk_mid_run_stops_with_one_line_and_keeps_results(
    suite: Suite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "reports"
    results_dir = output / "results"
    real_replace = os.replace
    calls = []

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if Path(dst).parent.parent == results_dir:  # result files only, not the cache
            calls.append(dst)
            if len(calls) == 3:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    res = _run(suite, output)
    assert res.code == 2, res.err
    assert "Traceback" not in res.err
    [line] = error_lines(res)
    failed = Path(calls[2])
    assert line.startswith(f"error: {failed}: cannot write (No space left on device)") and "(fix: " in line, line
    kept = results(output)
    assert sorted(kept) == EVERY_TASK[:2]
    want = results(suite.reference)
    for task, record in kept.items():
        assert_same_scores(record, want[task])
    assert not list(results_dir.rglob("*.tmp")), "the failed write left its temporary file"
    assert len(res.err.splitlines()) < 20  # it stopped there


# --------------------------------------------------------------------------------------------- fake models


class FakeEncoder:
    """A tiny backend: hashed bag-of-characters vectors; `options: {mode: ...}` makes it misbehave.

    Modes: ok, nan (a NaN in one vector), inf, width (the width changes after the first call), count (one vector
    too few), const (every text the same vector). Every text it is asked to encode is recorded in SEEN.
    """

    SEEN: list[str] = []  # noqa: RUF012 (a test-wide record)
    similarity_fn = "cosine"

    def __init__(self, spec: Any):
        self.spec = spec
        self.mode = spec.options.get("mode", "ok")
        self.calls = 0

    def identity(self) -> dict[str, Any]:
        return {"backend": "test-fake", "name": self.spec.name, "mode": self.mode}

    def provenance(self) -> dict[str, Any]:
        return self.identity()

    def builtin_prompts(self) -> dict[str, str]:
        return {}

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        FakeEncoder.SEEN.extend(texts)
        self.calls += 1
        dim = 12 if self.mode == "width" and self.calls > 1 else 16
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for ch in prompt + t:
                out[i, ord(ch) % dim] += 1.0
            out[i, 0] += 1.0
        if self.mode == "const":
            out[:] = 1.0
        if self.mode == "nan" and len(out):
            out[len(out) // 2, 3] = np.nan
        if self.mode == "inf" and len(out):
            out[0, 0] = np.inf
        if self.mode == "count":
            out = out[:-1]
        return out


@pytest.fixture
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> type[FakeEncoder]:
    monkeypatch.setitem(BACKENDS, "test-fake", Backend(f"{__name__}:FakeEncoder"))
    FakeEncoder.SEEN = []
    return FakeEncoder


def fake_entry(name: str, mode: str = "ok") -> dict[str, Any]:
    return {"name": name, "model": f"fake-{mode}", "backend": "test-fake", "options": {"mode": mode}}


@pytest.mark.parametrize("mode", ["nan", "inf", "width", "count"])
def test_unusable_vectors_fail_that_model_only(
    suite: Suite, tmp_path: Path, fake_backend: type[FakeEncoder], mode: str
) -> None:
    models = write_models(tmp_path / "models.yaml", [fake_entry("bad", mode), fake_entry("good")])
    tasks = (suite.tasks["sts"], suite.tasks["pair_classification"])
    output = tmp_path / "reports"
    res = _run(suite, output, *tasks, models=models, cache=tmp_path / "cache")
    assert res.code == 2, res.err
    assert "Traceback" not in res.err
    summary = [line for line in res.err.splitlines() if line.startswith("FAILED:")]
    names = (TASKS["pair_classification"], TASKS["sts"])  # "width": changes at the 2nd call, stays changed
    assert len(summary) == len(names), res.err
    for task in names:
        [line] = [line for line in summary if f"'{task}'" in line]
        assert line.startswith(f"FAILED: bad / {task}: model 'bad'") and "unusable vectors" in line, line
    assert not (output / "results" / "bad").exists()
    assert sorted(p.stem for p in (output / "results" / "good").glob("*.json")) == sorted(
        TASKS[c] for c in ("pair_classification", "sts")
    )


# ------------------------------------------------------------------------------------------- odd input

ODD_TEXTS = [
    "Ёлка и елка: ё и е",
    "zero\u200bwidth\u200bspace",
    "control \x01\x07\x1b[0m chars\x7f",
    "mixed scripts: Привет world, Москва-city, cafe\u0301",
    "tab\tinside and trailing space ",
    "\ufeffa BOM inside the text",
    "line one\nline two",
    "quotes \"double\" and 'single', comma, semicolon;",
    "emoji 🙂 and CJK 漢字",
    "right-to-left \u202eabc\u202c mark",
]


def write_csv(path: Path, header: list[str], rows: list[list[Any]], *, bom: bool, crlf: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n" if crlf else "\n")
        w.writerow(header)
        w.writerows(rows)


def write_jsonl_raw(path: Path, rows: list[dict], *, bom: bool, crlf: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(json.dumps(r, ensure_ascii=False) + ("\r\n" if crlf else "\n") for r in rows)
    path.write_bytes(("\ufeff" if bom else "").encode() + body.encode("utf-8"))


def test_odd_input_reaches_the_encoder_unchanged(tmp_path: Path, fake_backend: type[FakeEncoder]) -> None:
    """BOM, CRLF line ends, quoted newlines (CSV), ё/е, zero-width, control chars, mixed scripts: texts arrive as
    written, every row is counted."""
    texts = [f"{t} #{i}" for i, t in enumerate(ODD_TEXTS)]
    data = tmp_path / "data"
    # classification: CSV with a BOM and CRLF, quoted newlines inside texts
    train = [[t, "ab"[i % 2]] for i, t in enumerate(texts)]
    test = [[t + " (test)", "ab"[i % 2]] for i, t in enumerate(texts)]
    write_csv(data / "cls" / "train.csv", ["text", "label"], train, bom=True, crlf=True)
    write_csv(data / "cls" / "test.csv", ["text", "label"], test, bom=True, crlf=True)
    # STS: JSONL with a BOM and CRLF; pair classification: CSV without a BOM, LF, newline in a quoted text
    sts = [{"sentence1": t, "sentence2": f"{t} и ещё {'ж' * i}", "score": i % 5} for i, t in enumerate(texts)]
    write_jsonl_raw(data / "sts" / "test.jsonl", sts, bom=True, crlf=True)
    pairs = [[t, f"вторая\r\nстрока {i}", i % 2] for i, t in enumerate(texts)]
    write_csv(data / "pc" / "test.csv", ["sentence1", "sentence2", "label"], pairs, bom=False, crlf=False)
    task_dir = tmp_path / "tasks"
    for name, cat, extra in (
        ("odd_cls", "classification", {"params": {"n_experiments": 2}}),
        ("odd_sts", "sts", {"score_range": [0, 4]}),
        ("odd_pc", "pair_classification", {}),
    ):
        write_task(task_dir, {"name": name, "category": cat, "data": f"../data/{name[4:]}", **extra})
    models = write_models(tmp_path / "models.yaml", [fake_entry("rec")])
    output = tmp_path / "reports"
    res = cli("run", "--models", models, "--tasks", task_dir, "--output", output, "--no-cache", "--no-speed")
    assert res.code == 0, res.err
    expected = {
        *texts,
        *(r[0] for r in test),
        *(r["sentence2"] for r in sts),
        *(r[1] for r in pairs),
    }
    assert set(FakeEncoder.SEEN) == expected
    assert "line one\nline two #6" in FakeEncoder.SEEN and "вторая\r\nстрока 3" in FakeEncoder.SEEN
    for name in ("odd_cls", "odd_sts", "odd_pc"):
        record = json.loads((output / "results" / "rec" / f"{name}.json").read_text(encoding="utf-8"))
        assert record["n_items"] == len(texts), name


def test_very_long_texts_are_truncated_by_the_model(tmp_path: Path) -> None:
    long = [("Очень длинный текст про погоду в Москве. " * 500)[: 20000 + i] for i in range(6)]
    rows = [{"sentence1": t, "sentence2": f"короткий текст {i}", "score": i % 5} for i, t in enumerate(long)]
    write_jsonl(tmp_path / "data" / "test.jsonl", rows)
    task = write_task(tmp_path / "tasks", {"name": "long", "category": "sts", "data": "../data", "score_range": [0, 5]})
    models = write_models(tmp_path / "models.yaml", [MINILM_ENTRY])
    output = tmp_path / "reports"
    res = cli("run", "--models", models, "--tasks", task, "--output", output, "--no-cache", "--no-speed")
    assert res.code == 0, res.err
    record = json.loads((output / "results" / MODEL / "long.json").read_text(encoding="utf-8"))
    assert record["n_items"] == 6 and np.isfinite(record["main_score"])
    if record.get("truncation"):
        assert record["truncation"]["max_tokens"] == 64
        assert record["truncation"]["share_truncated"] >= 0.5  # the six long ones of twelve texts


@pytest.mark.parametrize("kind", ["jsonl", "csv", "qrels"])
def test_non_utf8_data_is_a_one_line_error(suite: Suite, tmp_path: Path, kind: str) -> None:
    data = tmp_path / "data"
    if kind == "qrels":
        for name in ("corpus", "queries"):
            (data / f"{name}.jsonl").parent.mkdir(parents=True, exist_ok=True)
            (data / f"{name}.jsonl").write_text('{"_id": "1", "text": "текст"}\n', encoding="utf-8")
        bad = data / "qrels" / "test.tsv"
        bad.parent.mkdir()
        bad.write_bytes(b"query-id\tcorpus-id\tscore\n1\t1\t1\n" + "кот\t1\t1\n".encode("cp1251"))
        spec = {"name": "enc", "category": "retrieval", "data": "../data"}
    else:
        bad = data / f"test.{kind}"
        bad.parent.mkdir(parents=True)
        body = (
            '{"sentence1": "кот", "sentence2": "пёс", "score": 1}\n'
            if kind == "jsonl"
            else "sentence1,sentence2,score\nкот,пёс,1\n"
        )
        bad.write_bytes(body.encode("cp1251"))  # the usual Windows Cyrillic code page
        spec = {"name": "enc", "category": "sts", "data": "../data", "score_range": [0, 5]}
    task = write_task(tmp_path / "tasks", spec)
    res = cli("run", "--models", suite.models, "--tasks", task, "--output", tmp_path / "out", "--no-speed")
    assert res.code == 2, res.err
    assert "Traceback" not in res.err
    [line] = error_lines(res)
    assert str(bad) in line and "not UTF-8" in line and "(fix: " in line, line


def test_gzipped_jsonl_reads_as_the_plain_file_and_a_truncated_one_is_one_line(suite: Suite, tmp_path: Path) -> None:
    import gzip

    from embbench.data.files import find_split_file, read_records

    rows = [{"sentence1": f"кот {i}", "sentence2": f"пёс {i}", "score": i % 5} for i in range(40)]
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    plain, zipped = tmp_path / "plain", tmp_path / "zipped"
    plain.mkdir(), zipped.mkdir()
    (plain / "test.jsonl").write_bytes(body)
    (zipped / "test.jsonl.gz").write_bytes(gzip.compress(body))
    assert find_split_file(zipped, "test").name == "test.jsonl.gz"
    assert read_records(find_split_file(zipped, "test")) == read_records(plain / "test.jsonl") == rows
    # a download cut short: one error line naming the file, no traceback
    (zipped / "test.jsonl.gz").write_bytes(gzip.compress(body)[:-20])
    spec = {"name": "gz", "category": "sts", "data": "../zipped", "score_range": [0, 5]}
    task = write_task(tmp_path / "tasks", spec)
    res = cli("run", "--models", suite.models, "--tasks", task, "--output", tmp_path / "out", "--no-speed")
    assert res.code == 2 and "Traceback" not in res.err, res.err
    [line] = error_lines(res)
    assert str(zipped / "test.jsonl.gz") in line and "gzip" in line and "(fix: " in line, line


def test_csv_with_a_field_over_128_kib_is_read(tmp_path: Path, fake_backend: type[FakeEncoder]) -> None:
    long = "длинный документ " * 10000  # 170k characters: over the csv module's default field limit
    rows = [[long + str(i), f"короткий {'ы' * 5 * i}", i % 5] for i in range(4)]
    write_csv(tmp_path / "data" / "test.csv", ["sentence1", "sentence2", "score"], rows, bom=False, crlf=True)
    task = write_task(tmp_path / "tasks", {"name": "big", "category": "sts", "data": "../data", "score_range": [0, 5]})
    models = write_models(tmp_path / "models.yaml", [fake_entry("rec")])
    res = cli("run", "--models", models, "--tasks", task, "--output", tmp_path / "out", "--no-cache", "--no-speed")
    assert res.code == 0, res.err
    assert {t for t in FakeEncoder.SEEN if len(t) > 100000} == {r[0] for r in rows}


# ----------------------------------------------------------------------------------------------- safety


def test_yaml_python_tags_are_rejected_without_running_code(suite: Suite, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    task = tmp_path / "evil.yaml"
    task.write_text(
        f'name: !!python/object/apply:os.system ["touch {marker}"]\ncategory: sts\ndata: .\n', encoding="utf-8"
    )
    res = cli("run", "--models", suite.models, "--tasks", task, "--output", tmp_path / "out", "--no-speed")
    assert res.code == 2 and not marker.exists(), res.err
    [line] = error_lines(res)
    assert str(task) in line and "malformed YAML" in line
    models = tmp_path / "models.yaml"
    models.write_text(f'models:\n  - !!python/object/new:os.system ["touch {marker}"]\n', encoding="utf-8")
    res = cli("run", "--models", models, "--tasks", suite.tasks["sts"], "--output", tmp_path / "out")
    assert res.code == 2 and not marker.exists(), res.err
    [line] = error_lines(res)
    assert str(models) in line


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", "/abs", "a\\b", ".hidden", "with space", "x\ny"])
def test_unsafe_task_and_model_names_are_rejected(suite: Suite, tmp_path: Path, name: str) -> None:
    task = write_task(
        tmp_path / "tasks",
        {"name": name, "category": "sts", "data": str(suite.data["sts"]), "score_range": [0, 5]},
        "t.yaml",
    )
    res = cli("run", "--models", suite.models, "--tasks", task, "--output", tmp_path / "out", "--no-speed")
    assert res.code == 2, res.err
    [line] = error_lines(res)
    assert str(task) in line and "field 'name'" in line and "not a safe name" in line, line
    models = write_models(tmp_path / "models.yaml", [{"name": name, "model": MINILM}])
    res = cli("run", "--models", models, "--tasks", suite.tasks["sts"], "--output", tmp_path / "out", "--no-speed")
    assert res.code == 2, res.err
    [line] = error_lines(res)
    assert "field 'name'" in line, line
    assert not (tmp_path / "evil").exists() and not (tmp_path / "out" / "results").exists()


def test_constant_vectors_fail_that_task_only(suite: Suite, tmp_path: Path, fake_backend: type[FakeEncoder]) -> None:
    """A model that gives every text the same vector: STS correlations are undefined (NaN). That (model, task)
    fails with one line; the model's other tasks and the other models are written."""
    models = write_models(tmp_path / "models.yaml", [fake_entry("const", "const"), fake_entry("good")])
    output = tmp_path / "reports"
    tasks = (suite.tasks["sts"], suite.tasks["pair_classification"])
    res = _run(suite, output, *tasks, models=models, cache=tmp_path / "cache")
    assert "Traceback" not in res.err, res.err
    assert res.code == 2, res.err
    [line] = [line for line in res.err.splitlines() if line.startswith("FAILED:")]
    assert line.startswith(f"FAILED: const / {TASKS['sts']}: model 'const'") and "NaN" in line, line
    written = {p.relative_to(output / "results").as_posix() for p in (output / "results").rglob("*.json")}
    assert written == {
        f"const/{TASKS['pair_classification']}.json",
        f"good/{TASKS['pair_classification']}.json",
        f"good/{TASKS['sts']}.json",
    }
