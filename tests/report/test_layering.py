"""The report layer's imports: only results, categories, _io, errors and itself, and no cycle among its modules."""

from __future__ import annotations

import ast
from pathlib import Path

REPORT = Path(__file__).resolve().parents[2] / "embbench" / "report"
ALLOWED = ("embbench.results", "embbench.categories", "embbench._io", "embbench.errors", "embbench.report")


def _imports(path: Path) -> set[str]:
    """The embbench modules a file imports anywhere (top level and inside functions)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("embbench")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("embbench"):
            if node.module == "embbench.report":  # from embbench.report import stats -> embbench.report.stats
                out |= {f"embbench.report.{a.name}" for a in node.names}
            else:
                out.add(node.module)
    return out


def _graph() -> dict[str, set[str]]:
    return {f"embbench.report.{p.stem}": _imports(p) for p in REPORT.glob("*.py") if p.stem != "__init__"}


def test_report_imports_only_lower_layers() -> None:
    bad = {m: sorted(i for i in imps if not i.startswith(ALLOWED)) for m, imps in _graph().items()}
    assert not {m: i for m, i in bad.items() if i}, bad


def test_no_cycle_inside_report() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(m: str, path: tuple[str, ...]) -> None:
        assert m not in path, " -> ".join((*path[path.index(m) :], m))
        if m in done:
            return
        for dep in graph.get(m, ()):
            visit(dep, (*path, m))
        done.add(m)

    for m in graph:
        visit(m, ())
    assert "embbench.report.write" not in {d for deps in graph.values() for d in deps}  # nothing renders but write
    renderers = {"embbench.report.markdown", "embbench.report.csv", "embbench.report.html"}
    importers = {m for m, deps in graph.items() if deps & renderers}
    assert importers == {"embbench.report.write"}, importers
