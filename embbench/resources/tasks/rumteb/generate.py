"""Generate the ruMTEB task files from the installed mteb's own benchmark objects.

    python tasks/rumteb/generate.py           # (re)write tasks/rumteb/*.yaml, the suite files and the size table
    python tasks/rumteb/generate.py --check   # exit 1 and list what differs (drift between mteb and these files)

Everything comes from mteb (``mteb.get_benchmark("MTEB(rus, v1)")`` and ``"MTEB(rus, v1.1)"``): task names, dataset
paths and revisions, eval splits, hf subsets (rus only), main scores, the protocol attributes of each task class
(max_document_to_embed, ignore_identical_ids, n_experiments, ...), the STS score ranges and, from mteb's descriptive
statistics, the sizes. Writes:

- ``tasks/rumteb/<Task>.yaml``: the 25 tasks of v1 and v1.1 (each a hub task mirroring its mteb class);
- ``tasks/rumteb/suite.yaml``: MTEB(rus, v1.1), the current "Russian" leaderboard (``--suite rumteb``);
- ``tasks/rumteb-v1/suite.yaml``: MTEB(rus, v1), "Russian legacy" (``--suite rumteb-v1``);
- ``tasks/rumteb-lite/suite.yaml``: the cheapest task of each category (``--suite rumteb-lite``);
- the size table of ``tasks/rumteb/README.md`` (between its ``sizes`` markers).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here needs the network

HERE = Path(__file__).resolve().parent
TASKS = HERE.parent
BENCHMARKS = {"v1": "MTEB(rus, v1)", "v1.1": "MTEB(rus, v1.1)"}
SUITES = {  # folder -> (benchmark version or "lite", title)
    "rumteb": ("v1.1", "MTEB(rus, v1.1): the ruMTEB leaderboard ('Russian')"),
    "rumteb-v1": ("v1", "MTEB(rus, v1): the original ruMTEB ('Russian legacy')"),
    "rumteb-lite": ("lite", "ruMTEB lite: the cheapest task of each category of MTEB(rus, v1.1), run in full"),
}
CATEGORY = {
    "Classification": "classification",
    "MultilabelClassification": "multilabel_classification",
    "Clustering": "clustering",
    "PairClassification": "pair_classification",
    "Reranking": "reranking",
    "Retrieval": "retrieval",
    "STS": "sts",
}
SIZES_BEGIN, SIZES_END = "<!-- sizes: begin (generate.py) -->", "<!-- sizes: end -->"


def benchmark_tasks() -> dict[str, list[Any]]:
    """The task objects of each benchmark version, as mteb builds them (languages=['rus'], RuSTSBenchmark test only)."""
    import mteb

    return {v: list(mteb.get_benchmark(name).tasks) for v, name in BENCHMARKS.items()}


def all_tasks(bench: dict[str, list[Any]]) -> list[Any]:
    """v1.1's tasks in benchmark order, then the v1-only ones."""
    seen: dict[str, Any] = {}
    for t in [*bench["v1.1"], *bench["v1"]]:
        seen.setdefault(t.metadata.name, t)
    return list(seen.values())


def stats(task: Any) -> dict[str, Any]:
    """mteb's descriptive statistics of the task, per split, for its (single) hf subset."""
    import mteb

    path = Path(mteb.__file__).parent / "descriptive_stats" / task.metadata.type / f"{task.metadata.name}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for split, v in raw.items():
        sub = (v.get("hf_subset_descriptive_stats") or {}).get(task.hf_subsets[0])
        out[split] = sub if sub is not None else v
    return out


def category(task: Any) -> str:
    """embbench's category; a retrieval dataset with top_ranked candidates is reranked by mteb."""
    cat = CATEGORY[task.metadata.type]
    if cat == "retrieval" and any(s.get("top_ranked_statistics") for s in stats(task).values()):
        return "reranking"
    return cat


def protocol(task: Any, cat: str) -> dict[str, Any]:
    """The task's protocol, read from the mteb class, in embbench's parameter names."""
    if cat == "classification":
        return {
            "n_experiments": task.n_experiments,
            "samples_per_label": task.samples_per_label,
            "seed": task.seed,
            "max_iter": task.evaluator_model.max_iter,
        }
    if cat == "multilabel_classification":
        return {
            "n_experiments": task.n_experiments,
            "samples_per_label": task.samples_per_label,
            "seed": task.seed,
            "n_neighbors": task.evaluator_model.n_neighbors,
            "max_eval_samples": task.max_eval_samples,
        }
    if cat == "clustering":
        if task.max_depth not in (None, 1):
            raise SystemExit(f"{task.metadata.name}: hierarchical clustering (max_depth={task.max_depth})")
        return {
            "seed": task.seed,
            "max_document_to_embed": task.max_document_to_embed,
            "max_fraction_of_documents_to_embed": task.max_fraction_of_documents_to_embed,
            "n_clusters": task.n_clusters,
            "max_documents_per_cluster": task.max_documents_per_cluster,
            "k_mean_batch_size": task.k_mean_batch_size,
        }
    if cat in ("retrieval", "reranking"):
        if task.skip_first_result or tuple(task.k_values) != (1, 3, 5, 10, 20, 100, 1000):
            raise SystemExit(f"{task.metadata.name}: skip_first_result / k_values differ from embbench's")
        if cat == "reranking":
            if task.ignore_identical_ids:
                raise SystemExit(f"{task.metadata.name}: ignore_identical_ids on a reranking task")
            return {}
        return {"ignore_identical_ids": bool(task.ignore_identical_ids)}
    return {}


def transforms(task: Any) -> list[str]:
    """What mteb's load_data does beyond loading (read from the class source), for the task file's comments."""
    out = []
    if getattr(task, "fast_loading", False):
        out.append(f"fast loading: the default config, rows grouped by 'lang' (subset '{task.hf_subsets[0]}' kept)")
    own = type(task).__dict__.get("dataset_transform")
    if own is None:
        return out
    src = inspect.getsource(own)
    for m in re.finditer(r"rename_columns?\(\s*(\{[^}]*\}|[^)]*)\)", src, re.S):
        out.append("renames columns " + " ".join(m.group(1).split()))
    if "stratified_subsampling" in src:
        n = re.search(r"n_samples\s*=\s*(\d+)", src)
        label = re.search(r"label\s*=\s*\"(\w+)\"", src)
        splits = re.search(r"splits\s*=\s*(\[[^\]]*\])", src)
        out.append(
            f"stratified subsample of {splits.group(1) if splits else 'test'} to {n.group(1) if n else 2048} rows "
            f"(seed {task.seed}, HF train_test_split on '{label.group(1) if label else 'label'}'; "
            "a split with fewer rows is kept whole)"
        )
    if re.search(r"\.map\(", src):
        out.append("maps rows: " + " ".join(re.search(r"\.map\((.*)\)", src).group(1).split()))
    return out


def _yaml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _yaml_value(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return v if re.fullmatch(r"[A-Za-z0-9_./@-]+", v) and v not in ("null", "true", "false") else _yaml_str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_yaml_value(x) for x in v) + "]"
    raise TypeError(v)


def task_yaml(task: Any, versions: list[str], mteb_version: str) -> str:
    """The task file of one mteb task."""
    from embbench import categories

    md = task.metadata
    cat = category(task)
    module = categories.get(cat)
    params = {k: v for k, v in protocol(task, cat).items() if module.DEFAULTS.get(k, object()) != v}
    desc = " ".join(md.description.split())
    lines = [
        f"# Generated by tasks/rumteb/generate.py from mteb {mteb_version}: edit the generator, not this file.",
        f"# In: {', '.join(BENCHMARKS[v] for v in versions)}. mteb class: "
        f"{type(task).__module__}.{type(task).__name__}",
    ]
    for t in transforms(task):
        lines += textwrap.wrap(f"mteb load_data transform: {t}", 116, initial_indent="# ", subsequent_indent="#   ")
    lines += [
        f"name: {_yaml_value(md.name)}",
        f"category: {cat}",
        f"mteb_task: {_yaml_value(md.name)}",
        "hub:",
        f"  path: {_yaml_value(md.dataset['path'])}",
        f"  revision: {md.dataset['revision']}",
        f"  subset: {_yaml_value(task.hf_subsets[0])}",
        f"  splits: {_yaml_value(list(task.eval_splits))}",
        f"main_metric: {md.main_score}",
    ]
    if params:
        lines.append("params: {" + ", ".join(f"{k}: {_yaml_value(v)}" for k, v in params.items()) + "}")
    if cat == "sts":
        lines.append(f"score_range: [{task.min_score}, {task.max_score}]")
    lines += [
        f"description: {_yaml_str(desc)}",
        f"source: {_yaml_str(str(md.reference or ''))}",
        f"license: {_yaml_str(str(md.license or ''))}",
    ]
    if len(task.hf_subsets) != 1:
        raise SystemExit(f"{md.name}: expected one hf subset for rus, got {task.hf_subsets}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ sizes and lite


def size(task: Any) -> dict[str, Any]:
    """Items evaluated and an estimate of the characters embedded per model (from mteb's descriptive statistics)."""
    st = stats(task)
    cat = category(task)
    ev = [st[s] for s in task.eval_splits]
    chars = sum(s.get("number_of_characters") or s["text_statistics"]["total_text_length"] for s in ev)
    out: dict[str, Any] = {"task": task.metadata.name, "category": cat}
    if cat in ("retrieval", "reranking"):
        out["items"] = " + ".join(f"{s['num_queries']} q" for s in ev)
        out["docs"] = sum(s["num_documents"] for s in ev)
        out["embedded_chars"] = chars
        out["downloaded_chars"] = chars
        return out
    n = sum(s["num_samples"] for s in ev)
    out["items"] = " + ".join(str(s["num_samples"]) for s in ev)
    out["docs"] = None
    embedded, downloaded = chars, chars
    if cat == "clustering":
        embedded = chars * min(1.0, task.max_document_to_embed / n)
    if cat in ("classification", "multilabel_classification"):
        train = st[task.train_split]
        tr_n = train["num_samples"]
        tr_chars = train["text_statistics"]["total_text_length"]
        labels = train["label_statistics"]["unique_labels"]
        union = min(tr_n, task.n_experiments * task.samples_per_label * labels)  # an upper bound of the union
        embedded += tr_chars / tr_n * union
        downloaded += tr_chars
        out["train"] = tr_n
    out["embedded_chars"] = round(embedded)
    out["downloaded_chars"] = round(downloaded)
    return out


def lite_tasks(tasks: list[Any]) -> list[str]:
    """The cheapest task (fewest characters embedded) of each category of v1.1."""
    best: dict[str, dict[str, Any]] = {}
    for t in tasks:
        s = size(t)
        if s["category"] not in best or s["embedded_chars"] < best[s["category"]]["embedded_chars"]:
            best[s["category"]] = s
    return [best[c]["task"] for c in CATEGORY.values() if c in best]


def sizes_table(tasks: list[Any], versions: dict[str, list[str]], lite: list[str]) -> str:
    rows = [
        "| Task | Category | In | Eval items | Corpus docs | Train rows | Characters embedded (est.) | "
        "Characters downloaded (est.) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    tot: dict[str, list[int]] = {"v1": [0, 0], "v1.1": [0, 0], "lite": [0, 0]}
    for t in tasks:
        s = size(t)
        name = s["task"]
        ins = [v for v in ("v1", "v1.1") if name in versions[v]] + (["lite"] if name in lite else [])
        for v in ins:
            tot[v][0] += s["embedded_chars"]
            tot[v][1] += s["downloaded_chars"]
        rows.append(
            f"| {name} | {s['category']} | {', '.join(ins)} | {s['items']} | {s['docs'] or ''} | "
            f"{s.get('train', '')} | {s['embedded_chars'] / 1e6:.2f} M | {s['downloaded_chars'] / 1e6:.2f} M |"
        )
    for v, (emb, dl) in tot.items():
        rows.append(f"| **total {v}** | | | | | | **{emb / 1e6:.1f} M** | **{dl / 1e6:.1f} M** |")
    return "\n".join(rows)


# ------------------------------------------------------------------------------------------ writing


def render() -> dict[Path, str]:
    """Every generated file: path -> content."""
    from importlib import metadata

    mteb_version = metadata.version("mteb")
    bench = benchmark_tasks()
    tasks = all_tasks(bench)
    versions = {v: [t.metadata.name for t in ts] for v, ts in bench.items()}
    lite = lite_tasks(bench["v1.1"])
    files: dict[Path, str] = {}
    for t in tasks:
        name = t.metadata.name
        files[HERE / f"{name}.yaml"] = task_yaml(t, [v for v in ("v1", "v1.1") if name in versions[v]], mteb_version)
    for folder, (version, title) in SUITES.items():
        names = lite if version == "lite" else versions[version]
        prefix = "" if folder == "rumteb" else "../rumteb/"
        lines = [
            f"# {title}.",
            f"# Generated by tasks/rumteb/generate.py from mteb {mteb_version}; `embbench run --suite {folder}`.",
            f"suite: {folder}",
        ]
        if version != "lite":
            lines.append(f"benchmark: {_yaml_str(BENCHMARKS[version])}")
        lines += ["tasks:", *[f"  - {prefix}{n}.yaml" for n in names]]
        files[TASKS / folder / "suite.yaml"] = "\n".join(lines) + "\n"
    readme = HERE / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        if SIZES_BEGIN in text and SIZES_END in text:
            head, rest = text.split(SIZES_BEGIN, 1)
            _, tail = rest.split(SIZES_END, 1)
            table = sizes_table(tasks, versions, lite)
            files[readme] = f"{head}{SIZES_BEGIN}\n{table}\n{SIZES_END}{tail}"
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = ap.parse_args(argv)
    files = render()
    drift = [p for p, text in files.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    stale = sorted(set(HERE.glob("*.yaml")) - set(files))
    if args.check:
        for p in drift:
            print(f"differs: {p.relative_to(TASKS.parent)}")
        for p in stale:
            print(f"not generated: {p.relative_to(TASKS.parent)}")
        return 1 if drift or stale else 0
    for p, text in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    for p in stale:
        print(f"warning: {p.relative_to(TASKS.parent)} is not generated by this script", file=sys.stderr)
    print(f"wrote {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
