"""Property tests (hypothesis): loaders round-trip any valid data and reject any broken data with one clear line;
metrics agree with their references (pytrec_eval, sklearn, scipy, brute force); undersampling keeps its promises.

Each property runs at most ~40 examples; the file takes a few seconds.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from embbench.categories.classification import undersample
from embbench.categories.retrieval import score_run
from embbench.data import load as load_data
from embbench.errors import UserError
from embbench.spec import LocalSource, TaskSpec

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------------------------------- strategies

# any text a user may have, surrogates aside (they cannot be written as UTF-8): control characters, zero-width
# and bidi marks, U+2028, NUL, BOMs, all scripts; not blank (blank texts are an error, tested below)
TEXT = st.text(min_size=1, max_size=24).filter(lambda s: s.strip() != "")
LABEL = st.one_of(
    st.sampled_from(["pos", "neg", "нейтр", "ё", " spaced "]),
    st.integers(-3, 3),
)
LABELS = st.lists(st.sampled_from(["a", "б", "c c", "7"]), max_size=3)
IDS = st.text("abcxyz0123456789_-.:ёж", min_size=1, max_size=6)  # BEIR ids: no tabs or newlines


def expected_label(value: Any) -> str:
    return str(value).strip()


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def write_rows(path: Path, rows: list[dict[str, Any]], fmt: str, *, bom: bool = False, crlf: bool = False) -> Path:
    """rows as JSON Lines or CSV (lists become JSON text in CSV cells); returns the file written."""
    path = path.with_suffix(f".{fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    end = "\r\n" if crlf else "\n"
    if fmt == "jsonl":
        body = "".join(json.dumps(r, ensure_ascii=False) + end for r in rows)
    else:
        buf = io.StringIO(newline="")
        cols = list(dict.fromkeys(k for r in rows for k in r))
        # Python's writer quotes a lone "\r" only when it is part of the line terminator: quote all with LF files
        quoting = csv.QUOTE_MINIMAL if crlf else csv.QUOTE_ALL
        w = csv.DictWriter(buf, cols, lineterminator=end, quoting=quoting)
        w.writeheader()
        for r in rows:
            w.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v for k, v in r.items()})
        body = buf.getvalue()
    path.write_bytes(("\ufeff" if bom else "").encode() + body.encode("utf-8"))
    return path


def task(data: Path, category: str, **kw: Any) -> TaskSpec:
    return TaskSpec(name="prop", category=category, source=LocalSource(data), file=data / "prop.yaml", **kw)


def load(category: str, data: Path, **kw: Any) -> Any:
    return load_data(task(data, category, **kw))


FMT = st.sampled_from(["jsonl", "csv"])

# ---------------------------------------------------------------------------------- valid data round-trips


@SETTINGS
@given(
    train=st.lists(st.tuples(TEXT, LABEL), max_size=12),
    test=st.lists(st.tuples(TEXT, LABEL), min_size=1, max_size=8),
    fmt=FMT,
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_classification_round_trip(train: list, test: list, fmt: str, bom: bool, crlf: bool) -> None:
    # every class twice at least (the protocol's minimum), and two classes at least
    train = [*train, *((f"{t} (2)", lab) for t, lab in train), ("x1", "pos"), ("x2", "pos"), ("x3", 0), ("x4", "0")]
    with folder() as d:
        for split, rows in (("train", train), ("test", test)):
            write_rows(d / split, [{"text": t, "label": lab} for t, lab in rows], fmt, bom=bom, crlf=crlf)
        data = load("classification", d)
    assert data.train_texts == [t for t, _ in train] and data.test_texts == [t for t, _ in test]
    assert data.train_labels == [expected_label(lab) for _, lab in train]
    assert data.test_labels == [expected_label(lab) for _, lab in test]
    assert data.n_items == len(test) and len(data.fingerprint) == 64


@SETTINGS
@given(
    train=st.lists(st.tuples(TEXT, LABELS), max_size=10),
    test=st.lists(st.tuples(TEXT, LABELS), min_size=1, max_size=8),
    fmt=FMT,
)
def test_multilabel_round_trip(train: list, test: list, fmt: str) -> None:
    train = [*train, ("labelled", ["a"])]
    with folder() as d:
        for split, rows in (("train", train), ("test", test)):
            write_rows(d / split, [{"text": t, "labels": labs} for t, labs in rows], fmt)
        data = load("multilabel_classification", d)
    assert data.train_texts == [t for t, _ in train] and data.test_texts == [t for t, _ in test]
    assert data.train_labels == [[expected_label(v) for v in labs] for _, labs in train]
    assert data.test_labels == [[expected_label(v) for v in labs] for _, labs in test]


@SETTINGS
@given(rows=st.lists(st.tuples(TEXT, LABEL), min_size=1, max_size=12), fmt=FMT, crlf=st.booleans())
def test_clustering_round_trip(rows: list, fmt: str, crlf: bool) -> None:
    rows = [*rows, ("one", "pos"), ("two", "neg")]
    with folder() as d:
        write_rows(d / "test", [{"text": t, "label": lab} for t, lab in rows], fmt, crlf=crlf)
        data = load("clustering", d)
    assert data.texts == [t for t, _ in rows] and data.labels == [expected_label(lab) for _, lab in rows]


@SETTINGS
@given(
    rows=st.lists(st.tuples(TEXT, TEXT, st.sampled_from([0, 1, "0", "1", " 1 "])), max_size=10),
    fmt=FMT,
    bom=st.booleans(),
)
def test_pair_classification_round_trip(rows: list, fmt: str, bom: bool) -> None:
    rows = [*rows, ("a", "b", 0), ("c", "d", 1)]
    with folder() as d:
        write_rows(d / "test", [{"sentence1": a, "sentence2": b, "label": y} for a, b, y in rows], fmt, bom=bom)
        data = load("pair_classification", d)
    assert data.sentences1 == [a for a, _, _ in rows] and data.sentences2 == [b for _, b, _ in rows]
    assert data.labels == [int(str(y).strip()) for _, _, y in rows]


SCORE = st.one_of(st.integers(0, 5), st.floats(0, 5, allow_nan=False), st.sampled_from(["2.5", "0", "5.0", "1e0"]))


@SETTINGS
@given(rows=st.lists(st.tuples(TEXT, TEXT, SCORE), max_size=10), fmt=FMT, crlf=st.booleans())
def test_sts_round_trip(rows: list, fmt: str, crlf: bool) -> None:
    rows = [*rows, ("a", "b", 0), ("c", "d", 5)]
    with folder() as d:
        write_rows(d / "test", [{"sentence1": a, "sentence2": b, "score": s} for a, b, s in rows], fmt, crlf=crlf)
        data = load("sts", d, score_range=(0.0, 5.0))
    assert data.sentences1 == [a for a, _, _ in rows] and data.sentences2 == [b for _, b, _ in rows]
    assert data.scores == [float(s) for _, _, s in rows]  # exact: CSV writes repr(float), which round-trips


@SETTINGS
@given(
    rows=st.lists(st.tuples(TEXT, st.lists(TEXT, max_size=3), st.lists(TEXT, max_size=4)), min_size=1, max_size=6),
    fmt=FMT,
)
def test_reranking_round_trip(rows: list, fmt: str) -> None:
    rows = [*rows, ("query", ["relevant"], ["other"])]
    with folder() as d:
        write_rows(d / "test", [{"query": q, "positive": p, "negative": n} for q, p, n in rows], fmt)
        data = load("reranking", d)
    kept = [(i, r) for i, r in enumerate(rows) if r[1]]  # rows without a positive are dropped (as mteb)
    assert list(data.queries.values()) == [q for _, (q, _, _) in kept]
    for (i, (_, pos, neg)), qid in zip(kept, data.queries, strict=True):
        assert qid == f"q{i}"
        # candidate (document) texts are stripped as mteb's corpus loader does
        assert [data.corpus[d] for d in data.candidates[qid]] == list(dict.fromkeys(t.strip() for t in pos + neg))
        assert {data.corpus[d] for d in data.qrels[qid]} == {t.strip() for t in pos}
    assert len(set(data.corpus.values())) == len(data.corpus)  # identical texts share one document


@SETTINGS
@given(
    docs=st.dictionaries(IDS, st.tuples(st.one_of(st.none(), st.just(""), TEXT), TEXT), min_size=1, max_size=8),
    queries=st.dictionaries(IDS, TEXT, min_size=1, max_size=5),
    data=st.data(),
    fmt=FMT,
)
def test_retrieval_round_trip(docs: dict, queries: dict, data: Any, fmt: str) -> None:
    judged = data.draw(st.lists(st.sampled_from(sorted(queries)), min_size=1, unique=True))
    qrels = {
        q: data.draw(st.dictionaries(st.sampled_from(sorted(docs)), st.integers(0, 3), min_size=1)) for q in judged
    }
    with folder() as d:
        write_rows(
            d / "corpus",
            [
                {"_id": i, "title": t, "text": x} if t is not None else {"_id": i, "text": x}
                for i, (t, x) in docs.items()
            ],
            fmt,
        )
        write_rows(d / "queries", [{"_id": i, "text": x} for i, x in queries.items()], fmt)
        (d / "qrels").mkdir()
        lines = [f"{q}\t{doc}\t{s}" for q, ds in qrels.items() for doc, s in ds.items()]
        (d / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(lines) + "\n", "utf-8")
        got = load("retrieval", d)
    # the document text as mteb builds it: (title + " " + text).strip(), or text.strip() without a title
    assert got.corpus == {i: f"{t} {x}".strip() if t else x.strip() for i, (t, x) in docs.items()}
    assert got.queries == {q: queries[q] for q in queries if q in qrels}
    assert got.qrels == qrels


# -------------------------------------------------------------------------------- broken data: one line


def assert_one_line_error(exc: UserError, path: Path) -> None:
    msg = str(exc)
    assert len(msg.splitlines()) == 1, msg
    assert str(path) in msg, (str(path), msg)


# category -> {file: {column: kind}}; kinds pick the broken values below
LAYOUT: dict[str, dict[str, dict[str, str]]] = {
    "classification": {"train": {"text": "text", "label": "label"}, "test": {"text": "text", "label": "label"}},
    "multilabel_classification": {
        "train": {"text": "text", "labels": "labels"},
        "test": {"text": "text", "labels": "labels"},
    },
    "clustering": {"test": {"text": "text", "label": "label"}},
    "pair_classification": {"test": {"sentence1": "text", "sentence2": "text", "label": "binary"}},
    "sts": {"test": {"sentence1": "text", "sentence2": "text", "score": "score"}},
    "reranking": {"test": {"query": "text", "positive": "texts", "negative": "texts"}},
}
GOOD: dict[str, Callable[[int], Any]] = {
    "text": lambda i: f"текст {i}",
    "label": lambda i: ["x", "y"][i % 2],
    "labels": lambda i: [["x"], ["y", "x"], []][i % 3],
    "binary": lambda i: i % 2,
    "score": lambda i: i % 6,
    "texts": lambda i: [f"кандидат {i}", f"ещё {i}"],
}
BAD: dict[str, list[Any]] = {
    "text": [5, 1.5, True, None, ["a"], {"a": 1}, "", "   ", "\t\u3000\n"],
    "label": [None, 1.5, True, ["a"], {"a": 1}, "", "  "],
    "labels": [5, "not json [", {"a": 1}, [None], [["x"]], [""], "5", None],
    "binary": [2, -1, "yes", 0.5, True, None, [1], ""],
    "score": ["high", None, True, [1], {}, float("nan"), float("inf"), 99, -1, ""],
    "texts": [5, "plain text", [5], [""], {"a": 1}, None, [None]],
}
NOT_JSON = ["{", "not json", "[1, 2]", "42", '"text"', "{'single': 'quotes'}", "NaN", "null", '{"a": 1,}']


def good_rows(cols: dict[str, str], n: int = 8) -> list[dict[str, Any]]:
    return [{c: GOOD[k](i) for c, k in cols.items()} for i in range(n)]


def write_layout(d: Path, category: str, fmt: str = "jsonl") -> dict[str, Path]:
    return {split: write_rows(d / split, good_rows(cols), fmt) for split, cols in LAYOUT[category].items()}


def load_broken(category: str, d: Path) -> UserError:
    kw = {"score_range": (0.0, 5.0)} if category == "sts" else {}
    with pytest.raises(UserError) as info:
        load(category, d, **kw)
    return info.value


def test_the_unbroken_layouts_load() -> None:
    for category in LAYOUT:
        with folder() as d:
            write_layout(d, category)
            load(category, d, **({"score_range": (0.0, 5.0)} if category == "sts" else {}))


@SETTINGS
@given(category=st.sampled_from(sorted(LAYOUT)), data=st.data())
def test_a_wrong_value_is_one_line_naming_the_file(category: str, data: Any) -> None:
    split = data.draw(st.sampled_from(sorted(LAYOUT[category])))
    col = data.draw(st.sampled_from(sorted(LAYOUT[category][split])))
    bad = data.draw(st.sampled_from(BAD[LAYOUT[category][split][col]]))
    row = data.draw(st.integers(0, 7))
    with folder() as d:
        paths = write_layout(d, category)
        rows = good_rows(LAYOUT[category][split])
        rows[row][col] = bad
        write_rows(paths[split], rows, "jsonl")
        assert_one_line_error(load_broken(category, d), paths[split])


@SETTINGS
@given(category=st.sampled_from(sorted(LAYOUT)), data=st.data(), fmt=FMT)
def test_a_missing_column_is_one_line_naming_the_file(category: str, data: Any, fmt: str) -> None:
    split = data.draw(st.sampled_from(sorted(LAYOUT[category])))
    col = data.draw(st.sampled_from(sorted(LAYOUT[category][split])))
    rows_without = data.draw(st.sampled_from(["all", "one"]))
    with folder() as d:
        paths = write_layout(d, category, fmt)
        rows = good_rows(LAYOUT[category][split])
        for i, r in enumerate(rows):
            if rows_without == "all" or i == 3:
                del r[col]  # in CSV, one row without the column is an empty cell
        paths[split].unlink()
        path = write_rows(d / split, rows, fmt)
        assert_one_line_error(load_broken(category, d), path)


@SETTINGS
@given(
    category=st.sampled_from(sorted(LAYOUT)),
    data=st.data(),
    line=st.one_of(
        st.sampled_from(NOT_JSON), st.text(min_size=1, max_size=30).filter(lambda s: s.strip() and "\r" not in s)
    ),
)
def test_a_line_that_is_no_json_object_is_one_line_naming_the_file(category: str, data: Any, line: str) -> None:
    split = data.draw(st.sampled_from(sorted(LAYOUT[category])))
    line = line.replace("\n", " ")
    with suppress(ValueError):
        assume(not isinstance(json.loads(line), dict))
    with folder() as d:
        paths = write_layout(d, category)
        lines = paths[split].read_text(encoding="utf-8").splitlines(keepends=True)
        at = data.draw(st.integers(0, len(lines)))
        lines.insert(at, line + "\n")
        paths[split].write_text("".join(lines), encoding="utf-8")
        err = load_broken(category, d)
        assert_one_line_error(err, paths[split])
        assert f":{at + 1}:" in str(err), str(err)  # and the line number


BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # everything str.splitlines() breaks at
ODD = st.tuples(TEXT, st.sampled_from(BREAKS), TEXT).map("".join)


@SETTINGS
@given(odd=ODD, where=st.sampled_from(["label", "column", "id"]))
def test_user_text_quoted_in_an_error_stays_on_one_line(odd: str, where: str) -> None:
    """Errors quote labels, column names and ids as written; line breaks in them are shown escaped."""
    with folder() as d:
        if where == "label":  # a class with one training example is named in the error
            rows = [{"text": f"t{i}", "label": lab} for i, lab in enumerate(["a", "a", "b", "b", odd])]
            path = write_rows(d / "train", rows, "jsonl")
            write_rows(d / "test", rows, "jsonl")
            category = "classification"
        elif where == "column":  # the columns found are listed when one is missing
            path = write_rows(d / "test", [{odd: "x", "label": "a"}], "jsonl")
            category = "clustering"
        else:  # a duplicate document id is named
            path = write_rows(d / "corpus", [{"_id": odd, "text": "x"}, {"_id": odd, "text": "y"}], "jsonl")
            write_rows(d / "queries", [{"_id": "q", "text": "x"}], "jsonl")
            (d / "qrels").mkdir()
            (d / "qrels" / "test.tsv").write_text("q\td\t1\n", encoding="utf-8")
            category = "retrieval"
        assert_one_line_error(load_broken(category, d), path)


@FEW
@given(
    broken=st.sampled_from(
        [
            ("corpus", '{"text": "no id"}'),
            ("corpus", '{"_id": "d0", "text": "duplicate id"}'),
            ("corpus", '{"_id": "d9", "title": 5, "text": "x"}'),
            ("corpus", '{"_id": "d9"}'),
            ("corpus", '{"_id": "d9", "title": "", "text": "   "}'),
            ("queries", '{"_id": "q9", "text": ""}'),
            ("queries", '{"_id": "q9", "text": ["list"]}'),
            ("queries", "not json"),
            ("qrels", "q0\td0"),
            ("qrels", "q0\td0\thigh"),
            ("qrels", "q0\tno-such-doc\t1"),
            ("qrels", "no-such-query\td0\t1"),
            ("qrels", "q0\td0\t1\textra"),
        ]
    )
)
def test_broken_retrieval_data_is_one_line_naming_the_file(broken: tuple[str, str]) -> None:
    which, line = broken
    with folder() as d:
        write_rows(d / "corpus", [{"_id": f"d{i}", "title": "", "text": f"документ {i}"} for i in range(3)], "jsonl")
        write_rows(d / "queries", [{"_id": f"q{i}", "text": f"вопрос {i}"} for i in range(2)], "jsonl")
        (d / "qrels").mkdir()
        qrels = d / "qrels" / "test.tsv"
        qrels.write_text("query-id\tcorpus-id\tscore\nq0\td0\t1\nq1\td2\t2\n", encoding="utf-8")
        path = {"corpus": d / "corpus.jsonl", "queries": d / "queries.jsonl", "qrels": qrels}[which]
        path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
        with pytest.raises(UserError) as info:
            load("retrieval", d)
        assert_one_line_error(info.value, path)


# ---------------------------------------------------------------------------------- metrics vs references


def trec_rank(docs: dict[str, float]) -> list[str]:
    """trec_eval's order: score descending, ties by document id descending."""
    return [d for d, _ in sorted(docs.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]


def by_hand(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], k: int) -> dict[str, float]:
    """nDCG@k, recall@k, P@k, MAP@k, MRR@k, hit rate@k averaged over the run's queries, from their definitions."""
    out: dict[str, list[float]] = {m: [] for m in ("ndcg", "recall", "precision", "map", "mrr", "hit")}
    for q, docs in run.items():
        ranked = trec_rank(docs)[:k]
        rel = qrels[q]
        relevant = {d for d, r in rel.items() if r > 0}
        gains = [rel.get(d, 0) for d in ranked]
        dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains) if g > 0)
        ideal = sorted((r for r in rel.values() if r > 0), reverse=True)[:k]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        hits = [d in relevant for d in ranked]
        out["ndcg"].append(dcg / idcg if idcg else 0.0)
        out["recall"].append(sum(hits) / len(relevant) if relevant else 0.0)
        out["precision"].append(sum(hits) / k)
        precisions = [sum(hits[: i + 1]) / (i + 1) for i, h in enumerate(hits) if h]
        out["map"].append(sum(precisions) / len(relevant) if relevant else 0.0)
        out["mrr"].append(next((1 / (i + 1) for i, h in enumerate(hits) if h), 0.0))
        out["hit"].append(1.0 if any(hits) else 0.0)
    return {m: sum(v) / len(v) for m, v in out.items()}


DOC_IDS = [f"d{i}" for i in range(12)]


@SETTINGS
@given(data=st.data(), n_queries=st.integers(1, 5))
def test_retrieval_metrics_agree_with_pytrec_eval_and_their_definitions(data: Any, n_queries: int) -> None:
    import pytrec_eval

    qrels, run = {}, {}
    for q in (f"q{i}" for i in range(n_queries)):
        qrels[q] = data.draw(st.dictionaries(st.sampled_from(DOC_IDS), st.integers(0, 3), min_size=1, max_size=6))
        # scores from a small set: ties are common, and must be broken as trec_eval does
        run[q] = data.draw(
            st.dictionaries(st.sampled_from(DOC_IDS), st.sampled_from([0.1, 0.25, 0.5, 0.9, -0.3]), min_size=1)
        )
    ks = (1, 3, 5, 10)
    got = score_run(qrels, run, ks)
    per_query = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.1,3,5,10", "recall.1,3,5,10"}).evaluate(run)
    for k in ks:
        direct = sum(v[f"ndcg_cut_{k}"] for v in per_query.values()) / len(per_query)
        assert got[f"ndcg_at_{k}"] == pytest.approx(direct, abs=6e-6)
        direct = sum(v[f"recall_{k}"] for v in per_query.values()) / len(per_query)
        assert got[f"recall_at_{k}"] == pytest.approx(direct, abs=6e-6)
        hand = by_hand(qrels, run, k)
        for ours, theirs in (
            ("ndcg_at", "ndcg"),
            ("recall_at", "recall"),
            ("precision_at", "precision"),
            ("map_at", "map"),
            ("mrr_at", "mrr"),
            ("hit_rate_at", "hit"),
        ):
            assert got[f"{ours}_{k}"] == pytest.approx(hand[theirs], abs=6e-6), (ours, k)


def embed_from(vectors: dict[str, np.ndarray]) -> Callable[..., np.ndarray]:
    def embed(texts: list[str], role: Any = None) -> np.ndarray:
        return np.stack([vectors[t] for t in texts]).astype(np.float32)

    return embed


def pairs_at_angles(steps: list[int], seed: int, dim: int = 8) -> tuple[list[str], list[str], dict[str, np.ndarray]]:
    """Pairs (a_i, b_i) of unit vectors at the angle steps[i] * pi/64 (0..3pi/4), their axes permuted and flipped at
    random (which keeps dot products, L1 and L2 distances): every similarity (cosine, dot, -euclidean, -manhattan)
    then falls as the step grows, so each variant ranks the pairs by -step."""
    rng = np.random.default_rng(seed)
    axes, signs = rng.permutation(dim), rng.choice([-1.0, 1.0], size=dim)
    vectors, s1, s2 = {}, [], []
    for i, k in enumerate(steps):
        theta = k * math.pi / 64
        a, b = np.zeros(dim), np.zeros(dim)
        a[axes[0]], b[axes[0]], b[axes[1]] = 1.0, math.cos(theta), math.sin(theta)
        s1.append(f"a{i}")
        s2.append(f"b{i}")
        vectors[f"a{i}"], vectors[f"b{i}"] = a * signs, b * signs
    return s1, s2, vectors


def brute_best(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Best accuracy and F1 over thresholds that split the items into two non-empty groups (mteb's sweep)."""
    best_acc = best_f1 = 0.0
    for t in np.unique(scores)[1:]:
        pred = scores >= t
        best_acc = max(best_acc, float((pred == labels.astype(bool)).mean()))
        tp = int((pred & (labels == 1)).sum())
        if tp:
            p, r = tp / pred.sum(), tp / labels.sum()
            best_f1 = max(best_f1, 2 * p * r / (p + r))
    return best_acc, best_f1


@SETTINGS
@given(
    rows=st.lists(st.tuples(st.integers(0, 48), st.integers(0, 1)), min_size=2, max_size=30),
    seed=st.integers(0, 2**16),
)
def test_pair_classification_ap_and_sweeps_agree_with_sklearn_and_brute_force(rows: list, seed: int) -> None:
    from sklearn.metrics import average_precision_score

    from embbench.categories.pair_classification import Data, evaluate

    labels = np.array([y for _, y in rows])
    assume(0 < labels.sum() < len(labels))
    steps = [k for k, _ in rows]
    s1, s2, vectors = pairs_at_angles(steps, seed)
    data = Data(s1, s2, labels.tolist(), "f")
    got = evaluate(data, embed_from(vectors), {"similarity_fn": "cosine"})
    score = -np.array(steps, dtype=float)  # the common order of every variant
    ap = average_precision_score(labels, score)
    acc, f1 = brute_best(score, labels)
    for name in ("similarity", "cosine", "dot", "euclidean", "manhattan"):
        assert got[f"{name}_ap"] == pytest.approx(ap, abs=1e-12), name
        assert got[f"{name}_accuracy"] == pytest.approx(acc, abs=1e-12), name
        assert got[f"{name}_f1"] == pytest.approx(f1, abs=1e-12), name
    assert got["max_ap"] == pytest.approx(ap, abs=1e-12)


@SETTINGS
@given(
    rows=st.lists(st.tuples(st.integers(0, 48), st.integers(0, 50)), min_size=3, max_size=30),
    seed=st.integers(0, 2**16),
)
def test_sts_correlations_agree_with_scipy(rows: list, seed: int) -> None:
    from scipy.stats import pearsonr, spearmanr

    from embbench.categories.sts import Data, evaluate

    steps, gold = [k for k, _ in rows], [g / 10 for _, g in rows]
    assume(len(set(steps)) > 1 and len(set(gold)) > 1)
    s1, s2, vectors = pairs_at_angles(steps, seed)
    got = evaluate(Data(s1, s2, gold, (0.0, 5.0), "f"), embed_from(vectors), {"similarity_fn": "cosine"})
    want = spearmanr(gold, -np.array(steps, dtype=float))[0]  # any similarity falls with the step
    for key in ("cosine_spearman", "euclidean_spearman", "manhattan_spearman", "spearman"):
        assert got[key] == pytest.approx(want, abs=1e-9), key
    cos = np.cos(np.array(steps) * math.pi / 64)
    assert got["cosine_pearson"] == pytest.approx(pearsonr(gold, cos)[0], abs=1e-5)


@SETTINGS
@given(
    labels=st.lists(st.integers(0, 5), min_size=1, max_size=60),
    n_experiments=st.integers(1, 6),
    samples_per_label=st.integers(1, 10),
    seed=st.integers(0, 2**31 - 1),
)
def test_undersample_keeps_at_most_samples_per_label_and_is_deterministic(
    labels: list[int], n_experiments: int, samples_per_label: int, seed: int
) -> None:
    picks = undersample(labels, n_experiments, samples_per_label, seed)
    assert picks == undersample(labels, n_experiments, samples_per_label, seed)
    assert len(picks) == n_experiments
    for chosen in picks:
        assert len(set(chosen)) == len(chosen) and all(0 <= i < len(labels) for i in chosen)
        for lab in set(labels):
            n = sum(labels[i] == lab for i in chosen)
            assert n == min(samples_per_label, labels.count(lab))  # as many as it can, never more
