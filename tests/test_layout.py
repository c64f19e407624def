"""The package's shape as a contract: no import cycles (lazy imports included), small modules, a docstring each."""

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
