#!/usr/bin/env python3
"""Build the small offline demo subsets under tasks/data/ from the shared Russian datasets.

Usage:
    python tasks/data/make_subsets.py [SOURCE_DIR]

SOURCE_DIR defaults to ``<repo root>/../shared/data``. Output is written next to this script
(``tasks/data/<category>/<name>/``). The script is deterministic (fixed seeds, sorted keys) and
can be re-run at any time; it overwrites the subset files it produces.

Rules:
- Every kept row is written back as ``json.dumps(row, ensure_ascii=False)`` (identical to the
  source line) and kept rows stay in their original relative order (kept indices are sorted).
- Each sampling step uses its own ``random.Random(42)`` so steps do not influence each other.
- Each source README.md is copied as ``SOURCE.md`` into its subset folder (license travels with
  the data).
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path

SEED = 42
HERE = Path(__file__).resolve().parent  # tasks/data
REPO_ROOT = HERE.parent.parent  # repo root
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "data"


# ----------------------------------------------------------------------------- io helpers
def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def copy_whole_gzipped(src: Path, dst: Path) -> dict:
    """The whole split, byte for byte, as test.jsonl.gz (mtime 0: the same bytes on every run)."""
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "test.jsonl").unlink(missing_ok=True)
    data = (src / "test.jsonl").read_bytes()
    with (
        open(dst / "test.jsonl.gz", "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as fh,
    ):
        fh.write(data)
    copy_source_readme(src, dst)
    return {"test": sum(1 for line in data.splitlines() if line.strip())}


def copy_source_readme(src_dir: Path, dst_dir: Path) -> None:
    dst_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src_dir / "README.md", dst_dir / "SOURCE.md")


# ----------------------------------------------------------------------------- samplers
def random_indices(n_total: int, n: int, seed: int = SEED) -> list[int]:
    """Simple random sample of ``n`` row indices (sorted, original order)."""
    n = min(n, n_total)
    return sorted(random.Random(seed).sample(range(n_total), n))


def stratified_indices(labels: list, n: int, seed: int = SEED, min_per_class: int = 1) -> list[int]:
    """Stratified sample of ``n`` indices with proportional (largest-remainder) allocation.

    Every class gets at least ``min_per_class`` rows (if it has that many), so all classes are
    present. Classes are processed in sorted order with one RNG, so the result is deterministic.
    """
    by_label: dict = defaultdict(list)
    for i, lab in enumerate(labels):
        by_label[lab].append(i)
    classes = sorted(by_label, key=lambda x: str(x))
    total = len(labels)
    n = min(n, total)

    exact = {c: n * len(by_label[c]) / total for c in classes}
    quota = {c: min(len(by_label[c]), max(min_per_class, int(exact[c]))) for c in classes}
    # distribute the remainder by largest fractional part (ties: class order)
    while sum(quota.values()) < n:
        cands = [c for c in classes if quota[c] < len(by_label[c])]
        c = max(cands, key=lambda c: (exact[c] - quota[c], -classes.index(c)))
        quota[c] += 1
    # if the min_per_class floor overshot, take back from the largest over-allocated classes
    while sum(quota.values()) > n:
        c = max(classes, key=lambda c: (quota[c] - exact[c], -classes.index(c)))
        quota[c] -= 1

    rng = random.Random(seed)
    keep: list[int] = []
    for c in classes:
        keep.extend(rng.sample(by_label[c], quota[c]))
    return sorted(keep)


def multilabel_train_indices(
    train_labels: list[list[str]], test_needed: set[str], n: int, min_count: int = 8, seed: int = SEED
) -> list[int]:
    """Random sample of ``n`` train rows, then deterministic swaps so that every label in
    ``test_needed`` occurs at least ``min_count`` times (if the full train split allows it).

    A swap adds an unselected row carrying the deficient label and removes a selected row that
    carries none of the deficient labels and whose removal keeps all counts >= ``min_count``
    (rows with an empty label list are preferred for removal).
    """
    total = len(train_labels)
    rng = random.Random(seed)
    order = list(range(total))
    rng.shuffle(order)
    selected = set(order[:n])
    pool_order = order[n:]  # candidates to add, in shuffled order
    removal_order = [i for i in order[:n]]  # candidates to remove, in shuffled order
    removal_order.sort(key=lambda i: len(train_labels[i]) > 0)  # stable: empty-label rows first

    full = Counter(lab for labs in train_labels for lab in labs)

    def counts() -> Counter:
        return Counter(lab for i in selected for lab in train_labels[i])

    for label in sorted(test_needed):
        target = min(min_count, full[label])
        while counts()[label] < target:
            cnt = counts()
            deficient = {lab for lab in test_needed if cnt[lab] < min(min_count, full[lab])}
            add = next(i for i in pool_order if i not in selected and label in train_labels[i])
            rem = next(
                i
                for i in removal_order
                if i in selected
                and not (set(train_labels[i]) & deficient)
                and all(cnt[lab] - 1 >= min_count for lab in train_labels[i])
            )
            selected.add(add)
            selected.discard(rem)
    return sorted(selected)


# ----------------------------------------------------------------------------- tasks
def subset_single(src: Path, dst: Path, split_sizes: dict[str, int], key: str | None) -> dict:
    """One-file-per-split datasets; ``key`` = label key for stratification (None = random)."""
    copy_source_readme(src, dst)
    stats = {}
    for split, n in split_sizes.items():
        rows = read_jsonl(src / f"{split}.jsonl")
        idx = random_indices(len(rows), n) if key is None else stratified_indices([r[key] for r in rows], n)
        kept = [rows[i] for i in idx]
        write_jsonl(dst / f"{split}.jsonl", kept)
        stats[split] = len(kept)
    return stats


def subset_multilabel(src: Path, dst: Path, n_train: int, n_test: int) -> dict:
    copy_source_readme(src, dst)
    train = read_jsonl(src / "train.jsonl")
    test = read_jsonl(src / "test.jsonl")
    test_kept = [test[i] for i in random_indices(len(test), n_test)]
    needed = {lab for r in test_kept for lab in r["labels"]}
    train_kept = [train[i] for i in multilabel_train_indices([r["labels"] for r in train], needed, n_train)]
    write_jsonl(dst / "train.jsonl", train_kept)
    write_jsonl(dst / "test.jsonl", test_kept)
    return {"train": len(train_kept), "test": len(test_kept)}


def subset_retrieval(src: Path, dst: Path, n_queries: int, n_extra_docs: int) -> dict:
    copy_source_readme(src, dst)
    queries = read_jsonl(src / "queries.jsonl")
    corpus = read_jsonl(src / "corpus.jsonl")
    with (src / "qrels" / "test.tsv").open(encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n")
        qrels = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    assert header == "query-id\tcorpus-id\tscore", header

    q_kept = [queries[i] for i in random_indices(len(queries), n_queries)]
    q_ids = {q["_id"] for q in q_kept}
    qrels_kept = [r for r in qrels if r[0] in q_ids]
    rel_docs = {r[1] for r in qrels_kept}

    other = [i for i, d in enumerate(corpus) if d["_id"] not in rel_docs]
    extra = {other[j] for j in random_indices(len(other), n_extra_docs)}
    doc_idx = sorted(i for i, d in enumerate(corpus) if d["_id"] in rel_docs or i in extra)
    c_kept = [corpus[i] for i in doc_idx]
    assert rel_docs <= {d["_id"] for d in c_kept}

    write_jsonl(dst / "queries.jsonl", q_kept)
    write_jsonl(dst / "corpus.jsonl", c_kept)
    (dst / "qrels").mkdir(parents=True, exist_ok=True)
    with (dst / "qrels" / "test.tsv").open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(header + "\n")
        for r in qrels_kept:
            fh.write("\t".join(r) + "\n")
    return {"queries": len(q_kept), "corpus": len(c_kept), "qrels": len(qrels_kept), "relevant_docs": len(rel_docs)}


def main(argv: list[str]) -> int:
    source = Path(argv[1]).resolve() if len(argv) > 1 else DEFAULT_SOURCE.resolve()
    if not source.is_dir():
        print(f"source dir not found: {source}", file=sys.stderr)
        return 1
    out = HERE
    S = lambda p: source / p  # noqa: E731
    dst = lambda p: out / p  # noqa: E731

    report = {}
    p = "classification/inappropriateness"
    report[p] = subset_single(S(p), dst(p), {"train": 1000, "test": 600}, key="label")
    p = "classification/sentirueval2016"
    report[p] = subset_single(S(p), dst(p), {"train": 1000, "test": 600}, key="label")
    p = "multilabel_classification/sensitive_topics_ml"
    report[p] = subset_multilabel(S(p), dst(p), n_train=1200, n_test=600)
    p = "clustering/sensitive_topics"
    report[p] = subset_single(S(p), dst(p), {"test": 700}, key="label")
    p = "pair_classification/terra"
    report[p] = subset_single(S(p), dst(p), {"test": 500}, key="label")
    p = "retrieval/tydiqa_goldp_ru"
    report[p] = subset_retrieval(S(p), dst(p), n_queries=300, n_extra_docs=300)
    p = "reranking/xquad_ru"
    # whole: its 120 paragraphs repeat across the 574 queries' candidate lists, so all queries cost little
    report[p] = copy_whole_gzipped(S(p), dst(p))
    p = "sts/stsb_multi_mt_ru"
    report[p] = subset_single(S(p), dst(p), {"test": 500}, key=None)

    for k, v in report.items():
        print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
