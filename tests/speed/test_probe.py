"""Speed probe (embbench.speed.probe, embbench.speed.hardware) and truncation accounting, on the real packaged MiniLM.

Sizes are tiny (a few passages and queries) so the whole file runs in seconds; the numbers are checked for sanity,
not for speed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embbench.encode.backends.sentence_transformers import SentenceTransformerEncoder
from embbench.encode.cache import DiskCache
from embbench.encode.embedder import Embedder
from embbench.run.runner import run
from embbench.spec import ModelSpec, TaskSpec, load_task
from embbench.speed import probe as speed
from embbench.speed import sample
from tests.conftest import TASKS, minilm_path
from tests.fakes import KeywordEncoder

HARDWARE_KEYS = {"cpu", "threads", "gpu", "torch", "device", "dtype", "hostname_hash"}
SAMPLE_KEYS = {"n_passages", "n_queries", "mean_chars"}
LONG = "Развивая теорию Канта, Роберт фон Моль популяризовал термин «правовое государство». " * 4
SHORT = ["да", "нет", "кот"]


def minilm(**kw) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(ModelSpec(name="minilm", model=minilm_path(), **kw))


@pytest.fixture(scope="module")
def encoder() -> SentenceTransformerEncoder:
    return minilm()


def test_sample_is_real_rag_length_and_deterministic() -> None:
    passages = sample.sample_passages(40)
    assert passages == sample.sample_passages(40)
    assert len(set(passages)) == 40
    assert all(400 <= len(p) <= 1500 for p in passages)
    assert sample.sample_passages(10) == passages[:10]  # a smaller sample is a prefix of a larger one
    queries = sample.sample_queries(20)
    assert queries == sample.sample_queries(20) and len(set(queries)) == 20


def test_probe_returns_every_key_with_sane_values(encoder: SentenceTransformerEncoder, tmp_path: Path) -> None:
    passages, queries = sample.sample_passages(4), sample.sample_queries(3)
    rec = speed.measure(encoder, "minilm", tmp_path, batch_size=2, n_passages=4, n_queries=3, warmup=1)
    assert tuple(rec) == speed.KEYS
    assert rec["model"] == "minilm" and rec["batch_size"] == 2
    assert rec["throughput_texts_per_s"] > 0
    # tokens/s: the model sees at most max_tokens (256) tokens of a passage, and RAG passages are > 10 tokens
    per_text = rec["throughput_tokens_per_s"] / rec["throughput_texts_per_s"]  # both rounded: 1% slack
    assert 10 < per_text <= 256 * 1.01
    assert 0 < rec["latency_ms_p50"] <= rec["latency_ms_p95"]
    assert rec["peak_rss_mb"] > 50
    assert rec["peak_gpu_mb"] is None or rec["hardware"]["gpu"] is not None
    assert rec["load_seconds"] is not None and rec["load_seconds"] > 0
    assert rec["dim"] == 384
    assert 22_000_000 < rec["n_params"] < 23_500_000  # all-MiniLM-L6-v2: 22.7M
    assert rec["index_bytes_per_1m"] == 384 * 4 * 1_000_000
    hw = rec["hardware"]
    assert hw["threads"] >= 1 and hw["dtype"] == "float32" and len(hw["hostname_hash"]) == 12
    assert hw["device"].startswith(("cpu", "cuda"))
    assert rec["sample"] == {"n_passages": 4, "n_queries": 3, "mean_chars": round(sum(map(len, passages)) / 4, 1)}
    # the speed file: exactly these keys, in this order, written atomically
    path = tmp_path / "speed" / "minilm.json"
    assert path == speed.speed_path(tmp_path, "minilm")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved == rec and list(saved) == list(speed.KEYS)
    assert set(saved["hardware"]) == HARDWARE_KEYS and set(saved["sample"]) == SAMPLE_KEYS
    assert not list(path.parent.glob(".*.tmp"))
    assert queries == sample.sample_queries(3)


def tiny_sts_task(root: Path) -> TaskSpec:
    """A 6-pair STS task on real built-in sentences (fast to evaluate)."""
    source = TASKS / "data" / "sts" / "stsb_multi_mt_ru" / "test.jsonl"
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    data = root / "tiny_sts"
    data.mkdir()
    (data / "test.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[:6]), "utf-8")
    task = root / "tiny_sts.yaml"
    task.write_text("name: tiny_sts\ncategory: sts\ndata: tiny_sts\nscore_range: [0, 5]\n", encoding="utf-8")
    return load_task(task)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """The embedding cache's files (the kept speed probes in <cache>/speed are not vectors)."""
    files = (p for p in folder.rglob("*") if p.relative_to(folder).parts[0] != "speed")
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in files}


def test_runner_probes_without_touching_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speed, "CPU_SIZES", (4, 3))
    monkeypatch.setattr(speed, "GPU_SIZES", (4, 3))
    specs = [
        ModelSpec(name="minilm", model=minilm_path(), batch_size=2),
        ModelSpec(name="bm25", model="bm25", backend="bm25"),
    ]
    tasks = [tiny_sts_task(tmp_path)]
    cache = DiskCache(tmp_path / "cache")
    out = tmp_path / "reports"
    first = run(specs[:1], tasks, out, cache=cache)  # no speed: fills the cache
    assert first.written and not (out / "speed").exists()
    before = snapshot(tmp_path / "cache")
    assert before
    second = run(specs, tasks, out, cache=cache, speed=True)  # results exist: only the probe runs
    assert second.written == [("bm25", "tiny_sts")] and not second.failed, second.failed  # BM25: n/a record
    assert second.speed == ["minilm"]
    assert snapshot(tmp_path / "cache") == before
    assert len(list((tmp_path / "cache" / "speed").glob("*.json"))) == 1  # the probe, kept for the next run
    assert sorted(p.name for p in (out / "speed").iterdir()) == ["minilm.json"]  # no speed for BM25
    third = run(specs[:1], tasks, out, cache=cache, speed=True)  # speed file exists: nothing to do
    assert not third.speed and not third.written


def test_rankers_get_no_probe(tmp_path: Path) -> None:
    assert not speed.wants_probe(ModelSpec(name="bm25", model="bm25", backend="bm25"), tmp_path, force=True)
    spec = ModelSpec(name="minilm", model=minilm_path())
    assert speed.wants_probe(spec, tmp_path, force=False)
    speed.speed_path(tmp_path, "minilm").parent.mkdir(parents=True)
    speed.speed_path(tmp_path, "minilm").write_text("{}")
    assert not speed.wants_probe(spec, tmp_path, force=False)
    assert speed.wants_probe(spec, tmp_path, force=True)


# --- truncation accounting ----------------------------------------------------------------------------------


def tally(encoder, texts: list[str], cache: DiskCache | None = None) -> dict:
    embed = Embedder(encoder, None, cache).for_task("t", "sts")
    embed(texts)
    return embed.truncation()


def test_truncation_share_with_a_tiny_max_seq_length() -> None:
    enc = minilm(max_seq_length=16)
    assert enc.max_tokens == 16
    long = tally(enc, [LONG, LONG + " Конец.", LONG])  # a repeated text counts once
    assert long["max_tokens"] == 16 and long["texts"] == 2
    assert long["share_truncated"] == 1.0
    short = tally(enc, SHORT)
    assert short["share_truncated"] == 0.0 and short["texts"] == 3
    assert long["tokens_per_1000_chars"] > 0 and short["tokens_per_1000_chars"] > 0


def test_token_count_matches_the_model_tokenizer(encoder: SentenceTransformerEncoder) -> None:
    tokenizer = encoder.model.tokenizer
    texts = [LONG, SHORT[0], ""]
    counts = encoder.count_tokens(texts, "query: ")
    assert counts.tolist() == [len(tokenizer("query: " + t)["input_ids"]) for t in texts]
    assert counts[0] > 256  # not truncated
    assert encoder.max_tokens == encoder.model.max_seq_length == 256
    rec = tally(encoder, [LONG])
    chars = len(LONG)
    assert rec["tokens_per_1000_chars"] == round(1000 * len(tokenizer(LONG)["input_ids"]) / chars, 2)


def test_counting_does_not_load_the_model_and_agrees_with_it() -> None:
    light = minilm(max_seq_length=16)
    texts = [LONG, *SHORT]
    counts = light.count_tokens(texts, "passage: ")
    assert light._model is None  # the tokenizer alone
    assert light.max_tokens == 16 and light._model is None
    loaded = minilm(max_seq_length=16)
    assert loaded.model is not None
    assert loaded.count_tokens(texts, "passage: ").tolist() == counts.tolist()
    assert loaded.max_tokens == 16
    assert minilm().max_tokens == 256  # from sentence_bert_config.json, without loading


def test_truncation_is_reported_for_vectors_from_the_cache(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache")
    fresh = tally(minilm(), [LONG, *SHORT], cache)
    cached_encoder = minilm()
    embed = Embedder(cached_encoder, None, cache).for_task("t", "sts")
    embed([LONG, *SHORT])
    assert embed.stats.from_cache == 4 and embed.stats.encoded == 0
    assert cached_encoder._model is None  # served from the cache, counted with the tokenizer alone
    assert embed.truncation() == fresh


def test_encoders_without_count_tokens_report_none() -> None:
    enc = KeywordEncoder(["кот"])
    assert tally(enc, ["кот", "пёс"]) is None
    rec = speed.probe(enc, batch_size=2, passages=["кот"] * 3, queries=["пёс"], warmup=1)
    assert rec["throughput_tokens_per_s"] is None and rec["n_params"] is None and rec["dim"] == 1
    assert np.isfinite(rec["throughput_texts_per_s"])


def test_search_benchmark_script_runs_and_agrees_with_brute_force() -> None:
    """scripts/bench_search.py at a toy size: it runs, and its chunked top-k equals the brute-force one."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "scripts" / "bench_search.py"
    args = ["--docs", "3000", "--queries", "40", "--dim", "32", "--top-k", "50", "--check", "20"]
    res = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "same top-k as brute force on 20 queries: 100%" in res.stdout, res.stdout
    assert "within" in res.stdout, res.stdout
