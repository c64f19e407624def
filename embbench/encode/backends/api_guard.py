"""What keeps an API key home: which variables may hold it and which base_url may receive it.

A models.yaml can come from a pull request, so it must not be able to send a secret anywhere it likes:

- ``api_key_env`` may only name a variable ending in ``_API_KEY`` (OPENAI_API_KEY, MISTRAL_API_KEY...) or one
  listed in ``$EMBBENCH_API_KEY_ENVS`` (names separated by commas or spaces, set by whoever runs embbench, never
  by the models file): a ``GITHUB_TOKEN`` or ``AWS_SECRET_ACCESS_KEY`` is never read.
- ``base_url`` must be https, except on the loopback interface (localhost, 127.0.0.0/8, ::1), where plain http
  is allowed; it may carry no ``user:password@``, query or fragment (they would be printed and written into
  result files and cache metadata).
- Redirects are never followed (the Authorization header would go to the new address, another host or an http
  downgrade included): requests go through http.client (api_pool), which follows none, and a 3xx answer is
  reported by the client (RedirectRefused for the embeddings backend).
"""

from __future__ import annotations

import ipaddress
import os
import re
import urllib.parse

ALLOW_ENV = "EMBBENCH_API_KEY_ENVS"
KEY_ENV_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*_API_KEY")


def allowed_key_envs() -> frozenset[str]:
    """The extra variable names that $EMBBENCH_API_KEY_ENVS allows to hold a key."""
    return frozenset(re.split(r"[\s,]+", os.environ.get(ALLOW_ENV, "").strip())) - {""}


def key_env_problem(name: str) -> str | None:
    """Why this variable may not be read as an API key; None when it may."""
    if KEY_ENV_PATTERN.fullmatch(name) or name in allowed_key_envs():
        return None
    return (
        f"'{name}' is not read as an API key: only variables named *_API_KEY, or listed in ${ALLOW_ENV}, "
        "may hold one (so that a models file cannot send another secret to a server)"
    )


def is_loopback(host: str) -> bool:
    """localhost or a loopback address (127.0.0.0/8, ::1): traffic that never leaves the machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url_problem(url: str) -> str | None:
    """Why requests (and the key) may not go to this base_url; None when they may. Never quotes a credential."""
    if "@" in url:
        return "the URL carries credentials (user:password@); they would be printed and written to result files"
    if "?" in url or "#" in url:
        what = "a query (?...)" if "?" in url else "a fragment (#...)"
        return f"the URL carries {what}; keys or tokens there would be printed and written to result files"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not url.startswith(("http://", "https://")):
        return f"expected an http(s) URL, got {url!r}"
    try:
        host, _port = parts.hostname, parts.port  # .port raises on a malformed port
    except ValueError:
        return f"malformed host or port in {url!r}"
    if not host:
        return f"no host in {url!r}"
    if parts.scheme == "http" and not is_loopback(host):
        return f"plain http to {host}, which is not this machine: the key and the texts would travel unencrypted"
    return None


def target(url: str) -> str:
    """scheme://host[:port] of a checked base_url: what is printed once, so the user sees where data goes."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
