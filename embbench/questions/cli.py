"""`embbench questions`: its flags (add_parser) and the command (run); embbench/cli.py wires both in."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embbench.errors import UserError
from embbench.questions.client import ChatClient
from embbench.questions.filters import FILTERS
from embbench.questions.generate import Settings, generate, sidecar_path
from embbench.questions.sample import default_chunking

EXAMPLE = (
    "embbench questions --documents docs/ --out questions.csv --llm http://127.0.0.1:8000/v1 "
    "--llm-model Qwen/Qwen2.5-7B-Instruct --n 300"
)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "questions",
        help="generate Russian questions from your documents with an OpenAI-compatible LLM (a documents task's file)",
        epilog=f"example: {EXAMPLE}",
    )
    p.add_argument("--documents", type=Path, required=True, help="the documents folder (as a documents task reads it)")
    p.add_argument("--out", type=Path, required=True, help="the questions CSV (appended to; a re-run continues it)")
    p.add_argument("--llm", required=True, metavar="URL", help="the server's URL up to /v1 (vLLM, Ollama, OpenAI...)")
    p.add_argument("--llm-model", required=True, metavar="NAME", help="the model name the server serves")
    p.add_argument("--n", type=int, default=300, help="questions wanted, one per passage (default: 300)")
    p.add_argument("--examples", type=Path, default=None, help="real user queries, one a line: the style to imitate")
    p.add_argument("--seed", type=int, default=0, help="passage sampling seed (default: 0)")
    p.add_argument(
        "--api-key-env", default="OPENAI_API_KEY", metavar="VAR", help="variable holding the key (*_API_KEY)"
    )
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight (default: 4)")
    p.add_argument("--requests-per-minute", type=float, default=None, help="client-side rate limit (default: none)")
    p.add_argument("--price-in", type=float, default=None, metavar="USD", help="USD per 1M prompt tokens")
    p.add_argument("--price-out", type=float, default=None, metavar="USD", help="USD per 1M completion tokens")
    p.add_argument("--verify", action="store_true", help="a second LLM pass checks that the passage answers each")
    p.add_argument(
        "--chunk-size", type=int, default=None, help="passage size in chars (default: the documents task's 1000)"
    )


def _check(args: argparse.Namespace) -> None:
    for name in ("n", "concurrency", "chunk_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')}", f"expected a positive integer, got {value}")
    for name in ("price_in", "price_out", "requests_per_minute"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise UserError(f"--{name.replace('_', '-')}", f"expected a non-negative number, got {value}")


def run(args: argparse.Namespace) -> int:
    """Generate the questions file; prints progress and the summary of every filter to stderr."""
    _check(args)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    client = ChatClient(
        args.llm, args.llm_model, api_key_env=args.api_key_env, requests_per_minute=args.requests_per_minute
    )
    settings = Settings(
        documents=args.documents,
        out=args.out,
        n=args.n,
        chunking=default_chunking(args.chunk_size),
        seed=args.seed,
        examples=args.examples,
        verify=args.verify,
        price_in=args.price_in,
        price_out=args.price_out,
        concurrency=args.concurrency,
    )
    summary = generate(settings, client, log)
    counts = summary.get("counts", {})
    dropped = ", ".join(f"{k} {counts.get(k, 0)}" for k in FILTERS)
    log(
        f"{args.out}: {summary.get('questions')} questions; {counts.get('passages', 0)} passages asked, "
        f"{counts.get('candidates', 0)} candidates, {counts.get('malformed', 0)} malformed answer(s) skipped; "
        f"dropped: {dropped}"
    )
    tokens, cost = summary.get("tokens", {}), summary.get("cost_usd")
    if tokens:
        price = f", ${cost:.4f}" if cost is not None else ""
        log(f"tokens in {tokens.get('in', 0)}, out {tokens.get('out', 0)}{price}; record: {sidecar_path(args.out)}")
    return 0
