"""The run's progress as the CLI shows it: a live bar with rate and ETA under a terminal, periodic plain lines in
a log (no bar characters); the view's throttling and its warnings shown once."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import warnings
from pathlib import Path

import pytest

from embbench.encode.embedder import Encoded
from embbench.progress import View
from embbench.run.summary import Progress
from tests.conftest import REPO, TASKS, minilm_path

BAR = re.compile(r"small_sts: +\d+%\|.*\| *\d+/\d+ \[\d\d:\d\d<\d\d:\d\d, +[\d.]+texts/s\]")
LINE = re.compile(r"^    minilm / small_sts: \d+/\d+ texts encoded \(\d+%\), [\d.]+ texts/s, ETA \d+[smh]", re.M)


def small_suite(root: Path) -> list[str]:
    """The CLI arguments of a run of MiniLM on 150 pairs of stsb_ru (300 texts, chunks of 30)."""
    data = root / "data"
    data.mkdir(parents=True)
    lines = (TASKS / "data/sts/stsb_multi_mt_ru/test.jsonl").read_text(encoding="utf-8").splitlines()[:150]
    (data / "test.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    task = root / "small_sts.yaml"
    task.write_text("name: small_sts\ncategory: sts\ndata: data\nscore_range: [0, 5]\n", encoding="utf-8")
    models = root / "models.yaml"
    models.write_text(f"models:\n  - name: minilm\n    model: {json.dumps(minilm_path())}\n", encoding="utf-8")
    return ["run", "--models", str(models), "--tasks", str(task), "--output", str(root / "out"), "--no-speed"]


def env(root: Path, **extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("EMBBENCH_PROGRESS_SECONDS",)}
    out.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    out.update(EMBBENCH_CACHE=str(root / "cache"), EMBBENCH_CHUNK_TEXTS="30", COLUMNS="120", **extra)
    return out


def test_a_terminal_sees_a_live_bar_with_rate_and_eta(tmp_path: Path) -> None:
    argv = small_suite(tmp_path)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal 120 columns wide
    proc = subprocess.Popen(
        [sys.executable, "-m", "embbench", *argv], cwd=tmp_path, env=env(tmp_path), stderr=slave, stdout=slave
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=300)
    os.close(master)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, screen
    assert BAR.search(screen), screen
    assert "\r" in screen  # redrawn in place
    assert "cosine_spearman = " in screen  # the run's own lines are still there


def test_a_log_gets_periodic_lines_and_no_bar(tmp_path: Path) -> None:
    argv = small_suite(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "embbench", *argv],
        cwd=tmp_path,
        env=env(tmp_path, EMBBENCH_PROGRESS_SECONDS="0"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stderr
    assert proc.returncode == 0, log
    assert len(LINE.findall(log)) >= 3, log  # one per chunk with a period of 0 s
    assert "\r" not in log and "█" not in log and "|" not in log
    assert "Loading weights" not in log and "deprecated" not in log


def event(done: int, total: int = 100, seconds: float = 1.0) -> Progress:
    e = Encoded("m", "t", done, total, seconds)
    return Progress(e.line(), 2, "m", encoded=e)


def test_log_lines_come_at_most_once_a_period() -> None:
    now = [0.0]
    out = io.StringIO()
    view = View(out, tty=False, period=30, clock=lambda: now[0])
    for done, t in [(0, 0), (10, 10), (20, 29), (30, 31), (40, 40), (50, 62), (100, 63)]:
        now[0] = float(t)
        view(event(done, seconds=max(t, 1)))
    lines = out.getvalue().splitlines()
    assert [line.split(":")[1].split()[0] for line in lines] == ["30/100", "50/100"]
    assert lines[0] == "    m / t: 30/100 texts encoded (30%), 1.0 texts/s, ETA 1m12s"  # 30 in 31 s


def test_warnings_and_library_records_are_shown_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in the CLI: no logging configured
    out = io.StringIO()
    with warnings.catch_warnings(), View(out, tty=False).capture() as view:
        warnings.simplefilter("always")  # the view, not the warnings filter, shows each once
        for _ in range(3):
            warnings.warn("`tokenizer_kwargs` was renamed", FutureWarning, stacklevel=1)
            logging.getLogger("some.library").warning("a record")
        view(Progress("a line of the run", 1))
    assert out.getvalue().splitlines() == [
        "warning: FutureWarning: `tokenizer_kwargs` was renamed",
        "warning: a record",
        "  a line of the run",
    ]
