"""BM25 baseline (bm25s) with Russian-aware tokenisation: a Ranker for retrieval and reranking tasks.

Text -> tokens (tokeniser version ``TOKENIZER_VERSION``): lower-case, ё -> е, ``\\w+`` runs, optional removal of
bm25s' Russian stop words, then Snowball "russian" stemming (PyStemmer, default), pymorphy3 lemmas, or nothing.
A query term that occurs twice counts twice (as in Lucene and bm25s). Scores use bm25s' eager index; with the
default method "lucene": idf = ln(1 + (N - df + 0.5) / (df + 0.5)), tf part = tf / (tf + k1 (1 - b + b dl / avgdl)).

models.yaml: ``- {name: bm25, backend: bm25, options: {k1: 1.2, b: 0.75, method: lucene, stemmer: snowball,
stopwords: true}}`` (every option optional).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from embbench._io import dist_version
from embbench.categories._common import merge_options
from embbench.errors import UserError, missing_extra
from embbench.spec import ModelSpec

TOKENIZER_VERSION = "ru-1"  # bump when tokenise() changes what it returns
WORD = re.compile(r"\w+")
METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")
STEMMERS = ("snowball", "pymorphy", "none")
DEFAULTS: dict[str, Any] = {
    "k1": 1.5,
    "b": 0.75,
    "method": "lucene",
    "delta": 0.5,
    "stemmer": "snowball",
    "stopwords": True,
}


def options_of(spec: ModelSpec, defaults: dict[str, Any]) -> dict[str, Any]:
    """The backend's defaults overridden by the model entry's options (one rule with a task's params)."""
    where = f"{spec.file or 'models.yaml'}: model '{spec.name}'"
    return merge_options(defaults, spec.options or {}, where, "options", "option", f" for backend '{spec.backend}'")


class Tokenizer:
    """Russian-aware text -> tokens; the stemmer/lemmatiser is loaded once and its results cached per word."""

    def __init__(self, stemmer: str = "snowball", stopwords: bool = True):
        self.stemmer = stemmer
        self.stop: frozenset[str] = frozenset()
        if stopwords:
            try:
                from bm25s.stopwords import STOPWORDS_RUSSIAN
            except ImportError:
                raise missing_extra("bm25s", "baselines") from None
            self.stop = frozenset(w.lower().replace("ё", "е") for w in STOPWORDS_RUSSIAN)
        self._cache: dict[str, str] = {}
        self._stem_many: Callable[[list[str]], list[str]] | None = None
        if stemmer == "snowball":
            try:
                import Stemmer
            except ImportError:
                raise missing_extra("PyStemmer", "baselines") from None
            self._stem_many = Stemmer.Stemmer("russian").stemWords
        elif stemmer == "pymorphy":
            try:
                import pymorphy3
            except ImportError:
                raise missing_extra("pymorphy3", "baselines") from None
            morph = pymorphy3.MorphAnalyzer()
            self._stem_many = lambda words: [morph.parse(w)[0].normal_form.replace("ё", "е") for w in words]

    def words(self, text: str) -> list[str]:
        """Lower-cased, ё -> е, \\w+ runs, stop words removed (before stemming)."""
        return [w for w in WORD.findall(text.lower().replace("ё", "е")) if w not in self.stop]

    def __call__(self, texts: list[str]) -> list[list[str]]:
        """Tokens of each text; each distinct word is stemmed once."""
        split = [self.words(t) for t in texts]
        if self._stem_many is None:
            return split
        new = list({w for ws in split for w in ws if w not in self._cache})
        if new:
            self._cache.update(zip(new, self._stem_many(new), strict=True))
        return [[self._cache[w] for w in ws] for ws in split]


def _top(scores: np.ndarray, index: np.ndarray, k: int) -> dict[int, float]:
    """The k best (score descending, then document index ascending) as {document index: score}."""
    if k <= 0:
        return {}
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
        # ties at the cut: keep the k lowest indices among the documents that share the k-th score
        kth = scores[part].min()
        above = np.flatnonzero(scores > kth)
        tied = np.flatnonzero(scores == kth)[: k - len(above)]
        keep = np.concatenate([above, tied])
    else:
        keep = np.arange(len(scores))
    order = keep[np.lexsort((index[keep], -scores[keep]))]
    return {int(index[i]): float(scores[i]) for i in order}


class BM25Ranker:
    """BM25 over the documents of one task (an index per rank() call); see the module docstring."""

    categories = ("retrieval", "reranking")

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.options = options_of(spec, DEFAULTS)
        o = self.options
        where = f"{spec.file or 'models.yaml'}: model '{spec.name}'"
        if o["method"] not in METHODS:
            raise UserError(
                where,
                f"unknown BM25 method {o['method']!r}",
                field="options.method",
                fix=f"use one of: {', '.join(METHODS)}",
            )
        if o["stemmer"] not in STEMMERS:
            raise UserError(
                where,
                f"unknown stemmer {o['stemmer']!r}",
                field="options.stemmer",
                fix=f"use one of: {', '.join(STEMMERS)}",
            )
        if o["k1"] < 0:
            raise UserError(where, f"k1 must be >= 0, got {o['k1']}", field="options.k1")
        if not 0 <= o["b"] <= 1:
            raise UserError(where, f"b must be in [0, 1], got {o['b']}", field="options.b")
        try:
            import bm25s
        except ImportError:
            raise missing_extra("bm25s", "baselines") from None
        self._bm25s = bm25s
        self.tokenize = Tokenizer(o["stemmer"], o["stopwords"])

    def identity(self) -> dict[str, Any]:
        """Every setting that changes a score."""
        o = self.options
        out = {"backend": "bm25", "tokenizer": TOKENIZER_VERSION, **{k: o[k] for k in DEFAULTS}}
        if o["method"] not in ("bm25l", "bm25+"):
            out.pop("delta")  # only BM25L and BM25+ use it
        return out

    def provenance(self) -> dict[str, Any]:
        """Identity plus the library versions (a stemmer or dictionary update can move scores)."""
        libs = {"bm25s": dist_version("bm25s")}
        if self.options["stemmer"] == "snowball":
            libs["PyStemmer"] = dist_version("PyStemmer")
        elif self.options["stemmer"] == "pymorphy":
            libs.update(pymorphy3=dist_version("pymorphy3"), pymorphy3_dicts_ru=dist_version("pymorphy3-dicts-ru"))
        return {**self.identity(), "source": self.spec.model, "libraries": libs}

    def _index(self, docs: list[list[str]]) -> tuple[Any, dict[str, int]]:
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(w, len(vocab)) for w in d] for d in docs]
        o = self.options
        retriever = self._bm25s.BM25(k1=o["k1"], b=o["b"], delta=o["delta"], method=o["method"])
        if vocab:
            retriever.index((ids, dict(vocab)), show_progress=False)
        return retriever, vocab

    def rank(
        self, queries: list[str], documents: list[str], candidates: list[list[int]] | None, top_k: int
    ) -> list[dict[int, float]]:
        """Per query, {document index: BM25 score} of its top_k documents, best first.

        Retrieval (candidates None): every document is indexed and the top_k are returned (zero scores included
        when fewer than top_k documents share a term, as mteb's bm25s baseline). Reranking: the union of the
        candidate lists is indexed (collection statistics come from those documents) and each query gets only its
        own candidates, at most top_k of them. Ties rank the lower document index first.
        """
        if candidates is None:
            pool = np.arange(len(documents))
        else:
            pool = np.array(sorted({j for c in candidates for j in c}), dtype=np.int64)
        retriever, vocab = self._index(self.tokenize([documents[j] for j in pool]))
        where = {int(j): i for i, j in enumerate(pool)}  # document index -> index row
        out: list[dict[int, float]] = []
        for qi, q_tokens in enumerate(self.tokenize(list(queries))):
            term_ids = [vocab[w] for w in q_tokens if w in vocab]
            if term_ids:
                scores = np.asarray(retriever.get_scores_from_ids(term_ids), dtype=np.float64)
            else:
                scores = np.zeros(len(pool))
            if candidates is None:
                out.append(_top(scores, pool, min(top_k, len(pool))))
            else:
                cand = np.array(list(dict.fromkeys(candidates[qi])), dtype=np.int64)
                rows = np.array([where[int(j)] for j in cand], dtype=np.int64)
                out.append(_top(scores[rows], cand, min(top_k, len(cand))))
        return out
