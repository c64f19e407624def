"""Requests to one HTTP(S) server over pooled keep-alive connections, and a worker pool that keeps input order.

http.client follows no redirect by itself, so a 3xx comes back as an answer like any other (the caller refuses
it: the key must not travel to another address). A connection serves one request at a time; idle ones are kept
for the next request of any thread, so N workers hold at most N connections. An https target is reached through
the proxy of $https_proxy (CONNECT tunnel, unless $no_proxy exempts it); traffic to this machine never goes
through a proxy.
"""

from __future__ import annotations

import base64
import concurrent.futures
import http.client
import select
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from embbench.encode.backends import api_guard

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, read in full."""

    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes


class Connections:
    """Keep-alive connections to the server of `base_url` (its path is prefixed to each request's), thread-safe."""

    def __init__(self, base_url: str):
        parts = urllib.parse.urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self.opened = 0  # connections made so far (a test and the benchmark check that they are reused)

    def request(self, method: str, path: str, body: bytes | None, headers: dict[str, str], timeout: float) -> Answer:
        """Send one request and read its answer; OSError / http.client.HTTPException when the exchange fails."""
        conn = self._take(timeout)
        try:
            conn.request(method, self.prefix + path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except BaseException:
            conn.close()  # a late answer must never be read as the answer to the next request
            raise
        if resp.will_close:
            conn.close()
        else:
            with self._lock:
                self._idle.append(conn)
        return Answer(resp.status, resp.reason, resp.headers, data)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _take(self, timeout: float) -> http.client.HTTPConnection:
        """An idle connection the server has not closed meanwhile, else a new one; its timeout set to `timeout`."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._open(timeout)
                with self._lock:
                    self.opened += 1
                return conn
            if _alive(conn):
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
                return conn
            conn.close()  # closed by the server while idle (its keep-alive timeout): not an error

    def _open(self, timeout: float) -> http.client.HTTPConnection:
        proxy = None if api_guard.is_loopback(self.host) or not self.https else _proxy_for(self.host)
        if proxy is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            return cls(self.host, self.port, timeout=timeout)
        conn = http.client.HTTPSConnection(proxy.hostname or "", proxy.port or 80, timeout=timeout)
        tunnel_headers = {}
        if proxy.username:  # http://user:password@proxy:3128
            login = f"{urllib.parse.unquote(proxy.username)}:{urllib.parse.unquote(proxy.password or '')}"
            tunnel_headers["Proxy-Authorization"] = "Basic " + base64.b64encode(login.encode()).decode()
        conn.set_tunnel(self.host, self.port, headers=tunnel_headers)
        return conn


def _proxy_for(host: str) -> urllib.parse.SplitResult | None:
    """The https proxy from the environment for this host, as urllib would choose it; None for none."""
    url = urllib.request.getproxies().get("https")
    if not url or urllib.request.proxy_bypass(host):
        return None
    return urllib.parse.urlsplit(url if "://" in url else "http://" + url)


def _alive(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle keep-alive connection is still open: readable while idle means the server closed it."""
    if conn.sock is None:
        return False
    try:
        if hasattr(select, "poll"):  # no limit on the descriptor number, unlike select()
            poller = select.poll()
            poller.register(conn.sock, select.POLLIN)
            return not poller.poll(0)
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class OrderedPool:
    """Runs fn over items on up to `workers` threads; results in the order of the items, whatever finishes first."""

    def __init__(self, workers: int, name: str = "embbench-api"):
        self.workers = workers
        self._name = name
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """[fn(item) for item in items]; the first failure (in item order) is raised once nothing runs any more."""
        if self.workers <= 1 or len(items) <= 1:
            return [fn(item) for item in items]  # no threads: the plain loop of a single worker
        if self._executor is None:  # kept across calls, so that its threads (and connections) are reused
            self._executor = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix=self._name)
        futures = [self._executor.submit(fn, item) for item in items]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()  # batches not started yet are not sent
            concurrent.futures.wait(futures)  # those in flight finish (or fail) before the error goes up
            raise

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
