"""The package's shape as a contract: no import cycles (lazy imports included), small modules, a docstring each;
no test module imports another."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "embbench"
MAX_LINES = 400  # issue #12: no module over ~400 lines


def _graph_module():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_no_import_cycles() -> None:
    ig = _graph_module()
    g = ig.graph(PACKAGE)
    assert len(g) > 30, "the graph must see the whole package"
    assert ig.cycles(g) == []


def test_the_cycle_finder_finds_a_lazy_cycle(tmp_path: Path) -> None:
    # the checker itself must catch an import inside a function (what import-linter's layers cannot see)
    pkg = tmp_path / "embbench"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text("from embbench.b import y\n")
    (pkg / "b.py").write_text("def f():\n    from embbench.a.x import z\n")
    ig = _graph_module()
    assert ig.cycles(ig.graph(pkg)) == [["embbench.a.x", "embbench.b"]]


def test_modules_are_small_and_say_their_job() -> None:
    too_long, undocumented = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        doc = ast.get_docstring(ast.parse(text))
        if path.name != "__main__.py" and not doc:
            undocumented.append(str(path.relative_to(ROOT)))
    assert too_long == []
    assert undocumented == []


def _is_test_module(name: str) -> bool:
    return name.rsplit(".", 1)[-1].startswith("test_")


def _test_module_imports(path: Path, root: Path = ROOT) -> list[str]:
    """The test modules a file imports (absolute or relative), lazy imports included."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] if node.level else ())
            module = ".".join(p for p in (base, node.module or "") if p)
            if _is_test_module(module):
                found.append(module)
            found += [f"{module}.{a.name}" for a in node.names if _is_test_module(a.name)]
    return found


def test_no_test_module_imports_another() -> None:
    # shared builders live in tests/helpers.py, fixtures in tests/conftest.py (issue #12)
    offenders = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if imports := _test_module_imports(path):
            offenders[str(path.relative_to(ROOT))] = imports
    assert offenders == {}


def test_the_test_import_check_sees_every_form(tmp_path: Path) -> None:
    layer = tmp_path / "tests" / "cli"
    layer.mkdir(parents=True)
    sources = {
        "from tests.test_cli import cli": ["tests.test_cli"],
        "from tests.cli.test_cli import cli": ["tests.cli.test_cli"],
        "import tests.run.test_ray": ["tests.run.test_ray"],
        "from tests.cli import test_cli": ["tests.cli.test_cli"],
        "from .test_cli import cli": ["tests.cli.test_cli"],
        "from .. import test_layout": ["tests.test_layout"],
        "def f():\n    from tests.test_cli import cli": ["tests.test_cli"],
        "from tests.helpers import cli\nfrom tests.conftest import TASKS\nfrom tests.fakes import KeywordEncoder": [],
    }
    for i, (source, want) in enumerate(sources.items()):
        path = layer / f"mod{i}.py"
        path.write_text(source + "\n", encoding="utf-8")
        assert _test_module_imports(path, tmp_path) == want, source
