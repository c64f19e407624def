"""`embbench export --mteb DIR`: hub-task results in mteb's layout, read back by mteb's own TaskResult.from_disk."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
import yaml

mteb = pytest.importorskip("mteb")
pytest.importorskip("datasets")

from embbench.cli import main  # noqa: E402
from tests.conftest import REPO, TASKS, minilm_path  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "hub"
pytestmark = pytest.mark.slow  # runs three hub fixture tasks (about 2 minutes)
HUB_TASKS = ["TERRa", "MassiveIntentClassification", "RuBQRetrieval"]  # one split, two splits, a retrieval task


def _task_file(name: str, folder: Path) -> Path:
    """The real ruMTEB task file with hub.path pointed at the local fixture dataset."""
    raw = yaml.safe_load((TASKS / "rumteb" / f"{name}.yaml").read_text(encoding="utf-8"))
    raw["hub"]["path"] = str((FIXTURES / name).resolve())
    path = folder / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def cli(*args: object) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue() + err.getvalue()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import datasets

    datasets.config.HF_DATASETS_CACHE = tmp_path_factory.getbasetemp() / "hf-datasets-export"
    root = tmp_path_factory.mktemp("export")
    models = root / "models.yaml"
    models.write_text(f"models:\n  - name: minilm\n    model: {json.dumps(minilm_path())}\n", encoding="utf-8")
    files = [_task_file(n, root / "tasks") for n in HUB_TASKS]
    local = TASKS / "stsb_ru.yaml"  # a local task: not an mteb task, not exported
    code, log = cli("run", "--models", models, "--tasks", *files, local, "--output", root / "out", "--no-speed")
    assert code == 0, log
    code, log = cli("export", "--mteb", root / "mteb", "--output", root / "out")
    assert code == 0, log
    return root / "out", root / "mteb"


def test_mteb_s_loader_reads_every_exported_hub_result(exported: tuple[Path, Path]) -> None:
    out, dest = exported
    files = sorted(dest.glob("*/*/*.json"))
    names = {f.stem for f in files}
    assert names == {*HUB_TASKS, "model_meta"}  # the local demo task is not exported
    for name in HUB_TASKS:
        (path,) = [f for f in files if f.stem == name]
        ours = json.loads((out / "results" / "minilm" / f"{name}.json").read_text(encoding="utf-8"))
        theirs = mteb.TaskResult.from_disk(path)
        assert theirs.task_name == name
        assert (
            theirs.dataset_revision
            == yaml.safe_load((TASKS / "rumteb" / f"{name}.yaml").read_text(encoding="utf-8"))["hub"]["revision"]
        )
        assert theirs.get_score() == pytest.approx(ours["main_score"], abs=1e-12)  # mteb's mean over splits
        assert theirs.mteb_version == mteb.__version__
    massive = mteb.TaskResult.from_disk(dest / files[0].parent.relative_to(dest) / "MassiveIntentClassification.json")
    assert set(massive.scores) == {"validation", "test"}


def test_the_layout_is_mteb_s(exported: tuple[Path, Path]) -> None:
    _, dest = exported
    (model_dir,) = [p for p in dest.iterdir() if p.is_dir()]
    (revision_dir,) = list(model_dir.iterdir())
    assert revision_dir.name == "no_revision_available"  # a local model folder has no hub revision
    meta = json.loads((revision_dir / "model_meta.json").read_text(encoding="utf-8"))
    assert meta["name"] == "minilm" and meta["embed_dim"] == 384


def test_hub_results_record_mteb_and_datasets_versions(exported: tuple[Path, Path]) -> None:
    import datasets

    out, _ = exported
    terra = json.loads((out / "results" / "minilm" / "TERRa.json").read_text(encoding="utf-8"))
    assert terra["versions"]["mteb"] == mteb.__version__ and terra["versions"]["datasets"] == datasets.__version__
    assert terra["task_info"]["hub"]["mteb_task"] == "TERRa"
