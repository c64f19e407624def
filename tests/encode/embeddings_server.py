"""A fake OpenAI-compatible /v1/embeddings server on 127.0.0.1 (threads of the test process) that records
what arrives: each POST's texts and encoding_format, the client's port, and how many requests were in flight at
once. It can hold requests until several are in flight and answer them in reverse order of arrival, answer with
lists when base64 is asked, refuse base64, or close each connection after answering without saying so.

Vectors depend on the text alone (8 float32 values seeded by its crc32): `expected(texts)` is what a client must
return, row for row.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import numpy as np

MODEL = "fake-embedder"
HOLD_TIMEOUT = 20.0  # seconds a held request waits for the others before it is answered anyway


def vector(text: str) -> np.ndarray:
    return np.random.default_rng(zlib.crc32(text.encode("utf-8"))).standard_normal(8).astype(np.float32)


def expected(texts: list[str]) -> np.ndarray:
    return np.stack([vector(t) for t in texts])


@dataclass
class Post:
    """One POST /embeddings as it arrived."""

    at: float  # time.monotonic() on arrival
    port: int  # the client's side of the connection
    texts: list[str]
    encoding_format: str | None


@dataclass
class EmbeddingsServer:
    """`with EmbeddingsServer(...) as server:` serves on server.url (up to /v1) until the block ends.

    mode: "base64" answers in the format asked; "lists" always answers lists; "no-base64" answers 422 to a
    request asking base64 (as a server that knows only floats does). hold=N: the first N POSTs wait until N are
    in flight, then are answered last-arrived first. close_after: every connection is closed after its answer,
    though the answer says keep-alive (as a server whose keep-alive timeout passed). refuse: texts answered 400.
    """

    mode: str = "base64"
    hold: int = 0
    close_after: bool = False
    refuse: set[str] = field(default_factory=set)
    posts: list[Post] = field(default_factory=list)
    gets: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    held_timed_out: bool = False
    answered: list[int] = field(default_factory=list)  # arrival numbers of the held POSTs, in answer order
    closed: int = 0  # connections the server closed
    url: str = ""

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._turn = -1  # the held arrival number whose answer goes next
        self._released = False  # whether all held requests have arrived

    def __enter__(self) -> EmbeddingsServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake.gets += 1
                self.reply(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                status, payload = fake.embeddings(body, self.client_address[1], self.reply)
                if status:
                    self.reply(status, payload)

            def reply(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                self.wfile.flush()
                if fake.close_after:
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def shutdown_request(self, request: Any) -> None:
                super().shutdown_request(request)
                with fake._cond:
                    fake.closed += 1
                    fake._cond.notify_all()

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def wait_closed(self, n: int) -> None:
        """Until the server has closed n connections (close_after)."""
        with self._cond:
            assert self._cond.wait_for(lambda: self.closed >= n, timeout=10), (self.closed, n)

    def embeddings(self, body: dict[str, Any], port: int, reply: Any) -> tuple[int, dict[str, Any]]:
        texts, fmt = body["input"], body.get("encoding_format")
        with self._cond:
            number = len(self.posts)
            self.posts.append(Post(time.monotonic(), port, texts, fmt))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._cond.notify_all()
        try:
            if self.mode == "no-base64" and fmt == "base64":
                return 422, {"detail": [{"loc": ["body", "encoding_format"], "msg": "value is not 'float'"}]}
            if set(texts) & self.refuse:
                return 400, {"error": {"message": "this input is refused"}}
            answer = self.answer(texts, fmt)
            if number >= self.hold:
                return 200, answer
            with self._cond:  # held: wait for the others, then answer in reverse order of arrival
                if not self._cond.wait_for(lambda: len(self.posts) >= self.hold, timeout=HOLD_TIMEOUT):
                    self.held_timed_out = True  # the test fails on it; the held answers go out as they come
                    self._cond.notify_all()
                if not self._released:  # the last to arrive answers first
                    self._released, self._turn = True, self.hold - 1
                self._cond.wait_for(lambda: self._turn == number or self.held_timed_out, timeout=HOLD_TIMEOUT)
            reply(200, answer)
            with self._cond:
                self.answered.append(number)
                self._turn = number - 1
                self._cond.notify_all()
            return 0, {}
        finally:
            with self._cond:
                self.in_flight -= 1

    def answer(self, texts: list[str], fmt: str | None) -> dict[str, Any]:
        data = []
        for i, t in enumerate(texts):
            v = vector(t)
            if fmt == "base64" and self.mode == "base64":
                emb: Any = base64.b64encode(v.astype("<f4").tobytes()).decode()
            else:
                emb = v.tolist()  # float64 copies of float32 values: exact in JSON
            data.append({"object": "embedding", "index": i, "embedding": emb})
        usage = {"prompt_tokens": sum(len(t) for t in texts), "total_tokens": sum(len(t) for t in texts)}
        return {"object": "list", "model": MODEL, "data": data[::-1], "usage": usage}
