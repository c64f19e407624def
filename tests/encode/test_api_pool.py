"""Concurrent requests of the openai backend against a recording fake server on 127.0.0.1 (embeddings_server).

What is checked is what the server saw: how many requests were in flight at once, which connections carried
them, when they arrived; and what the client returned: rows in the order of the texts, whatever the order of the
answers. No figure here depends on the machine's speed: holding requests until N are in flight replaces sleeps,
and the rate-limit bounds can only be met more easily on a loaded machine.
"""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embbench.encode.backends import load_encoder
from embbench.encode.backends.api_pool import Connections, OrderedPool
from embbench.encode.backends.api_retry import RateLimit
from embbench.encode.backends.openai_api import OpenAIEmbeddingsEncoder, estimate_tokens
from embbench.encode.cache import DiskCache
from embbench.encode.embedder import Embedder, EmbedStats
from embbench.errors import UserError
from embbench.spec import ModelSpec
from tests.encode.embeddings_server import MODEL, EmbeddingsServer, expected

KEY_ENV = "EMBBENCH_POOL_TEST_API_KEY"
TEXTS = [f"текст номер {i}: {'слово ' * (i % 5)}" for i in range(16)]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-pool-test-1b2c3d")


def encoder(url: str, *, batch_size: int = 2, probe: bool = True, **options: Any) -> OpenAIEmbeddingsEncoder:
    opts = {"base_url": url, "api_key_env": KEY_ENV, "backoff": 0.01, **options}
    spec = ModelSpec(name="pooled", model=MODEL, backend="openai", batch_size=batch_size, options=opts)
    return OpenAIEmbeddingsEncoder(spec, probe=probe)


def test_four_workers_have_four_requests_in_flight_and_keep_the_order() -> None:
    """Four batches are held until all four are in flight, then answered last first: rows stay in text order."""
    with EmbeddingsServer(hold=4) as server:
        enc = encoder(server.url, concurrency=4)
        vecs = enc.encode(TEXTS[:8], "")
    assert not server.held_timed_out, "the four requests were never in flight together"
    assert server.max_in_flight == 4
    assert server.answered == [3, 2, 1, 0]  # answers completed in the reverse order of arrival
    np.testing.assert_array_equal(vecs, expected(TEXTS[:8]))
    assert sorted(t for p in server.posts for t in p.texts) == sorted(TEXTS[:8])


def test_one_worker_sends_one_request_at_a_time() -> None:
    with EmbeddingsServer() as server:
        vecs = encoder(server.url).encode(TEXTS, "q: ")
    assert server.max_in_flight == 1
    assert [p.texts for p in server.posts] == [["q: " + t for t in TEXTS[i : i + 2]] for i in range(0, 16, 2)]
    np.testing.assert_array_equal(vecs, expected(["q: " + t for t in TEXTS]))


def test_connections_are_kept_alive_and_shared() -> None:
    """Two calls of eight batches on four workers, plus the probe: at most four connections carried them all."""
    with EmbeddingsServer() as server:
        enc = encoder(server.url, concurrency=4)
        for _ in range(2):
            np.testing.assert_array_equal(enc.encode(TEXTS, ""), expected(TEXTS))
    ports = {p.port for p in server.posts}
    assert len(server.posts) == 16 and len(ports) <= 4, ports
    assert enc.provenance()["connections"] == enc._connections.opened <= 4
    assert enc.provenance()["requests"] == 17 and enc.retries == 0


def test_a_connection_the_server_closed_while_idle_is_replaced_without_a_retry() -> None:
    """The server closes each connection after answering (its keep-alive ran out): no error, no retry, no wait."""
    with EmbeddingsServer(close_after=True) as server:
        enc = encoder(server.url)
        server.wait_closed(1)  # the probe's connection
        enc.sleep = lambda s: pytest.fail(f"waited {s} s")
        for i in range(3):
            np.testing.assert_array_equal(enc.encode(TEXTS[:2], ""), expected(TEXTS[:2]))
            server.wait_closed(i + 2)
    assert enc.retries == 0 and len(server.posts) == 3
    assert len({p.port for p in server.posts}) == 3  # each on a new connection


@pytest.mark.parametrize("limit", ["requests_per_minute", "tokens_per_minute"])
def test_the_rate_limit_holds_across_workers(limit: str) -> None:
    """600 requests/min, or 10-token texts at 6000 tokens/min: starts 0.1 s apart over all four workers together.

    The k-th arrival (sorted) can come no earlier than the first clock read plus k slots: a busy machine only
    delays arrivals, while a limit kept per worker would let four requests arrive within milliseconds.
    """
    texts = ["x" * 27 + str(i) for i in range(8)]  # 28 bytes: estimate_tokens 10 each
    assert {estimate_tokens(t) for t in texts} == {10}
    value = 600 if limit == "requests_per_minute" else 6000
    with EmbeddingsServer() as server:
        enc = encoder(server.url, batch_size=1, probe=False, concurrency=4, **{limit: value})
        decided: list[float] = []
        lock = threading.Lock()

        def clock() -> float:
            with lock:
                decided.append(time.monotonic())
                return decided[-1]

        enc.clock = clock
        np.testing.assert_array_equal(enc.encode(texts, ""), expected(texts))
    arrivals = sorted(p.at for p in server.posts)
    assert len(arrivals) == len(decided) == 8
    earliest = min(decided)
    for k, at in enumerate(arrivals):
        assert at >= earliest + 0.1 * k - 1e-9, (k, at - earliest)


def test_rate_limit_books_requests_and_tokens() -> None:
    """The slots themselves, on a clock that stands still: requests 1 s apart, tokens 10/s, whichever is later."""
    limit = RateLimit(requests_per_minute=60, tokens_per_minute=600)
    assert [limit.reserve(100.0, tokens) for tokens in (5, 5, 30, 0, 0)] == [0.0, 1.0, 2.0, 5.0, 6.0]
    assert RateLimit().reserve(5.0, 10**9) == 0.0


def test_identity_and_cache_do_not_depend_on_concurrency(tmp_path: Path) -> None:
    """Concurrency, batch cutting, tokens/min and the wire encoding change no vector: same key, cache reused."""
    with EmbeddingsServer() as server:
        one = encoder(server.url)
        four = encoder(server.url, concurrency=4, max_tokens_per_batch=40, tokens_per_minute=10**6)
        assert one.identity() == four.identity()
        first, again = EmbedStats(), EmbedStats()
        vecs = Embedder(one, None, DiskCache(tmp_path), name="one").embed(TEXTS, "", first)
        posts = len(server.posts)
        cached = Embedder(four, None, DiskCache(tmp_path), name="four").embed(TEXTS, "", again)
    assert first.encoded == 16 and again.from_cache == 16 and again.encoded == 0
    assert len(server.posts) == posts  # the four-worker model sent nothing
    np.testing.assert_array_equal(vecs, cached)


def test_a_refused_batch_stops_the_call_and_the_workers_stay_usable() -> None:
    with EmbeddingsServer(refuse={TEXTS[5]}) as server:
        enc = encoder(server.url, concurrency=4)
        with pytest.raises(UserError, match="this input is refused") as info:
            enc.encode(TEXTS, "")
        assert "\n" not in str(info.value) and enc.retries == 0
        np.testing.assert_array_equal(enc.encode(TEXTS[:4], ""), expected(TEXTS[:4]))


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("concurrency", 0),
        ("concurrency", 65),
        ("concurrency", 2.5),
        ("concurrency", "4"),
        ("concurrency", True),
        ("max_tokens_per_batch", 0),
        ("max_tokens_per_batch", 100.5),
        ("tokens_per_minute", -1),
        ("tokens_per_minute", "fast"),
    ],
)
def test_bad_options_are_one_line_naming_the_field(option: str, value: Any) -> None:
    spec = ModelSpec(
        name="m", model=MODEL, backend="openai", options={"base_url": "http://127.0.0.1:9/v1", option: value}
    )
    with pytest.raises(UserError) as info:
        load_encoder(spec)
    assert info.value.field == f"options.{option}" and "\n" not in str(info.value)
    assert repr(value) in str(info.value)


def test_ordered_pool_keeps_order_and_reuses_its_threads() -> None:
    pool = OrderedPool(3)
    names: set[str] = set()
    done = threading.Barrier(3, timeout=20)

    def work(i: int) -> int:
        names.add(threading.current_thread().name)
        if i < 3:
            done.wait()  # the first three run together, so three threads exist
        return i * i

    assert pool.map(work, list(range(9))) == [i * i for i in range(9)]
    assert pool.map(work, list(range(3, 9))) == [i * i for i in range(3, 9)]
    assert len(names) == 3 and all(n.startswith("embbench-api") for n in names)
    pool.close()


def test_https_goes_through_the_environment_proxy_and_loopback_never(monkeypatch: pytest.MonkeyPatch) -> None:
    """As urllib did: $https_proxy tunnels (CONNECT) to an https API unless $no_proxy names it; no proxy for
    this machine. Connections are opened lazily, so nothing is sent here."""
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", "http://user:p%40ss@127.0.0.1:3128")
    conn = Connections("https://api.example.com/v1")._open(5.0)
    assert (conn.host, conn.port) == ("127.0.0.1", 3128)
    assert (conn._tunnel_host, conn._tunnel_port) == ("api.example.com", 443)  # type: ignore[attr-defined]
    auth = conn._tunnel_headers["Proxy-Authorization"]  # type: ignore[attr-defined]
    assert base64.b64decode(auth.split()[1]) == b"user:p@ss"
    local = Connections("https://127.0.0.1:8443/v1")._open(5.0)
    assert (local.host, local.port, local._tunnel_host) == ("127.0.0.1", 8443, None)  # type: ignore[attr-defined]
    assert Connections("http://localhost:7997/v1")._open(5.0)._tunnel_host is None  # type: ignore[attr-defined]
    monkeypatch.setenv("no_proxy", "api.example.com")
    assert Connections("https://api.example.com/v1")._open(5.0).host == "api.example.com"
