"""The published ruMTEB reference rows: scripts/refresh_published.py on a tiny mteb-layout results tree, and a sanity
check of the shipped embbench/resources/published_rumteb.json (leaders present, scores x100 in range)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from embbench.report.published import load_published, published_records

ROOT = Path(__file__).resolve().parents[2]
RUMTEB = ROOT / "embbench" / "resources" / "tasks" / "rumteb"


def _script():
    spec = importlib.util.spec_from_file_location("refresh_published", ROOT / "scripts" / "refresh_published.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["refresh_published"] = module
    spec.loader.exec_module(module)
    return module


REFRESH = _script()
MODELS = {"Model A": "org-a/model-a", "Model B": "org-b/model-b"}
PIN_A = "a" * 40


def _result(task: str, version: str, scores: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A result file shaped like mteb's (TaskResult JSON)."""
    return {
        "dataset_revision": "48312c334eb916d88481dc4a41bd0d8b2fa0d576",
        "task_name": task,
        "mteb_version": version,
        "scores": scores,
        "evaluation_time": 12.5,
        "kg_co2_emissions": None,
    }


def _terra(ap: float) -> dict[str, list[dict[str, Any]]]:
    row = {"cosine_ap": ap, "max_ap": ap, "main_score": ap, "hf_subset": "default", "languages": ["rus-Cyrl"]}
    return {"dev": [row], "test": [{**row, "main_score": 0.01}]}  # TERRa is scored on dev only


def _massive(val: float, test: float) -> dict[str, list[dict[str, Any]]]:
    def rows(ru: float) -> list[dict[str, Any]]:
        return [
            {"accuracy": 0.99, "main_score": 0.99, "hf_subset": "en", "languages": ["eng-Latn"]},
            {"accuracy": ru, "f1": ru - 0.05, "main_score": ru, "hf_subset": "ru", "languages": ["rus-Cyrl"]},
        ]

    return {"validation": rows(val), "test": rows(test)}


def _tree(root: Path) -> Path:
    """2 models x 2 tasks in mteb's layout; model A also has an older 'external' run, model B two revisions."""
    files = {
        f"org-a__model-a/{PIN_A}/TERRa.json": _result("TERRa", "1.34.7", _terra(0.664507)),
        f"org-a__model-a/{PIN_A}/MassiveIntentClassification.json": _result(
            "MassiveIntentClassification", "1.34.7", _massive(0.798672, 0.791157)
        ),
        "org-a__model-a/external/TERRa.json": _result("TERRa", "2.3.0", _terra(0.5)),
        "org-b__model-b/bbbbbbbb11/TERRa.json": _result("TERRa", "1.12.49", _terra(0.4)),
        "org-b__model-b/bbbbbbbb22/TERRa.json": _result("TERRa", "1.38.0", _terra(0.555555)),
        "org-b__model-b/bbbbbbbb22/MassiveIntentClassification.json": _result(
            "MassiveIntentClassification", "1.38.0", _massive(0.6, 0.7)
        ),
    }
    for rel, doc in files.items():
        path = root / "results" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    (root / "results" / "org-a__model-a" / PIN_A / "model_meta.json").write_text('{"name": "org-a/model-a"}')
    return root


def _rows(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in doc["models"]}


def test_a_results_folder_becomes_the_published_document(tmp_path: Path) -> None:
    doc = REFRESH.render(REFRESH.Tree(_tree(tmp_path)), MODELS, pinned={"org-a/model-a": PIN_A})
    a, b = _rows(doc)["Model A"], _rows(doc)["Model B"]
    # pinned revision wins over the newer 'external' run; dev only for TERRa; Massive = mean(val, test) of 'ru'; x100
    assert a["scores"]["TERRa"] == 66.45
    assert a["scores"]["MassiveIntentClassification"] == round((79.8672 + 79.1157) / 2, 2) == 79.49
    assert a["result_revision"] == PIN_A[:8] and a["mteb_versions"] == "1.34.7"
    # no pin: the file of the newest mteb version
    assert b["scores"]["TERRa"] == 55.56 and b["result_revision"] == "bbbbbbbb"
    assert b["files"]["TERRa"] == {"mteb_version": "1.38.0", "dataset_revision": "48312c33"}
    assert b["scores"]["MassiveIntentClassification"] == 65.0
    # tasks without a file are null, and so are the benchmark means (as on the leaderboard)
    assert a["scores"]["RuBQRetrieval"] is None and a["reference_means"]["v1.1_mean_task"] is None
    assert set(a["scores"]) == set(doc["tasks"]) and doc["tasks"]["TERRa"] == {
        "category": "pair_classification",
        "main_metric": "max_ap",
    }
    assert doc["source"]["commit"] == "unversioned" and doc["scale"] == "main score x 100"


def test_a_git_results_repository_records_its_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = _tree(tmp_path / "results-repo")
    env = ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), *env, "commit", "-qm", "results"], check=True)
    first = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    (repo / "results" / "org-b__model-b" / "bbbbbbbb22" / "TERRa.json").unlink()  # the working tree is not read
    subprocess.run(["git", "-C", str(repo), *env, "commit", "-qam", "drop"], check=True)
    monkeypatch.setattr(REFRESH, "MODELS", MODELS)
    out = tmp_path / "published.json"
    argv = [str(repo / ".git"), "--commit", first.strip(), "--out", str(out)]
    assert REFRESH.main(argv) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["source"]["commit_full"] == first.strip() and doc["source"]["commit"] == first.strip()[:12]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", doc["source"]["commit_date"])
    assert _rows(doc)["Model B"]["scores"]["TERRa"] == 55.56  # read at that commit
    assert REFRESH.main([*argv, "--check"]) == 0
    assert REFRESH.main([str(repo / ".git"), "--out", str(out), "--check"]) == 1  # HEAD differs


def test_a_degenerate_retrieval_file_is_flagged(tmp_path: Path) -> None:
    row = {"ndcg_at_10": 0.2, "ndcg_at_1": 0.2, "mrr_at_10": 0.11, "main_score": 0.2194, "hf_subset": "default"}
    path = tmp_path / "results" / "org-a__model-a" / PIN_A / "RuBQRetrieval.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(_result("RuBQRetrieval", "2.1.7", {"test": [row]})), encoding="utf-8")
    doc = REFRESH.render(REFRESH.Tree(tmp_path), {"Model A": "org-a/model-a"}, pinned={})
    a = _rows(doc)["Model A"]
    assert a["scores"]["RuBQRetrieval"] == 21.94
    assert a["flags"]["RuBQRetrieval"].startswith("suspect: stored mrr_at_10 0.110 < ndcg_at_1 0.200")


def test_benchmark_means_follow_the_leaderboard() -> None:
    tasks, benchmarks = REFRESH.load_tasks()
    v11 = benchmarks["MTEB(rus, v1.1)"]
    scores = {t: (90.0 if tasks[t].category == "sts" else 60.0) for t in v11}
    m = REFRESH.means(scores, tasks, benchmarks)
    assert m["v1.1_mean_task"] == round((3 * 90 + 20 * 60) / 23, 2)  # 3 STS tasks of 23
    assert m["v1.1_mean_type"] == round((90 + 6 * 60) / 7, 2)  # 7 task types
    assert m["v1_mean_task"] is None  # v1's own retrieval tasks are missing


def test_the_task_list_is_the_shipped_rumteb_yaml() -> None:
    tasks, benchmarks = REFRESH.load_tasks()
    assert len(tasks) == 25 and {len(v) for v in benchmarks.values()} == {23}
    assert tasks["MassiveIntentClassification"].subset == "ru"
    assert tasks["MassiveIntentClassification"].splits == ("validation", "test")
    assert tasks["TERRa"].splits == ("dev",) and tasks["STS22"].subset == "ru"
    assert tasks["RuSTSBenchmarkSTS"].splits == ("test",)


def test_pinned_revisions_are_mteb_s() -> None:
    mteb = pytest.importorskip("mteb")
    for model, revision in REFRESH.PINNED.items():
        assert mteb.get_model_meta(model).revision == revision, model


# the shipped file


def test_shipped_rows_cover_the_leaders_with_scores_in_range() -> None:
    doc = load_published()
    rows = {m["model"]: m for m in doc["models"]}
    leaders = {
        "ai-sage/Giga-Embeddings-instruct",
        "Qwen/Qwen3-Embedding-8B",
        "Qwen/Qwen3-Embedding-4B",
        "Qwen/Qwen3-Embedding-0.6B",
        "ai-forever/FRIDA",
        "sergeyzh/BERTA",
        "deepvk/USER2-base",
        "deepvk/USER-bge-m3",
        "BAAI/bge-m3",
        "intfloat/multilingual-e5-small",
        "intfloat/multilingual-e5-large-instruct",
    }
    assert leaders <= set(rows)
    v11 = doc["benchmarks"]["MTEB(rus, v1.1)"]
    for model in leaders:
        assert all(rows[model]["scores"][t] is not None for t in v11), model  # a full v1.1 row each
    for m in doc["models"]:
        values = [v for v in m["scores"].values() if v is not None]
        assert values and all(0 <= v <= 100 for v in values), m["name"]
        assert max(values) > 1, m["name"]  # x100, not fractions
        assert set(m["files"]) == {t for t, v in m["scores"].items() if v is not None}
        assert re.fullmatch(r"[0-9a-f]{8}", m["result_revision"]), m["name"]
    assert rows["ai-sage/Giga-Embeddings-instruct"]["reference_means"]["v1.1_mean_task"] > 70
    src = doc["source"]
    assert re.fullmatch(r"[0-9a-f]{40}", src["commit_full"]) and src["commit_full"].startswith(src["commit"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", src["commit_date"])


def test_shipped_tasks_match_the_rumteb_task_files() -> None:
    doc = load_published()
    for name, info in doc["tasks"].items():
        raw = yaml.safe_load((RUMTEB / f"{name}.yaml").read_text(encoding="utf-8"))
        assert (raw["mteb_task"], raw["category"], raw["main_metric"]) == (name, info["category"], info["main_metric"])
    for r in published_records(["RuBQRetrieval"]):
        assert r.main_score is not None and 0 < r.main_score < 1  # the report's 0..1 scale
