"""Hub tasks: data from a Hugging Face dataset at a pinned revision, loaded by mteb's own task class.

A task file with ``hub:`` (instead of ``data:``) names the dataset, its revision, its subset and split(s), and the
mteb task class it mirrors (``mteb_task:``)::

    name: TERRa
    category: pair_classification
    mteb_task: TERRa
    hub: {path: mteb/TERRa, revision: 48312c334eb916d88481dc4a41bd0d8b2fa0d576, subset: default, splits: [dev]}

Loading instantiates that mteb class, points its metadata at the pinned source, runs its ``load_data()`` (so mteb's
own transforms apply: stratified test subsampling, column renames, fast loading by language, ...) and converts the
resulting ``dataset`` into neutral columns, from which the category's ``to_data`` builds its Data (as for a local
folder). mteb is needed for this only (``pip install 'embbench[rumteb]'``). The task file's ``hub:`` mapping is
parsed by ``embbench.spec.tasks.parse_hub``.

A task evaluated on several splits (MassiveIntent/MassiveScenario: validation and test) loads as
``categories._splits.SplitsData``: one Data per split, scored as the mean of the splits.

A hub path that starts with '.', '/' or '~' is a local folder in the Hub's layout (relative to the task file): the
test fixtures and offline mirrors use it; the loading code is the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from embbench import categories
from embbench.categories._common import Columns
from embbench.categories._splits import SplitsData
from embbench.data.limit import limit_columns
from embbench.errors import UserError, missing_extra
from embbench.spec.tasks import HubSource, TaskSpec

MTEB_PIN = "2.26.24"  # the mteb release the task files in tasks/rumteb were generated from
# categories whose evaluation carries no random state from one split to the next (mteb's clustering and multilabel
# tasks keep their generators between splits, which a per-split evaluation here would not reproduce)
MULTI_SPLIT_CATEGORIES = ("classification", "pair_classification", "sts", "retrieval", "reranking")


class TaskUnavailable(Exception):
    """A task whose data cannot be loaded now (hub unreachable, dataset gone): reported in one line, the run goes on."""


# ------------------------------------------------------------------------------------------ loading


def source(task: TaskSpec) -> HubSource:
    """A hub task's source (a task with a local data folder is a caller's mistake)."""
    if not isinstance(task.source, HubSource):
        raise TypeError(f"task '{task.name}' is not a hub task")
    return task.source


def load(task: TaskSpec) -> Any:
    """The category's Data for a hub task (SplitsData when it has several splits); TaskUnavailable when the dataset
    cannot be fetched, UserError for a mistake in the task file or a missing mteb."""
    src = source(task)
    if len(src.splits) > 1 and task.category not in MULTI_SPLIT_CATEGORIES:
        raise UserError(
            task.file, f"several splits are not supported for {task.category}", field="hub.splits", fix="list one split"
        )
    mt = mteb_task(task)
    with _quiet():
        try:
            mt.load_data()
            columns = {split: convert(task.category, mt, src.subset, split, task.file) for split in src.splits}
        except (UserError, TaskUnavailable):
            raise
        except Exception as exc:  # network, a vanished revision, a changed schema: the run goes on without it
            raise TaskUnavailable(reason(exc, src)) from exc
    to_data = categories.get(task.category).to_data
    parts = {split: to_data(limit_columns(cols, task.limit), task.file) for split, cols in columns.items()}
    if len(parts) == 1:
        return next(iter(parts.values()))
    return SplitsData(parts, _hash(p.fingerprint for p in parts.values()))


def mteb_task(task: TaskSpec) -> Any:
    """mteb's task object for a hub task, filtered to its subset and splits and pointed at the pinned source."""
    src = source(task)
    try:
        import mteb
    except ImportError:
        raise missing_extra("mteb", "rumteb") from None
    with _quiet():
        try:
            mt = mteb.get_task(src.mteb_task)
        except KeyError:
            raise UserError(
                task.file,
                f"mteb {_mteb_version()} has no task '{src.mteb_task}'",
                field="mteb_task",
                fix=f"check the name, or install mteb=={MTEB_PIN}",
            ) from None
        missing = [s for s in src.splits if s not in mt.metadata.eval_splits]
        if missing:
            raise UserError(
                task.file,
                f"mteb's {src.mteb_task} has no eval split '{missing[0]}' "
                f"(it has {', '.join(mt.metadata.eval_splits)})",
                field="hub.splits",
            )
        mt.filter_eval_splits(list(src.splits))
        if mt.metadata.is_multilingual:
            if src.subset not in mt.hf_subsets:
                raise UserError(task.file, f"mteb's {src.mteb_task} has no subset '{src.subset}'", field="hub.subset")
            mt = mt.filter_languages(None, hf_subsets=[src.subset])
        elif src.subset != "default":
            raise UserError(task.file, f"mteb's {src.mteb_task} has one subset, 'default'", field="hub.subset")
    dataset = {**mt.metadata.dataset, "path": src.path, "revision": src.revision}
    mt.metadata = mt.metadata.model_copy(update={"dataset": dataset})  # this instance only
    return mt


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No progress bars, 'superseded by' warnings or info logs from datasets/mteb while loading."""
    import datasets

    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    loggers = [logging.getLogger(n) for n in ("mteb", "datasets", "huggingface_hub")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        if was_enabled:
            datasets.enable_progress_bars()


_NETWORK_ERRORS = {
    "OfflineModeIsEnabled",
    "LocalEntryNotFoundError",
    "ConnectError",
    "ConnectTimeout",
    "ReadTimeout",
    "NewConnectionError",
    "MaxRetryError",
    "NameResolutionError",
}


def unreachable(exc: BaseException) -> bool:
    """Whether an exception (or one it was raised from) means the hub could not be reached."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, (ConnectionError, TimeoutError)) or type(e).__name__ in _NETWORK_ERRORS:
            return True
        e = e.__cause__ or e.__context__
    return False


def reason(exc: BaseException, src: HubSource) -> str:
    """The one-line reason a hub task is unavailable."""
    if unreachable(exc):
        return f"the Hugging Face hub is unreachable (dataset {src.short})"
    first = (str(exc).strip().splitlines() or [""])[0]
    if len(first) > 200:
        first = first[:197] + "..."
    return f"could not load dataset {src.short}: {type(exc).__name__}: {first}"


def _mteb_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("mteb")
    except metadata.PackageNotFoundError:
        return "?"


# ------------------------------------------------------------------------------------------ conversion


def convert(category: str, mt: Any, subset: str, split: str, where: Path | str = "hub") -> Columns:
    """One split of a loaded mteb task as the neutral columns the category's ``to_data`` takes."""
    if category in ("retrieval", "reranking"):
        return _retrieval(category, mt.dataset[subset][split], where)
    ds = mt.dataset
    if not (subset not in ds and subset == "default"):  # mteb's own rule: a monolingual dataset has no subset level
        ds = ds[subset]
    if category in ("classification", "multilabel_classification"):
        train, test = ds[mt.train_split], ds[split]
        x, y = mt.input_column_name, mt.label_column_name
        to_names = label_names if category == "classification" else label_lists
        tr_labels, te_labels = to_names(list(train[y]), list(test[y]))
        tr_texts, te_texts = _texts(train[x]), _texts(test[x])
        key = "label" if category == "classification" else "labels"
        values: dict[str, Any] = {"train_text": tr_texts, f"train_{key}": tr_labels}
        values.update({"test_text": te_texts, f"test_{key}": te_labels})
        return Columns(values, _hash([tr_texts, tr_labels, te_texts, te_labels]))
    if category == "clustering":
        test = ds[split]
        texts = _texts(test[mt.input_column_name])
        labels = [_one_label(v) for v in test[mt.label_column_name]]
        return Columns({"text": texts, "label": labels}, _hash([texts, labels]))
    if category == "pair_classification":
        test = ds[split]
        if len(test) == 1 and isinstance(test[0][mt.input1_column_name], list):  # mteb v1's single-row layout
            row = test[0]
            cols = {c: row[c] for c in (mt.input1_column_name, mt.input2_column_name, mt.label_column_name)}
        else:
            cols = {c: test[c] for c in (mt.input1_column_name, mt.input2_column_name, mt.label_column_name)}
        s1, s2 = _texts(cols[mt.input1_column_name]), _texts(cols[mt.input2_column_name])
        zero_one = [int(v) for v in cols[mt.label_column_name]]
        return Columns({"sentence1": s1, "sentence2": s2, "label": zero_one}, _hash([s1, s2, zero_one]))
    if category == "sts":
        test = ds[split]
        c1, c2 = mt.column_names
        s1, s2 = _texts(test[c1]), _texts(test[c2])
        scores = [float(v) for v in test["score"]]
        rng = (float(mt.min_score), float(mt.max_score))
        return Columns(
            {"sentence1": s1, "sentence2": s2, "score": scores, "score_range": rng}, _hash([s1, s2, scores, list(rng)])
        )
    raise UserError(where, f"hub data is not supported for {category}", field="category")


def _texts(values: Iterable[Any]) -> list[str]:
    return ["" if v is None else str(v) for v in values]


def _one_label(value: Any) -> str:
    if isinstance(value, list):  # mteb's clustering allows a label path; the ruMTEB tasks have one level
        if len(value) != 1:
            raise TaskUnavailable(f"hierarchical cluster labels {value!r} are not supported")
        value = value[0]
    return str(value)


def _int_names(values: list[int]) -> Callable[[int], str]:
    """Integer labels as zero-padded names, so that sorting the names sorts the integers (embbench sorts names)."""
    shift = max(0, -min(values, default=0))  # negative labels are shifted to start at 0
    width = len(str(max(values, default=0) + shift))
    return lambda v: f"{v + shift:0{width}d}"


def _all_int(values: Iterable[Any]) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def label_names(train: list[Any], test: list[Any]) -> tuple[list[str], list[str]]:
    """Single labels as names; integer labels keep their order (mteb fits on the integers)."""
    if _all_int(train) and _all_int(test):
        name = _int_names(list(train) + list(test))
        return [name(v) for v in train], [name(v) for v in test]
    return [str(v) for v in train], [str(v) for v in test]


def label_lists(train: list[list[Any]], test: list[list[Any]]) -> tuple[list[list[str]], list[list[str]]]:
    """Label lists as lists of names (integers zero-padded, as label_names)."""
    flat = [v for row in (*train, *test) for v in row]
    if _all_int(flat):
        name = _int_names(flat)
        return [[name(v) for v in r] for r in train], [[name(v) for v in r] for r in test]
    return [[str(v) for v in r] for r in train], [[str(v) for v in r] for r in test]


def document_texts(corpus: Any) -> list[str]:
    """mteb's document text: ``(title + " " + text).strip()`` when a title is present, else ``text.strip()``."""
    texts = corpus["text"]
    titles = corpus["title"] if "title" in corpus.column_names else [None] * len(texts)
    return [(f"{t} {x}".strip() if t else (x or "").strip()) for t, x in zip(titles, texts, strict=True)]


def _retrieval(category: str, part: Mapping[str, Any], where: Path | str) -> Columns:
    corpus_ds, queries_ds = part["corpus"], part["queries"]
    if "instruction" in queries_ds.column_names:
        raise TaskUnavailable("queries with instructions are not supported")
    top_ranked = part.get("top_ranked")
    if category == "retrieval" and top_ranked:
        raise UserError(
            where,
            "this dataset has top_ranked candidates, so mteb reranks them",
            field="category",
            fix="declare the task as category: reranking",
        )
    if category == "reranking" and not top_ranked:
        raise UserError(
            where,
            "this dataset has no top_ranked candidates to rerank",
            field="category",
            fix="declare the task as category: retrieval",
        )
    corpus = dict(zip((str(i) for i in corpus_ds["id"]), document_texts(corpus_ds), strict=True))
    # mteb drops queries without judgements (_filter_queries_without_positives)
    qrels = {str(q): {str(d): int(s) for d, s in docs.items()} for q, docs in part["relevant_docs"].items() if docs}
    queries = {
        str(q): _texts([t])[0] for q, t in zip(queries_ds["id"], queries_ds["text"], strict=True) if str(q) in qrels
    }
    qrels = {q: qrels[q] for q in queries}
    if category == "retrieval":
        values = {"queries": queries, "corpus": corpus, "qrels": qrels}
        return Columns(values, _hash([list(queries.items()), list(corpus.items()), qrels]))
    candidates: dict[str, list[str]] = {}
    for q in queries:
        ids = list(dict.fromkeys(str(d) for d in (top_ranked.get(q) or [])))  # type: ignore[union-attr]
        missing = [d for d in ids if d not in corpus]
        if missing:
            raise TaskUnavailable(f"top_ranked of query '{q}' names document '{missing[0]}', not in the corpus")
        candidates[q] = ids  # no candidates: mteb gives the query no hits, and it scores 0 in the means
    values = {"queries": queries, "corpus": corpus, "candidates": candidates, "qrels": qrels}
    return Columns(values, _hash([list(queries.items()), list(corpus.items()), candidates, qrels]))


def _hash(parts: Iterable[Any]) -> str:
    """sha256 over the converted content (what is evaluated), so equal data gives an equal fingerprint."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, str):
            h.update(p.encode())
        else:
            for chunk in json.JSONEncoder(ensure_ascii=False, sort_keys=True).iterencode(p):
                h.update(chunk.encode())
        h.update(b"\x00")
    return h.hexdigest()
