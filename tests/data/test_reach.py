"""The hub probe: an unreachable endpoint is found once and fast, and every hub task is then unavailable with the
hint while local tasks run; HF_HUB_OFFLINE skips the probe (the libraries read their local cache)."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from embbench.data import hub, reach
from embbench.spec import load_task
from tests.conftest import REPO, TASKS, minilm_path


def closed_endpoint() -> str:
    """http://127.0.0.1:<a port nothing listens on> (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """HF_HUB_OFFLINE unset (conftest sets it) and a fresh probe memory."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(reach, "_seen", {})
    yield monkeypatch


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server (its URL, and the methods it was asked)."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            asked.append("HEAD")
            self.send_response(404)  # any answer means reachable
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", asked
    httpd.shutdown()


def test_closed_endpoint_is_unreachable_with_the_hint(online: pytest.MonkeyPatch) -> None:
    url = closed_endpoint()
    online.setenv("HF_ENDPOINT", url)
    why = reach.unreachable_reason()
    assert why is not None and f"({url}) is unreachable" in why
    assert "HF_HUB_OFFLINE=1" in why and "network" in why


def test_an_answering_endpoint_is_probed_once(online: pytest.MonkeyPatch, server: tuple[str, list[str]]) -> None:
    url, asked = server
    online.setenv("HF_ENDPOINT", url + "/")
    assert reach.unreachable_reason() is None
    assert reach.unreachable_reason() is None
    assert asked == ["HEAD"]


def test_offline_on_purpose_skips_the_probe(online: pytest.MonkeyPatch) -> None:
    online.setenv("HF_ENDPOINT", closed_endpoint())
    online.setenv("HF_HUB_OFFLINE", "1")
    assert reach.unreachable_reason() is None
    assert reach._seen == {}


def test_hub_task_is_unavailable_before_any_download(online: pytest.MonkeyPatch) -> None:
    url = closed_endpoint()
    online.setenv("HF_ENDPOINT", url)
    task = load_task(TASKS / "rumteb" / "TERRa.yaml")
    with pytest.raises(hub.TaskUnavailable, match=r"is unreachable .*HF_HUB_OFFLINE=1"):
        hub.load(task)


def test_run_with_an_unreachable_hub_reports_each_hub_task_and_runs_the_rest(tmp_path: Path) -> None:
    """`embbench run --suite rumteb-lite` plus one local task, the hub endpoint a closed port: one line per hub
    task naming the probe's reason and the hint, the local task's result written, the end says so."""
    models = tmp_path / "models.yaml"
    models.write_text(f"models:\n  - name: minilm\n    model: {json.dumps(minilm_path())}\n", encoding="utf-8")
    url = closed_endpoint()
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    env.update(HF_ENDPOINT=url, TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    argv = ["run", "--models", models, "--suite", "rumteb-lite", "--tasks", TASKS / "stsb_ru.yaml"]
    argv += ["--output", tmp_path / "out", "--no-speed", "--no-cache"]
    proc = subprocess.run(
        [sys.executable, "-m", "embbench", *map(str, argv)], cwd=REPO, env=env, capture_output=True, text=True
    )
    log = proc.stderr
    hub_lines = [line for line in log.splitlines() if f"({url}) is unreachable" in line]
    assert len(hub_lines) == 7, log  # the seven tasks of rumteb-lite, one line each
    assert all("HF_HUB_OFFLINE=1" in line and "the rest of the run goes on" in line for line in hub_lines)
    assert "Traceback" not in log
    assert (tmp_path / "out" / "results" / "minilm" / "stsb_ru.json").is_file()
    assert proc.returncode == 1, log
    assert "7 task(s) unavailable" in log
