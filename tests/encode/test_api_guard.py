"""The API key stays home: no redirect is followed, only *_API_KEY variables are read, base_url is checked.

Every test runs against recording HTTP servers on 127.0.0.1 (threads of this process): what they record is what
left embbench, so "no request" and "no key" are observed, not assumed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from embbench.encode.backends import load_encoder
from embbench.encode.backends.api_guard import ALLOW_ENV
from embbench.encode.backends.openai_api import OpenAIEmbeddingsEncoder, RedirectRefused
from embbench.errors import UserError
from embbench.spec import ModelSpec, load_models, load_task

KEY_ENV = "EMBBENCH_GUARD_TEST_API_KEY"
KEY = "sk-guard-9d1e4b7a2c6f"
OTHER_SECRET = "ghp-SECRET-3a7c9e1f"  # what a CI runner keeps in GITHUB_TOKEN

Reply = tuple[int, dict[str, str], dict[str, Any]]


def stub(method: str, path: str, body: Any) -> Reply:
    """/models lists one model; /embeddings gives [len(text), 1] per text."""
    if path.endswith("/embeddings"):
        data = [{"index": i, "embedding": [float(len(t)), 1.0]} for i, t in enumerate(body["input"])]
        return 200, {}, {"data": data}
    return 200, {}, {"data": [{"id": "m"}]}


@dataclass
class Recorder:
    """A localhost server that records every request (method, path, headers) and replies with `reply`."""

    reply: Callable[[str, str, Any], Reply] = stub
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    root: str = ""  # http://127.0.0.1:port

    def keys_seen(self) -> list[str | None]:
        return [headers.get("Authorization") for _, _, headers in self.seen]


@contextlib.contextmanager
def recording(reply: Callable[[str, str, Any], Reply] = stub) -> Iterator[Recorder]:
    rec = Recorder(reply)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length)) if length else None
            rec.seen.append((self.command, self.path, dict(self.headers.items())))
            status, headers, body = rec.reply(self.command, self.path, request)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = handle_any

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    rec.root = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        httpd.shutdown()
        httpd.server_close()


def spec(base_url: str, *, key_env: str = KEY_ENV, **options: Any) -> ModelSpec:
    opts = {"base_url": base_url, "api_key_env": key_env, "max_retries": 0, **options}
    return ModelSpec(name="guarded", model="m", backend="openai", batch_size=8, options=opts)


def api(model: ModelSpec) -> OpenAIEmbeddingsEncoder:
    """The encoder, created as the runner creates it (load_encoder, which probes the server)."""
    enc = load_encoder(model)
    assert isinstance(enc, OpenAIEmbeddingsEncoder)
    return enc


def redirect_to(target: str, status: int = 302, only: str | None = None) -> Callable[[str, str, Any], Reply]:
    """Replies with a redirect to target + path (to every request, or to those of method `only`)."""

    def reply(method: str, path: str, body: Any) -> Reply:
        if only and method != only:
            return stub(method, path, body)
        return status, {"Location": target + path}, {}

    return reply


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setenv("GITHUB_TOKEN", OTHER_SECRET)
    monkeypatch.delenv(ALLOW_ENV, raising=False)


# ---------------------------------------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_of_the_probe_never_carries_the_key(status: int) -> None:
    with recording() as elsewhere, recording() as server:
        server.reply = redirect_to(elsewhere.root, status)
        with pytest.raises(RedirectRefused) as info:
            load_encoder(spec(server.root + "/v1"))
    assert elsewhere.seen == []  # never reached: neither the key nor the request
    assert server.keys_seen() == [f"Bearer {KEY}"]  # the configured server alone got it, once
    text = str(info.value)
    assert "\n" not in text and "model 'guarded'" in text and f"HTTP {status}" in text
    assert f"{elsewhere.root}/v1/models" in text and KEY not in text


@pytest.mark.parametrize("status", [302, 307])
def test_redirect_of_an_embeddings_call_stops_at_once(status: int) -> None:
    """The probe is answered, the POST is redirected (urllib follows a 302 as a GET, the key included)."""
    with recording() as elsewhere, recording() as server:
        server.reply = redirect_to(elsewhere.root, status, only="POST")
        enc = api(spec(server.root + "/v1", max_retries=3))
        with pytest.raises(RedirectRefused, match=r"redirect to http://127\.0\.0\.1:\d+/v1/embeddings"):
            enc.encode(["текст"], "")
    assert elsewhere.seen == []
    assert [m for m, _, _ in server.seen] == ["GET", "POST"]  # not retried


def run_api_model(tmp_path: Path, base_url: str, lines: list[str]) -> Any:  # lines: the progress texts
    """embbench's runner: one openai model on a 6-pair STS task, results under tmp_path/out."""
    from embbench.run.runner import run

    (tmp_path / "data").mkdir(exist_ok=True)
    pairs = [{"sentence1": f"текст {i}", "sentence2": f"другой {i * i}", "score": i % 5} for i in range(6)]
    (tmp_path / "data" / "test.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    (tmp_path / "t.yaml").write_text("name: t\ncategory: sts\ndata: data\nscore_range: [0, 5]\n", encoding="utf-8")
    (tmp_path / "models.yaml").write_text(
        "models:\n  - name: api\n    model: m\n    backend: openai\n"
        f"    options: {{base_url: '{base_url}', api_key_env: {KEY_ENV}}}\n",
        encoding="utf-8",
    )
    models, tasks = load_models(tmp_path / "models.yaml"), [load_task(tmp_path / "t.yaml")]
    return run(models, tasks, tmp_path / "out", log=lambda event: lines.append(event.text))


def test_key_is_in_no_file_the_run_writes(tmp_path: Path) -> None:
    """Without any real server (so it always runs): the run succeeds and no result or cache file holds the key."""
    lines: list[str] = []
    with recording() as server:
        summary = run_api_model(tmp_path, server.root + "/v1", lines)
    assert summary.exit_code == 0 and summary.written == [("api", "t")], summary
    assert set(server.keys_seen()) == {f"Bearer {KEY}"}
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    files += [p for p in Path(os.environ["EMBBENCH_CACHE"]).rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" and "out" in p.parts for p in files)
    for p in files:
        assert KEY.encode() not in p.read_bytes(), p
    assert not any(KEY in line for line in lines)


def test_redirecting_server_is_one_line_of_the_run(tmp_path: Path) -> None:
    """Through the runner: the model stops with one line naming it and the Location; nothing else is sent."""
    lines: list[str] = []
    with recording() as elsewhere, recording() as server:
        server.reply = redirect_to(elsewhere.root)
        summary = run_api_model(tmp_path, server.root + "/v1", lines)
    assert elsewhere.seen == [] and len(server.seen) == 1
    assert len(summary.failed) == 1 and (summary.failed[0].model, summary.failed[0].task) == ("api", "*")
    about = [line for line in lines if "redirect" in line]
    assert len(about) == 1 and "model 'api'" in about[0] and f"{elsewhere.root}/v1/models" in about[0]
    assert not any(KEY in line for line in lines)


# ---------------------------------------------------------------------------------------------- api_key_env


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "HOME", "OPENAI_API_KEY_FILE", "api_key"])
def test_key_env_must_be_an_api_key_variable(name: str) -> None:
    with recording() as server, pytest.raises(UserError) as info:
        load_encoder(spec(server.root + "/v1", key_env=name))
    assert server.seen == []  # refused before any request
    assert info.value.field == "options.api_key_env" and ALLOW_ENV in str(info.value)
    assert OTHER_SECRET not in str(info.value) and "\n" not in str(info.value)


def test_allow_list_admits_a_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "SOMETHING_ELSE, GITHUB_TOKEN")
    with recording() as server:
        enc = api(spec(server.root + "/v1", key_env="GITHUB_TOKEN"))
        enc.encode(["x"], "")
    assert server.keys_seen() == [f"Bearer {OTHER_SECRET}"] * 2
    monkeypatch.setenv(ALLOW_ENV, "GITHUB_TOKEN_2")  # whole names only
    with pytest.raises(UserError):
        load_encoder(spec("http://127.0.0.1:9/v1", key_env="GITHUB_TOKEN"))


# ---------------------------------------------------------------------------------------------- base_url


@pytest.mark.parametrize(
    "url",
    [
        "http://user:s3cr3t-pass@127.0.0.1:{port}/v1",
        "http://s3cr3t-pass@127.0.0.1:{port}/v1",
        "http://127.0.0.1:{port}/v1?api-key=s3cr3t-pass",
        "http://127.0.0.1:{port}/v1?",
        "http://127.0.0.1:{port}/v1#s3cr3t-pass",
        "ftp://127.0.0.1:{port}/v1?key=s3cr3t-pass",
    ],
)
def test_base_url_with_credentials_is_refused(url: str) -> None:
    with recording() as server:
        port = server.root.rsplit(":", 1)[1]
        with pytest.raises(UserError) as info:
            load_encoder(spec(url.format(port=port)))
    assert server.seen == []
    text = str(info.value)
    assert info.value.field == "options.base_url" and "s3cr3t" not in text and "\n" not in text


@pytest.mark.parametrize(
    "url",
    ["http://example.com/v1", "http://10.0.0.7:7997/v1", "http://[2001:db8::1]:80/v1", "http://127.0.0.1.nip.io/v1"],
)
def test_plain_http_only_on_this_machine(url: str) -> None:
    with pytest.raises(UserError) as info:
        OpenAIEmbeddingsEncoder(spec(url), probe=False)
    assert info.value.field == "options.base_url" and "http" in str(info.value)


@pytest.mark.parametrize(
    "url", ["https://api.example.com/v1", "http://localhost:7997/v1", "http://127.0.0.5:1/v1", "http://[::1]:7997/v1"]
)
def test_https_or_loopback_accepted(url: str) -> None:
    enc = OpenAIEmbeddingsEncoder(spec(url), probe=False)
    assert enc.identity()["base_url"] == url


def test_target_host_printed_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="embbench.encode.backends.openai_api")
    with recording() as server:
        enc = api(spec(server.root + "/v1/"))
        enc.encode(["a"], "")
        enc.encode(["b"], "")
    about = [r.getMessage() for r in caplog.records if "requests go to" in r.getMessage()]
    assert about == [f"model 'guarded': embeddings requests go to {server.root}, with the key from ${KEY_ENV}"]
    assert not any(KEY in r.getMessage() for r in caplog.records)
