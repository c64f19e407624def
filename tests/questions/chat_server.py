"""A small OpenAI-compatible chat server for the questions tests: messy but realistic answers, on 127.0.0.1.

Every answer to a generation prompt holds, for its passage, candidates that each trip one filter (too short,
English, an answer not in the passage, a long copied span, no answer, a literal duplicate, a near-duplicate and,
when `unanswerable` is set, an off-topic question that only the --verify pass catches) around one good question,
as JSON behind a preamble and a code fence (even passages) or as numbered plain text (odd passages). The second
distinct passage gets a malformed answer first (then a good one), the third a malformed answer every time; the
first chat request of all is a 429 with Retry-After. Usage is counted so the tests can check the client's totals.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "test-model"
PASSAGE = re.compile(r"<<<\n(.*?)\n>>>", re.S)
CYRILLIC_WORD = re.compile(r"[А-Яа-яЁё]{6,}")


def good_question(passage: str) -> str:
    """A Russian question made of words spread over the passage (never two neighbours, so no copied span)."""
    words = list(dict.fromkeys(w.lower() for w in CYRILLIC_WORD.findall(passage)))
    picks = words[:: max(1, len(words) // 3)][:3]
    return f"Что известно про {', '.join(picks[:-1])} и {picks[-1]}?"


def first_sentence(passage: str) -> str:
    end = passage.find(". ")
    return passage if end == -1 else passage[: end + 1]


def candidates(passage: str, unanswerable: bool) -> list[dict[str, str]]:
    good, answer = good_question(passage), first_sentence(passage)
    copied = " ".join(passage.split()[2:9])
    out = [
        {"question": "Почему?", "answer": answer},
        {"question": "What is this passage mainly about?", "answer": answer},
        {"question": f"Где впервые упоминается {good.split()[3]}", "answer": "Этого предложения нет в документе."},
        {"question": f"Правда ли, что {copied}?", "answer": answer},
        {"question": f"Кто написал про {good.split()[-1]}"},
    ]
    if unanswerable:
        out.append({"question": f"Сколько стоит билет на поезд до {good.split()[3]}", "answer": answer})
    return [
        *out,
        {"question": good, "answer": answer},
        {"question": good, "answer": answer},
        {"question": good.replace("Что известно", "Что именно известно"), "answer": answer},
    ]


def as_text(items: list[dict[str, str]]) -> str:
    lines = ["Вот несколько вопросов по фрагменту:", ""]
    for i, item in enumerate(items, 1):
        lines.append(f"{i}. **{item['question']}**")
        if "answer" in item:
            lines.append(f"   Ответ: «{item['answer']}»")
    return "\n".join(lines)


class ChatServer:
    """Start with `with ChatServer() as s:`; s.url is the base URL up to /v1."""

    def __init__(
        self, *, unanswerable: bool = False, list_models: bool = True, structured: bool = True, redirect: bool = False
    ):
        self.unanswerable, self.list_models = unanswerable, list_models
        self.structured, self.redirect = structured, redirect  # False: refuse response_format; True: 307 everything
        self.lock = threading.Lock()
        self.passages: list[str] = []  # distinct passages, in the order first asked about
        self.chat_requests = self.rate_limited = self.verify_requests = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.bodies: list[dict[str, Any]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, JSON body, headers) for one chat request."""
        if not self.structured and "response_format" in body:
            return 400, {"error": {"message": "response_format is not supported by this server"}}, {}
        if body.get("model") != MODEL:
            return 404, {"error": {"message": f"The model `{body.get('model')}` does not exist."}}, {}
        prompt = body["messages"][-1]["content"]
        with self.lock:
            self.chat_requests += 1
            self.bodies.append(body)
            if self.chat_requests == 1:
                self.rate_limited += 1
                return 429, {"error": {"message": "rate limit"}}, {"Retry-After": "0.05"}
            if "Содержит ли фрагмент ответ" in prompt:
                self.verify_requests += 1
                content = json.dumps({"answers": "билет" not in prompt.rsplit("Вопрос:", 1)[1]})
            else:
                passage = PASSAGE.search(prompt).group(1)  # type: ignore[union-attr]
                if passage not in self.passages:
                    self.passages.append(passage)
                    first = True
                else:
                    first = False
                index = self.passages.index(passage)
                items = candidates(passage, self.unanswerable)
                if index == 2 or (index == 1 and first):
                    content = "Извините, я не могу выполнить эту просьбу."
                elif index % 2 == 0:
                    block = json.dumps({"questions": items}, ensure_ascii=False)
                    content = f"Вот 3 вопроса:\n```json\n{block}\n```"
                else:
                    content = as_text(items)
            usage = {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(content) // 4}
            self.prompt_tokens += usage["prompt_tokens"]
            self.completion_tokens += usage["completion_tokens"]
        return 200, {"choices": [{"message": {"role": "assistant", "content": content}}], "usage": usage}, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if server.redirect:
                    self._send(307, {}, {"Location": "http://127.0.0.1:9/v1/models"})
                elif self.path == "/v1/models" and server.list_models:
                    self._send(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]}, {})
                else:
                    self._send(404, {"detail": "Not Found"}, {})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if server.redirect:
                    self._send(307, {}, {"Location": "http://127.0.0.1:9/v1/chat/completions"})
                elif self.path != "/v1/chat/completions":
                    self._send(404, {"detail": "Not Found"}, {})
                else:
                    self._send(*server.answer(body))

        return Handler
