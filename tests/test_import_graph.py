"""The import graph: no circles inside agora/, moderation/ never imports agora, services never
import an adapter.

Read with the standard library's ``ast`` from the source files (nothing is imported), counting
every import statement, those inside functions too: an import moved into a function to dodge a
circle is still a circle. A circle known and being fixed is listed in KNOWN_CIRCLES with who fixes
it; a new one fails this test with the modules it goes through.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Circles known and being fixed; each one is allowed only with exactly these modules.
KNOWN_CIRCLES: dict[frozenset[str], str] = {}  # none today
ADAPTERS = ("agora.web", "agora.api", "agora.live", "agora.cli")


def module_files(package: str) -> dict[str, Path]:
    files = {}
    for path in (ROOT / package).rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = path
    return files


def imported_modules(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``module`` imports anywhere in its source: the deepest
    existing module of each dotted name; ``from pkg import name`` counts ``pkg.name`` when it is
    a module, else ``pkg`` (a package's own __init__ running first is not counted as an edge)."""
    found = set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def graph(package: str) -> dict[str, set[str]]:
    files = module_files(package)
    known = set(files)
    return {module: imported_modules(module, path, known) for module, path in files.items()}


def circles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_no_import_circles_inside_agora():
    new = [sorted(c) for c in circles(graph("agora")) if c not in KNOWN_CIRCLES]
    assert new == [], f"import circles (break each one: a lower layer, or one module): {new}"


def test_moderation_never_imports_agora():
    importers = {}
    for module, path in module_files("moderation").items():
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            )
            if any(name == "agora" or name.startswith("agora.") for name in names):
                importers.setdefault(module, node.lineno)
    assert importers == {}, f"moderation/ is pure and never imports agora: {importers}"


def test_services_and_models_never_import_an_adapter_or_the_factory():
    edges = graph("agora")
    wrong = {
        module: sorted(t for t in targets if t == "agora" or t.startswith(ADAPTERS))
        for module, targets in edges.items()
        if module.startswith(("agora.services", "agora.models"))
    }
    assert {m: t for m, t in wrong.items() if t} == {}


def test_the_check_sees_a_circle_hidden_in_a_function(tmp_path):
    """The checker itself: a circle through an import inside a function is found."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(edges) == [frozenset({"a", "b", "c"})]
    source = tmp_path / "b.py"
    source.write_text("def later():\n    from a import thing\n", "utf-8")
    assert imported_modules("b", source, {"a", "b"}) == {"a"}
