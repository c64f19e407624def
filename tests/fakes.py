"""Deterministic fake encoders for tests: keyword one-hot vectors, so every similarity is known by hand.

`KeywordEncoder(vocab)` maps a text to a float32 vector with 1.0 at the index of each vocabulary keyword the text
contains (0.0 elsewhere). A keyword is "contained" when some word of the lower-cased text *starts with* it, so a
stem such as "диван" matches "диване" and "дивана" (Russian inflection) but never the middle of a word. Each
keyword counts once, however often it occurs. A text without any keyword becomes the zero vector.

With such vectors the usual similarities are exact fractions: two texts with keyword sets S and T have
dot = |S ∩ T|, cosine = |S ∩ T| / sqrt(|S| * |T|), squared Euclidean distance = |S △ T| and
Manhattan distance = |S △ T| (symmetric difference).

`KeywordEncoder` also satisfies the `embbench.encode.backends.Encoder` protocol (the prompt is prepended to the text
before keyword matching), so it can stand in for a model behind `embbench.encode.embedder.Embedder`.

`make_embed(encoder, prompts)` returns the `embed(texts, role)` callable that category modules receive; it
records every call (role and texts), and may prepend a per-role prompt (keys "query", "document", None).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

WORD = re.compile(r"\w+")


class KeywordEncoder:
    """Keyword one-hot encoder; see the module docstring."""

    def __init__(self, vocab: Sequence[str], *, similarity_fn: str = "cosine", name: str = "keyword-fake"):
        words = [w.lower() for w in vocab]
        if not words or len(set(words)) != len(words) or not all(WORD.fullmatch(w) for w in words):
            raise ValueError(f"vocab must be distinct single words, got {list(vocab)!r}")
        self.vocab = words
        self.similarity_fn = similarity_fn
        self.name = name
        self.calls: list[tuple[list[str], str]] = []  # (texts, prompt) per encode() call

    @property
    def dim(self) -> int:
        return len(self.vocab)

    def keywords(self, text: str) -> set[str]:
        """The vocabulary keywords found in a text (handy to assert a test's intended keyword sets)."""
        words = WORD.findall(text.lower())
        return {k for k in self.vocab if any(w.startswith(k) for w in words)}

    def vector(self, text: str) -> np.ndarray:
        found = self.keywords(text)
        return np.array([1.0 if k in found else 0.0 for k in self.vocab], dtype=np.float32)

    def encode(self, texts: list[str], prompt: str = "") -> np.ndarray:
        texts = list(texts)
        self.calls.append((texts, prompt))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vector(prompt + t) for t in texts])

    # the rest of embbench.encode.backends.Encoder
    def identity(self) -> dict[str, Any]:
        return {"backend": "fake-keyword", "name": self.name, "vocab": list(self.vocab)}

    def provenance(self) -> dict[str, Any]:
        return {**self.identity(), "similarity_fn": self.similarity_fn}

    def builtin_prompts(self) -> dict[str, str]:
        return {}


class FakeEmbed:
    """embed(texts, role) over an encoder, recording each call; optional prompt per role (None = no role)."""

    def __init__(self, encoder: KeywordEncoder, prompts: Mapping[str | None, str] | None = None):
        self.encoder = encoder
        self.prompts = dict(prompts or {})
        self.calls: list[tuple[str | None, list[str]]] = []

    def __call__(self, texts: Sequence[str], role: str | None = None) -> np.ndarray:
        texts = list(texts)
        self.calls.append((role, texts))
        return self.encoder.encode(texts, self.prompts.get(role, ""))

    def texts(self, role: str | None) -> list[str]:
        """Every text embedded with this role, in call order."""
        return [t for r, batch in self.calls for t in batch if r == role]

    @property
    def roles(self) -> list[str | None]:
        return [r for r, _ in self.calls]


def make_embed(encoder: KeywordEncoder, prompts: Mapping[str | None, str] | None = None) -> FakeEmbed:
    """The embed(texts, role) callable a category's evaluate() expects, backed by `encoder`."""
    return FakeEmbed(encoder, prompts)
