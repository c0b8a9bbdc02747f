"""The package layout holds (docs/architecture.md): no import cycle between the first-level
subpackages, the shared basics ("core": the loose modules at the top) import no subpackage,
dependencies point down the layers, only store/ talks to the database library, and routes
write no SQL. Read from the source with `ast`, so imports inside functions count too."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "dailypapers"
# Highest first, as in the package map of docs/architecture.md: a package may import those below
# it, never one above it ("core" is the loose modules: errors, models, config, ids, names, progress,
# ranking, redact).
LAYERS = ["cli", "web", "worker", "delivery", "ingest", "community", "search", "store", "sources", "core"]
DATABASE_LIBRARIES = ("sqlalchemy", "alembic")
# SQL as the store writes it (keywords in capitals), so prose such as "delete from your list" passes
SQL = re.compile(r"\b(SELECT\b[\s\S]*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|DELETE\s+FROM|UPDATE\s+\S+\s+SET|"
                 r"(CREATE|ALTER|DROP|LOCK)\s+TABLE)\b")
DATABASE_ATTRIBUTES = {"engine", "execute", "exec_driver_sql"}  # a connection in hand


@dataclass(frozen=True)
class Import:
    source: Path
    line: int
    target: str  # dotted: a module, or a name inside one ("dailypapers.errors.NotFound")

    def __str__(self) -> str:
        return f"{self.source.relative_to(SRC.parent)}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def group(module: str) -> str:
    """The first-level subpackage a dotted name belongs to; "core" for the loose modules."""
    parts = module.split(".")
    if len(parts) > 1 and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return "cli" if parts[1:2] == ["__main__"] else "core"


def imports(path: Path) -> list[Import]:
    """Every import in the file, at any depth, relative ones resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(path, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(package, node)
            found += [Import(path, node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _absolute(package: list[str], node: ast.ImportFrom) -> str:
    """The module a `from … import` reads, relative ones resolved against the importing package."""
    if not node.level:
        return node.module or ""
    return ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))


def package_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.relative_to(PACKAGE).parts)


def group_edges() -> dict[tuple[str, str], list[Import]]:
    """(importing group, imported group) -> the imports that make the edge."""
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for path in package_modules():
        source = group(module_name(path))
        for imp in imports(path):
            if imp.target.split(".")[0] == "dailypapers" and group(imp.target) != source:
                edges[(source, group(imp.target))].append(imp)
    return edges


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a path [a, b, ..., a], or None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def _explain(edges: dict[tuple[str, str], list[Import]], path: list[str]) -> str:
    return "\n".join(f"  {a} -> {b}: {edges[(a, b)][0]}" for a, b in pairwise(path))


def test_every_first_level_subpackage_has_a_layer():
    found = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} | {"core"}
    assert found == set(LAYERS), f"place the new package in LAYERS (and docs/architecture.md): {found ^ set(LAYERS)}"


def test_no_import_cycle_between_subpackages():
    edges = group_edges()
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle {' -> '.join(cycle)}:\n{_explain(edges, cycle)}"


def test_core_imports_no_subpackage():
    wrong = [str(imp) for (a, _), found in group_edges().items() if a == "core" for imp in found]
    assert not wrong, "the shared basics must not import a subpackage:\n" + "\n".join(wrong)


def test_dependencies_point_down_the_layers():
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = [f"{a} -> {b}: {found[0]}" for (a, b), found in sorted(group_edges().items()) if rank[a] > rank[b]]
    assert not upward, "a package imports one above it (see LAYERS):\n" + "\n".join(upward)


def test_only_store_imports_the_database_libraries():
    wrong = [str(imp) for path in package_modules() if group(module_name(path)) != "store"
             for imp in imports(path) if imp.target.split(".")[0] in DATABASE_LIBRARIES]
    assert not wrong, "SQL belongs in store/:\n" + "\n".join(wrong)


def test_routes_contain_no_sql():
    wrong = []
    for path in sorted((PACKAGE / "web" / "routes").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(SRC.parent)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                wrong.append(f"{where}: SQL text {node.value[:60]!r}")
            elif isinstance(node, ast.Attribute) and node.attr in DATABASE_ATTRIBUTES:
                wrong.append(f"{where}: .{node.attr} (a database connection)")
    assert not wrong, "routes call the library; SQL belongs in store/:\n" + "\n".join(wrong)


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    found = {imp.target for imp in imports(PACKAGE / "worker" / "jobs.py")}
    assert "dailypapers.ingest.harvest.harvest_set" in found  # imported inside run_harvest
    assert "dailypapers.errors.ParseError" in {imp.target for imp in imports(PACKAGE / "sources" / "abs.py")}
    assert group("dailypapers.search.encoder.gpu") == "search" and group("dailypapers.errors") == "core"
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None
