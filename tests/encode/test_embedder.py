"""The embedding seam: dedup and counts, unusable vectors, prompts and token accounting (mutmut survivors)."""

from __future__ import annotations

import numpy as np
import pytest

from embbench.encode.embedder import BadVectors, Embedder, EmbedStats, MemoryStore


class Fake:
    """Row i of a call is [len(prompt + text), 1]; `width`/`nan`/`short` break the answer on purpose."""

    similarity_fn = "cosine"

    def __init__(self, prompts: dict[str, str] | None = None) -> None:
        self.calls: list[tuple[list[str], str]] = []
        self.prompts = prompts or {}
        self.width = 2
        self.nan = False
        self.short = False

    def identity(self) -> dict:
        return {"backend": "fake"}

    def provenance(self) -> dict:
        return self.identity()

    def builtin_prompts(self) -> dict:
        return dict(self.prompts)

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        self.calls.append((list(texts), prompt))
        rows = [[float(len(prompt + t))] + [1.0] * (self.width - 1) for t in texts]
        out = np.asarray(rows[:-1] if self.short else rows, dtype=np.float32).reshape(-1, self.width)
        if self.nan:
            out[0, 0] = np.nan
        return out


class Counting(Fake):
    """A Fake that counts tokens: one per character of prompt + text; inputs over 6 tokens are truncated."""

    max_tokens = 6

    def __init__(self) -> None:
        super().__init__()
        self.counted: list[str] = []
        self.fail = False

    def count_tokens(self, texts: list[str], prompt: str) -> np.ndarray:
        if self.fail:
            raise RuntimeError("no tokenizer")
        self.counted += [prompt + t for t in texts]
        return np.asarray([len(prompt + t) for t in texts])


def test_dedup_counts_and_row_order() -> None:
    enc, logged = Fake(), list[str]()
    emb = Embedder(enc, {}, None, log=logged.append)
    assert isinstance(emb.store, MemoryStore)
    stats = EmbedStats()
    assert emb.embed([], "", stats).shape == (0, 0)  # nothing encoded yet: no width known
    vecs = emb.embed(["aa", "b", "aa"], "", stats)
    assert vecs.dtype == np.float32 and vecs[:, 0].tolist() == [2, 1, 2]
    assert (stats.texts, stats.unique, stats.from_cache, stats.encoded) == (3, 2, 0, 2)
    again = emb.embed(["b", "ccc"], "q: ", stats)  # a prompt makes new inputs
    assert again[:, 0].tolist() == [4, 6]
    emb.embed(["aa", "ccc"], "", stats)
    assert (stats.texts, stats.unique, stats.from_cache, stats.encoded) == (7, 6, 1, 5)
    assert enc.calls == [(["aa", "b"], ""), (["b", "ccc"], "q: "), (["ccc"], "")]
    assert logged == ["encoding 2 new texts", "encoding 2 new texts with prompt 'q: '", "encoding 1 new texts"]
    assert emb.embed([], "", stats).shape == (0, 2)
    assert stats.encode_seconds >= 0 and stats.cache_seconds >= 0
    total = EmbedStats()
    total.add(stats)
    total.add(stats)
    assert (total.texts, total.encoded) == (14, 10)


@pytest.mark.parametrize(
    ("breaks", "message"),
    [("short", "expected 2 vectors, got an array of shape (1, 2)"), ("nan", "1 of 2 vectors contain NaN")],
)
def test_unusable_vectors_are_refused(breaks: str, message: str) -> None:
    enc = Fake()
    setattr(enc, breaks, True)
    emb = Embedder(enc, {}, None)
    with pytest.raises(BadVectors, match=message.replace("(", r"\(").replace(")", r"\)")):
        emb.embed(["a", "b"], "", EmbedStats())


def test_width_change_is_refused() -> None:
    enc = Fake()
    emb = Embedder(enc, {}, None)
    emb.embed(["a"], "", EmbedStats())
    enc.width = 3
    with pytest.raises(BadVectors, match="vector width changed from 2 to 3"):
        emb.embed(["b"], "", EmbedStats())


def test_prompts_from_models_yaml_or_the_model() -> None:
    enc = Fake(prompts={"query": "builtin: "})
    own = Embedder(enc, None, None)  # no prompts in models.yaml: the model's own
    task = own.for_task("t", "retrieval")
    task(["x"], "query")
    task(["y"])
    assert task.prompts_used == {"query": "builtin: ", "text": ""}
    assert enc.calls[0] == (["x"], "builtin: ")
    given = Embedder(Fake(prompts={"query": "builtin: "}), {"query": "mine: "}, None).for_task("t", "retrieval")
    given(["x"], "query")
    assert given.prompts_used == {"query": "mine: "} and given.task_name == "t" and given.category == "retrieval"


def test_tokens_counted_once_per_input_and_truncation_reported() -> None:
    enc = Counting()
    emb = Embedder(enc, {"query": "q: "}, None)
    task = emb.for_task("t", "retrieval")
    task(["abc", "abcdef", "abc"], "query")  # "q: abc" 6 tokens, "q: abcdef" 9 (over 6)
    task(["abcdefgh"])  # no prompt: 8 tokens, over 6
    assert enc.counted == ["q: abc", "q: abcdef", "abcdefgh"]
    assert task.truncation() == {
        "max_tokens": 6,
        "share_truncated": round(2 / 3, 6),
        "tokens_per_1000_chars": round(1000 * (6 + 9 + 8) / (6 + 9 + 8), 2),
        "texts": 3,
    }
    other = emb.for_task("u", "retrieval")  # another task: its own tally, the counts reused
    other(["abc"], "query")
    assert enc.counted == ["q: abc", "q: abcdef", "abcdefgh"]
    assert other.truncation() == {"max_tokens": 6, "share_truncated": 0.0, "tokens_per_1000_chars": 1000.0, "texts": 1}
    assert emb.count_seconds >= 0


def test_failed_counting_switches_accounting_off_only() -> None:
    enc, logged = Counting(), list[str]()
    enc.fail = True
    emb = Embedder(enc, {}, None, log=logged.append)
    task = emb.for_task("t", "sts")
    assert task(["a", "bb"])[:, 0].tolist() == [1, 2]  # the vectors still come
    assert task.truncation() is None and emb.counting is False
    assert any("token counting failed (RuntimeError: no tokenizer)" in line for line in logged)
    assert Embedder(Fake(), {}, None).for_task("t", "sts").truncation() is None  # no count_tokens at all
