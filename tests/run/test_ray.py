"""`embbench run --executor ray`: the same scores as a local run, a killed worker, and no Ray without the flag.

A module-scoped local Ray cluster of 2 CPUs (two single-CPU workers per model) runs the tiny seven-task suite of
tests/helpers.py with two models (the packaged MiniLM at max_seq_length 64 and at 32). Each run gets its own embedding
cache, so the Ray run really encodes on the workers instead of reading the local run's vectors.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import MINILM, TASKS, cli, make_data, make_tasks, one_thread, write_models
from tests.helpers import all_results as results

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'embbench[ray]')")

KILL_ENV = "EMBBENCH_TEST_RAY_KILL"  # embbench.run.ray: the worker that deletes this file exits at once
MODELS = [
    {"name": "minilm", "model": MINILM, "max_seq_length": 64},
    {"name": "minilm32", "model": MINILM, "max_seq_length": 32, "batch_size": 8},
]


@dataclass
class Setup:
    root: Path
    task_dir: Path
    models: Path
    local: Path  # output of the local run
    kill_file: Path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("ray")
    task_dir = root / "tasks"
    make_tasks(task_dir, make_data(root / "data"))
    models = write_models(root / "models.yaml", MODELS)
    local = root / "local"
    args = ("--models", models, "--tasks", task_dir, "--no-speed", "--cache-dir", root / "cache-local")
    with one_thread():  # as the 1-CPU workers (same vectors with 2 threads; faster on a busy 2-core box)
        first = cli("run", *args, "--output", local)
    assert first.code == 0, first.err
    kill_file = root / "kill-armed"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KILL_ENV, str(kill_file))  # the cluster's workers inherit it; inert until the file exists
        ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
        try:
            yield Setup(root, task_dir, models, local, kill_file)
        finally:
            ray.shutdown()


def assert_ray_matches_local(local: Path, other: Path, expected: set[tuple[str, str]] | None = None) -> None:
    a, b = results(local), results(other)
    expected = expected or {(m["name"], t) for m in MODELS for t in TASKS.values()}
    assert set(b) == expected and set(a) >= expected
    for key in expected:
        assert b[key]["metrics"] == a[key]["metrics"], key  # every metric, bit for bit
        assert b[key]["main_score"] == a[key]["main_score"], key
        assert b[key]["items"] == a[key]["items"], key
        assert b[key]["prompts"] == a[key]["prompts"], key
        assert b[key]["embedding"]["encoded"] == a[key]["embedding"]["encoded"] > 0, key
        assert b[key]["model_info"]["executor"]["kind"] == "ray", key


def cache_vectors(root: Path) -> dict[tuple[str, bytes], bytes]:
    """(model key folder, text key) -> vector bytes of a cache folder."""
    out = {}
    for keys in root.glob("*/*.keys"):
        raw = keys.read_bytes()
        vecs = np.load(keys.with_suffix(".npy"))
        for i in range(len(raw) // 32):
            out[(keys.parent.name, raw[32 * i : 32 * i + 32])] = vecs[i].tobytes()
    return out


def ray_run(
    s: Setup, name: str, models: Path | None = None, tasks: list[Path] | None = None, workers: int = 2
) -> tuple[Path, Path, str]:
    output, cache = s.root / name, s.root / f"cache-{name}"
    r = cli(
        "run", "--models", models or s.models, "--tasks", *(tasks or [s.task_dir]), "--no-speed",
        "--cache-dir", cache, "--output", output, "--executor", "ray", "--workers", str(workers),
    )  # fmt: skip
    assert r.code == 0, r.err
    assert "Traceback" not in r.err
    return output, cache, r.err


def test_ray_scores_equal_local(setup: Setup) -> None:
    output, cache, err = ray_run(setup, "ray")
    assert_ray_matches_local(setup.local, output)
    assert "starting 2 Ray worker(s)" in err and "worker 1: chunk 1/1 (24 texts)" in err  # progress per chunk
    # the same cache keys (identity) and the same float32 vectors, bit for bit
    local_vecs, ray_vecs = cache_vectors(setup.root / "cache-local"), cache_vectors(cache)
    assert local_vecs and ray_vecs == local_vecs
    board = (output / "leaderboard_wide.csv").read_text(encoding="utf-8")
    assert board == (setup.local / "leaderboard_wide.csv").read_text(encoding="utf-8")


def test_killed_worker_is_restarted_and_its_chunk_retried(setup: Setup) -> None:
    # one model, one worker, two tasks (a restart reloads the model: keep it short)
    models = write_models(setup.root / "models-kill.yaml", MODELS[:1])
    tasks = [setup.task_dir / f"{TASKS[c]}.yaml" for c in ("pair_classification", "sts")]
    setup.kill_file.write_text("armed")  # the first worker to start a chunk deletes it and exits at once
    output, _, err = ray_run(setup, "ray-kill", models, tasks, workers=1)
    assert not setup.kill_file.exists(), "no worker died"
    assert "minilm worker 1: restarted" in err, err
    assert_ray_matches_local(
        setup.local, output, {(MODELS[0]["name"], TASKS[c]) for c in ("pair_classification", "sts")}
    )


def test_local_run_never_imports_ray(setup: Setup, tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from embbench.cli import main
        rc = main(["run", "--models", {str(setup.models)!r}, "--tasks", {str(setup.task_dir)!r},
                   "--output", {str(tmp_path / "out")!r}, "--no-speed", "--no-cache"])
        assert rc == 0, rc
        assert "ray" not in sys.modules and "embbench.run.ray" not in sys.modules, "ray imported"
        sys.modules["ray"] = None  # as if Ray were not installed
        rc = main(["run", "--models", {str(setup.models)!r}, "--tasks", {str(setup.task_dir)!r},
                   "--output", {str(tmp_path / "out")!r}, "--executor", "ray"])
        assert rc == 2, rc
        """
    )
    # the local run's results are copied in first: the run loads no model, only the command's own imports
    (tmp_path / "out").mkdir()
    import shutil

    shutil.copytree(setup.local / "results", tmp_path / "out" / "results")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop(KILL_ENV, None)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --executor ray: Ray is not installed") and "embbench[ray]" in last, last
