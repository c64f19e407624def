"""The package's own import graph, imports inside functions included, and its cycles (strongly connected components).

    python scripts/import_graph.py            # prints every cycle and the counts; exit 1 if there is a cycle

``tests/test_layout.py`` asserts zero cycles with the same functions, so CI fails on a new one; import-linter
(``lint-imports``) checks the layer order, this checks what it cannot: lazy imports that form a loop.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "embbench"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str], root: Path = PACKAGE) -> set[str]:
    """The package modules one file imports anywhere (top level, in functions, under TYPE_CHECKING)."""
    me = module_name(path, root)
    pkg = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for n in names:
            # the longest package module that the name is or lies in
            while n and n not in modules:
                n = n.rsplit(".", 1)[0] if "." in n else ""
            if n and n != me:
                out.add(n)
    return out


def graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    mods = set(files)
    g = {m: imports(p, mods, root) for m, p in files.items()}
    # importing a.b.c imports the packages a.b and a: count those edges too, except a package's own children
    for m, deps in g.items():
        for d in list(deps):
            parts = d.split(".")
            for i in range(2, len(parts)):
                parent = ".".join(parts[:i])
                if parent in mods and not m.startswith(parent + ".") and parent != m:
                    deps.add(parent)
    return g


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    g = graph()
    found = cycles(g)
    for c in found:
        print("cycle:", " -> ".join(c))
    print(f"{len(g)} modules, {sum(len(d) for d in g.values())} import edges, {len(found)} cycles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
