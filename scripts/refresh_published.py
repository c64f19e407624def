"""Regenerate embbench/resources/published_rumteb.json from mteb's public results (embeddings-benchmark/results).

    python scripts/refresh_published.py RESULTS                # RESULTS: a git dir (bare or checkout) or a folder
    python scripts/refresh_published.py RESULTS --commit SHA   # a given commit of a git results repository
    python scripts/refresh_published.py RESULTS --check        # exit 1 when the shipped JSON differs
    python scripts/refresh_published.py RESULTS --leaders 30   # rank every model in the tree by v1.1 Mean (Task)

RESULTS holds mteb's layout, ``results/<org>__<model>/<revision>/<TaskName>.json`` (the ``results/`` level may be
absent in a plain folder). For each model of MODELS and each ruMTEB task embbench ships
(embbench/resources/tasks/rumteb/*.yaml: mteb task name, hub subset, splits, main metric), the score is computed the
way mteb's leaderboard does: the result file of the model's pinned revision (mteb's ModelMeta, via
mteb_presets.json or PINNED), else the file made with the newest mteb version, "external" folders last
(BenchmarkResults.join_revisions); then the mean of ``main_score`` over the rows of the task's splits and subset
(TaskResult.get_score), x100, rounded to 2 decimals, the scale published.py reads.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "embbench" / "resources" / "published_rumteb.json"
TASKS = ROOT / "embbench" / "resources" / "tasks"
PRESETS = ROOT / "embbench" / "resources" / "mteb_presets.json"
REPOSITORY = "https://github.com/embeddings-benchmark/results"

# display name -> mteb model id: the MTEB(rus, v1.1) leaders and the popular Russian / multilingual encoders
# (`--leaders` lists the leaders of a results tree, to see who is missing here)
MODELS = {
    "Giga-Embeddings-instruct": "ai-sage/Giga-Embeddings-instruct",
    "Qwen3-Embedding-8B": "Qwen/Qwen3-Embedding-8B",
    "Qwen3-Embedding-4B": "Qwen/Qwen3-Embedding-4B",
    "Qwen3-Embedding-0.6B": "Qwen/Qwen3-Embedding-0.6B",
    "FRIDA": "ai-forever/FRIDA",
    "F2LLM-v2-14B": "codefuse-ai/F2LLM-v2-14B",
    "F2LLM-v2-8B": "codefuse-ai/F2LLM-v2-8B",
    "BERTA": "sergeyzh/BERTA",
    "e5-mistral-7b-instruct": "intfloat/e5-mistral-7b-instruct",
    "embeddinggemma-300m": "google/embeddinggemma-300m",
    "multilingual-e5-large-instruct": "intfloat/multilingual-e5-large-instruct",
    "jina-embeddings-v3": "jinaai/jina-embeddings-v3",
    "USER-bge-m3": "deepvk/USER-bge-m3",
    "bge-m3": "BAAI/bge-m3",
    "USER2-base": "deepvk/USER2-base",
    "USER2-small": "deepvk/USER2-small",
    "ru-en-RoSBERTa": "ai-forever/ru-en-RoSBERTa",
    "rubert-mini-frida": "sergeyzh/rubert-mini-frida",
    "LaBSE-ru-turbo": "sergeyzh/LaBSE-ru-turbo",
    "multilingual-e5-large": "intfloat/multilingual-e5-large",
    "multilingual-e5-base": "intfloat/multilingual-e5-base",
    "multilingual-e5-small": "intfloat/multilingual-e5-small",
    "USER-base": "deepvk/USER-base",
    "rubert-tiny-turbo": "sergeyzh/rubert-tiny-turbo",
    "LaBSE-en-ru": "cointegrated/LaBSE-en-ru",
    "sbert_large_nlu_ru": "ai-forever/sbert_large_nlu_ru",
    "rubert-tiny2": "cointegrated/rubert-tiny2",
    "paraphrase-multilingual-MiniLM-L12-v2": "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
    "all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2",
}
# ModelMeta revisions (mteb 2.26) of the models that are not embbench presets (mteb_presets.json has the others)
PINNED = {
    "codefuse-ai/F2LLM-v2-14B": "e42037a37e12999db44ce8e1a0e63c366c273f6a",
    "codefuse-ai/F2LLM-v2-8B": "5ac7d57351026337281e8e6a23e05cce16e79415",
    "intfloat/e5-mistral-7b-instruct": "07163b72af1488142a360786df853f237b1a3ca1",
    "google/embeddinggemma-300m": "64614b0b8b64f0c6c1e52b07e4e9a4e8fe4d2da2",
    "jinaai/jina-embeddings-v3": "215a6e121fa0183376388ac6b1ae230326bfeaed",
    "ai-forever/ru-en-RoSBERTa": "89fb1651989adbb1cfcfdedafd7d102951ad0555",
    "sergeyzh/rubert-mini-frida": "19b279b78afd945b5ccae78f63e284909814adc2",
    "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2": "e8f8c211226b894fcb81acc59f3b34ba3efd5f42",
    "sentence-transformers/all-MiniLM-L6-v2": "8b3219a92973c328a8e22fadcfa821b5dc75636a",
}
# caveats a person found in a stored file: (model, task, the file's mteb version) -> note ({score}: the score);
# the automatic check (degenerate) adds its own
FLAGS = {
    ("intfloat/multilingual-e5-large-instruct", "RiaNewsRetrievalHardNegatives.v2", "2.1.7"): (
        "suspect: {score} vs {RiaNewsRetrieval} on RiaNewsRetrieval (v1); mrr_at_10 0.110 < ndcg_at_1 0.200 and "
        "recall_at_1000 0.251 in the stored file (mteb 2.1.7, results PR #333) point to degenerate or tied scores, "
        "possibly fp16/NaN embeddings; treat as an artefact until re-run"
    ),
}
CAVEATS = [
    "Produced mostly by mteb v1 code (1.12-1.39; each row's mteb_versions and files say which), not mteb 2.26: "
    "classification/multilabel sampling, clustering RNG and some reranking metrics differ (protocol note section 6), "
    "so a re-run here can differ by a few tenths (up to ~1 point on CEDR/SensitiveTopics).",
    "Several result files were made on older ai-forever/* dataset revisions than the mteb/* re-uploads the task files "
    "pin (e.g. Georeview 3765c0d1, CEDR c0ba03d0, RuBQReranking 2e96b8f0, MIRACL-HN 95c8db7d); each row's files "
    "give the dataset_revision of every score.",
    'mE5 base/large files from mteb <=1.14 used a "query: " prefix on symmetric tasks; mE5-large-instruct used '
    "generic instructions in 1.14.12.",
    "A model's score for a task is missing (null) when the results repository has no file for it; its benchmark "
    "means are then null too, as on the leaderboard.",
]
IGNORED = ("external", "no_revision_available")  # join_revisions ranks these folders last


@dataclass(frozen=True)
class Task:
    """One ruMTEB task as embbench runs it (its generated YAML)."""

    name: str
    category: str
    main_metric: str
    subset: str
    splits: tuple[str, ...]


def load_tasks(tasks_dir: Path = TASKS) -> tuple[dict[str, Task], dict[str, list[str]]]:
    """The ruMTEB tasks (by mteb name) and the benchmarks' task lists, from the shipped suites."""
    tasks = {}
    for f in sorted((tasks_dir / "rumteb").glob("*.yaml")):
        raw = yaml.safe_load(f.read_text(encoding="utf-8"))
        if f.name == "suite.yaml":
            continue
        hub = raw["hub"]
        tasks[raw["mteb_task"]] = Task(
            raw["mteb_task"], raw["category"], raw["main_metric"], hub["subset"], tuple(hub["splits"])
        )
    benchmarks = {}
    for suite in ("rumteb-v1", "rumteb"):
        raw = yaml.safe_load((tasks_dir / suite / "suite.yaml").read_text(encoding="utf-8"))
        benchmarks[raw["benchmark"]] = [Path(p).name.removesuffix(".yaml") for p in raw["tasks"]]
    return tasks, benchmarks


class Tree:
    """A results tree: a git repository at a commit, or a plain folder."""

    def __init__(self, path: Path, commit: str | None = None) -> None:
        self.path = path
        self.git = _git_dir(path)
        self.commit = self.date = None
        if self.git is not None:
            self.commit = self._git("rev-parse", f"{commit or 'HEAD'}^{{commit}}").strip()
            self.date = self._git("show", "-s", "--format=%cs", self.commit).strip()
        elif commit:
            raise SystemExit(f"{path}: --commit needs a git repository, this is a plain folder")

    def _git(self, *args: str) -> str:
        done = subprocess.run(["git", f"--git-dir={self.git}", *args], capture_output=True, check=True)
        return done.stdout.decode("utf-8")

    def files(self) -> dict[tuple[str, str, str], str]:
        """(model folder, revision folder, task name) -> path of every result file."""
        if self.git is not None:
            names = self._git("ls-tree", "-r", "--name-only", self.commit or "HEAD", "results/").splitlines()
        else:
            base = self.path / "results" if (self.path / "results").is_dir() else self.path
            names = [str(p.relative_to(self.path)) for p in base.glob("*/*/*.json")]
        out = {}
        for name in names:
            parts = Path(name).parts[-3:]
            if len(parts) == 3 and parts[2].endswith(".json") and parts[2] != "model_meta.json":
                out[(parts[0], parts[1], parts[2].removesuffix(".json"))] = name
        return out

    def read(self, paths: list[str]) -> dict[str, Any]:
        """The parsed JSON of each path (one `git cat-file --batch` for a repository)."""
        if self.git is None:
            return {p: json.loads((self.path / p).read_text(encoding="utf-8")) for p in paths}
        blob = subprocess.run(
            ["git", f"--git-dir={self.git}", "cat-file", "--batch"],
            input="".join(f"{self.commit}:{p}\n" for p in paths).encode(),
            capture_output=True,
            check=True,
        ).stdout
        out, pos = {}, 0
        for p in paths:
            end = blob.index(b"\n", pos)
            size = int(blob[pos:end].split()[2])
            out[p] = json.loads(blob[end + 1 : end + 1 + size])
            pos = end + 1 + size + 1
        return out


def _git_dir(path: Path) -> Path | None:
    for candidate in (path, path / ".git"):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def version_key(version: str | None) -> tuple[int, ...]:
    """mteb version as a sortable tuple ("1.34.7" -> (1, 34, 7)); unknown sorts first."""
    return tuple(int(x) for x in re.findall(r"\d+", version or ""))[:3] or (-1,)


def task_score(doc: dict[str, Any], task: Task) -> float | None:
    """Mean main_score over the task's splits and subset (mteb's TaskResult.get_score), in 0..1."""
    values = [
        float(row["main_score"])
        for split in task.splits
        for row in (doc.get("scores") or {}).get(split, [])
        if row.get("hf_subset", "default") == task.subset and row.get("main_score") is not None
    ]
    return mean(values) if values else None


def pinned_revisions() -> dict[str, str]:
    presets = json.loads(PRESETS.read_text(encoding="utf-8"))["presets"]
    return {**{p["model"]: p["revision"] for p in presets.values()}, **PINNED}


def choose(
    folder: str, task: Task, files: dict[tuple[str, str, str], str], docs: dict[str, Any], pinned: str | None
) -> tuple[str, dict[str, Any], float] | None:
    """The (revision, file, score) the leaderboard uses for one model and task, or None."""
    found = []
    for (m, rev, t), path in files.items():
        if m == folder and t == task.name and (score := task_score(docs[path], task)) is not None:
            version = docs[path].get("mteb_version")
            # join_revisions' priority: the ModelMeta revision, a known mteb version, a real revision folder; then
            # the newest version (the folder name only makes the choice deterministic)
            rank = (rev == pinned, version is not None, rev not in IGNORED, version_key(version), rev)
            found.append((rank, rev, docs[path], score))
    if not found:
        return None
    _, rev, doc, score = max(found, key=lambda f: f[0])
    return rev, doc, score


def degenerate(doc: dict[str, Any], task: Task) -> str | None:
    """A retrieval file whose MRR@10 is below its nDCG@1 (impossible with binary relevance): tied or broken scores."""
    for split in task.splits:
        for row in (doc.get("scores") or {}).get(split, []):
            mrr, n1 = row.get("mrr_at_10"), row.get("ndcg_at_1")
            if row.get("hf_subset", "default") == task.subset and mrr is not None and n1 is not None and mrr < n1:
                return (
                    f"suspect: stored mrr_at_10 {mrr:.3f} < ndcg_at_1 {n1:.3f} (mteb {doc.get('mteb_version')}): "
                    "degenerate or tied scores"
                )
    return None


def model_row(
    name: str,
    model: str,
    tasks: dict[str, Task],
    benchmarks: dict[str, list[str]],
    tree_files: dict[tuple[str, str, str], str],
    docs: dict[str, Any],
    pinned: str | None,
) -> dict[str, Any] | None:
    """One reference model's row (None when the tree has none of its ruMTEB results)."""
    folder = model.replace("/", "__")
    chosen = {t: choose(folder, task, tree_files, docs, pinned) for t, task in tasks.items()}
    got = {t: c for t, c in chosen.items() if c is not None}
    if not got:
        return None
    revisions = [rev for rev, _, _ in got.values()]
    main = pinned if pinned in revisions else max(sorted(set(revisions)), key=revisions.count)  # sorted: stable
    scores = {t: (round(c[2] * 100, 2) if c else None) for t, c in chosen.items()}
    versions = sorted({d["mteb_version"] for _, d, _ in got.values() if d.get("mteb_version")}, key=version_key)
    unknown = sum(1 for _, d, _ in got.values() if not d.get("mteb_version"))
    files = {}
    for t, (rev, doc, _) in got.items():
        entry = {"mteb_version": doc.get("mteb_version"), "dataset_revision": (doc.get("dataset_revision") or "")[:8]}
        if rev != main:
            entry["revision"] = rev[:8] if rev not in IGNORED else rev
        files[t] = entry
    row: dict[str, Any] = {"name": name, "model": model, "result_revision": main[:8], "scores": scores}
    span = "" if not versions else versions[0] if len(versions) == 1 else f"{versions[0]}-{versions[-1]}"
    row["mteb_versions"] = (
        f"{span}{' + ' if span and unknown else ''}{f'{unknown} files unversioned' if unknown else ''}"
    )
    row["reference_means"] = means({t: c[2] * 100 for t, c in got.items()}, tasks, benchmarks)  # unrounded
    flags = {}
    for t, (_, doc, _) in got.items():
        text = FLAGS.get((model, t, str(doc.get("mteb_version"))))
        flag = text.format(score=scores[t], RiaNewsRetrieval=scores.get("RiaNewsRetrieval")) if text else None
        if flag := flag or degenerate(doc, tasks[t]):
            flags[t] = flag
    if flags:
        row["flags"] = flags
    row["files"] = files
    return row


def means(scores: dict[str, float], tasks: dict[str, Task], benchmarks: dict[str, list[str]]) -> dict[str, Any]:
    """Mean (Task) and Mean (TaskType) per benchmark, None when a task is missing (as mteb's leaderboard)."""
    out: dict[str, Any] = {}
    for bench, names in benchmarks.items():
        key = "v1.1" if "v1.1" in bench else "v1"
        if any(t not in scores for t in names):
            out[f"{key}_mean_task"] = out[f"{key}_mean_type"] = None
            continue
        by_type: dict[str, list[float]] = {}
        for t in names:
            by_type.setdefault(tasks[t].category, []).append(scores[t])
        out[f"{key}_mean_task"] = round(mean(scores[t] for t in names), 2)
        out[f"{key}_mean_type"] = round(mean(mean(v) for v in by_type.values()), 2)
    return out


def render(tree: Tree, models: dict[str, str] | None = None, pinned: dict[str, str] | None = None) -> dict[str, Any]:
    """The published-scores document for the given models (display name -> mteb id) from the results tree;
    pinned: mteb id -> ModelMeta revision (default: mteb_presets.json and PINNED)."""
    models = MODELS if models is None else models
    tasks, benchmarks = load_tasks()
    folders = {m.replace("/", "__") for m in models.values()}
    files = {k: p for k, p in tree.files().items() if k[0] in folders and k[2] in tasks}
    docs = tree.read(sorted(set(files.values())))
    pins = pinned_revisions() if pinned is None else pinned
    rows = [model_row(n, m, tasks, benchmarks, files, docs, pins.get(m)) for n, m in models.items()]
    return {
        "description": "Public ruMTEB main scores per task (x100), one row per reference model, for `embbench "
        'report` rows marked "(published)". Regenerate with scripts/refresh_published.py.',
        "source": {
            "repository": REPOSITORY,
            "commit": (tree.commit or "unversioned")[:12],
            "commit_full": tree.commit,
            "commit_date": tree.date,
            "recomputed_by": "scripts/refresh_published.py (follows mteb's leaderboard code path, see its docstring "
            "and the ruMTEB protocol note section 1.2)",
            "method": "per model and task the result file of the ModelMeta revision, else the one made with the "
            "newest mteb version ('external' last); its main_score rows filtered to the task's splits and subset "
            "(rus only); MassiveIntent/MassiveScenario = mean of validation and test (TaskResult.get_score); x100, "
            "rounded to 2 decimals",
            "leaderboard_ui_rendered": False,
        },
        "caveats": CAVEATS,
        "scale": "main score x 100",
        "benchmarks": benchmarks,
        "tasks": {t: {"category": v.category, "main_metric": v.main_metric} for t, v in tasks.items()},
        "models": [r for r in rows if r is not None],
    }


def leaders(tree: Tree, top: int) -> list[tuple[str, float]]:
    """Every model of the tree with all MTEB(rus, v1.1) tasks, by Mean (Task), best first (newest-version files)."""
    tasks, benchmarks = load_tasks()
    files = {k: p for k, p in tree.files().items() if k[2] in tasks}
    docs = tree.read(sorted(set(files.values())))
    pinned, out = pinned_revisions(), []
    for folder in sorted({k[0] for k in files}):
        model = folder.replace("__", "/", 1)
        row = model_row(folder, model, tasks, benchmarks, files, docs, pinned.get(model))
        if row and row["reference_means"]["v1.1_mean_task"] is not None:
            out.append((row["model"], row["reference_means"]["v1.1_mean_task"]))
    return sorted(out, key=lambda x: -x[1])[:top]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path, help="embeddings-benchmark/results: a git dir or a folder")
    ap.add_argument("--commit", help="commit of a git results repository (default HEAD)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="exit 1 when --out differs from what the tree gives")
    ap.add_argument("--leaders", type=int, metavar="N", help="print the N best models by v1.1 Mean (Task)")
    args = ap.parse_args(argv)
    tree = Tree(args.results, args.commit)
    if args.leaders:
        listed = set(MODELS.values())
        for i, (model, score) in enumerate(leaders(tree, args.leaders), 1):
            print(f"{i:3d}. {score:6.2f}  {model}{'' if model in listed else '   (not in MODELS)'}")
        return 0
    text = json.dumps(render(tree), ensure_ascii=False, indent=1) + "\n"
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{args.out} differs from {args.results}: run scripts/refresh_published.py")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    doc = json.loads(text)
    print(f"wrote {args.out}: {len(doc['models'])} models, results {doc['source']['commit']} ({tree.date})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
