"""Write embbench/resources/init/tasks (the example tasks `embbench init` copies) from the built-in demo data.

    python scripts/make_init_examples.py

A BEIR retrieval folder (60 TyDi QA questions and their passages plus 60 other passages), a CSV classification
task (SentiRuEval-2016: 40 training and 30 test texts per label) and a documents + questions task (three XQuAD
articles, the documents fixture). Deterministic: the first rows of each file.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "embbench" / "resources" / "tasks" / "data"
OUT = ROOT / "embbench" / "resources" / "init" / "tasks"


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def retrieval() -> None:
    src, dst = DATA / "retrieval" / "tydiqa_goldp_ru", OUT / "data" / "faq_search"
    qrels = [line.split("\t") for line in (src / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    queries = jsonl(src / "queries.jsonl")[:60]
    keep_q = {q["_id"] for q in queries}
    rel = [r for r in qrels if r[0] in keep_q]
    docs = jsonl(src / "corpus.jsonl")
    wanted = {r[1] for r in rel}
    others = [d for d in docs if d["_id"] not in wanted][:60]
    write_jsonl(dst / "queries.jsonl", queries)
    write_jsonl(dst / "corpus.jsonl", [d for d in docs if d["_id"] in wanted] + others)
    (dst / "qrels").mkdir(parents=True, exist_ok=True)
    (dst / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join("\t".join(r) + "\n" for r in rel), encoding="utf-8"
    )


def classification() -> None:
    src, dst = DATA / "classification" / "sentirueval2016", OUT / "data" / "reviews"
    dst.mkdir(parents=True, exist_ok=True)
    for split, per_label in (("train", 40), ("test", 30)):
        rows, seen = [], {}
        for r in jsonl(src / f"{split}.jsonl"):
            if seen.get(r["label"], 0) < per_label:
                seen[r["label"]] = seen.get(r["label"], 0) + 1
                rows.append({"text": r["text"], "label": r["label"]})
        with (dst / f"{split}.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["text", "label"])
            w.writeheader()
            w.writerows(rows)


def documents() -> None:
    src, dst = ROOT / "tests" / "fixtures" / "documents", OUT / "data" / "handbook"
    shutil.copytree(src / "docs", dst / "docs", dirs_exist_ok=True)
    shutil.copy(src / "questions.csv", dst / "questions.csv")


if __name__ == "__main__":
    retrieval()
    classification()
    documents()
    print(f"wrote {OUT}")
