"""The chat client: plain text when the server refuses structured output, no redirects, the shared rate limit."""

from __future__ import annotations

import pytest

from embbench.errors import UserError
from embbench.questions.client import ChatClient
from embbench.questions.prompts import QUESTIONS_SCHEMA
from tests.questions.chat_server import MODEL, ChatServer

MESSAGES = [{"role": "user", "content": "Фрагмент документа «a.txt»:\n<<<\nЛетний театр работал долго.\n>>>\n"}]


def test_a_server_refusing_structured_output_gets_plain_requests() -> None:
    with ChatServer(structured=False) as server:
        client = ChatClient(server.url, MODEL, backoff=0)
        for _ in range(2):
            assert "Что известно про" in client.chat(MESSAGES, QUESTIONS_SCHEMA, "questions")
    assert not client.structured
    # 400 for response_format (once), then plain: a 429 retried, two answers; the server saw no response_format
    assert client.requests == 4 and client.retries == 1 and server.chat_requests == 3
    assert all("response_format" not in b for b in server.bodies)


def test_redirects_are_not_followed() -> None:
    with ChatServer(redirect=True) as server:
        client = ChatClient(server.url, MODEL)
        with pytest.raises(UserError, match="redirects are not followed"):
            client.probe()
        assert client.requests == 1


def test_the_rate_limit_spaces_request_starts() -> None:
    client = ChatClient("http://127.0.0.1:1/v1", MODEL, requests_per_minute=30)
    now, slept = [100.0], []
    client.clock = lambda: now[0]  # type: ignore[method-assign]
    client.sleep = lambda s: slept.append(s)  # type: ignore[method-assign]
    for _ in range(3):
        client._throttle()
    assert slept == [2.0, 4.0]  # 60 / 30 s apart, counted from the first start (the clock did not move)
