"""The packages of ``crm_shared`` depend on each other one way only: a cycle between two
of them means neither can be read, tested or changed without the other.

The graph is read from the source (every import, also one inside a function: a deferred
import is still a dependency), between the top-level packages and modules of
``crm_shared``; a cycle through other packages counts too."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "src" / "crm_shared"

# (lower, higher): the higher one uses the lower one, so the lower one must not reach the
# higher one. Each pair but the two of projections and catalog was a cycle once.
ONE_WAY = [
    ("events", "catalog"),  # the contract's base, then every service's event types
    ("privacy", "messaging"),  # sealing and keys, then the consumer that opens values
    ("settings", "privacy"),  # the configuration, then what is configured
    ("projections", "messaging"),  # what a projection is, then the consumer feeding one
    ("catalog", "messaging"),  # the event types, then the consumer decoding through them
    ("privacy", "http"),  # sealing and keys, then the key endpoint among the routes
    ("eventstore", "http"),  # the events' store, then the routes answering from it
    ("roles", "service"),  # who may call, then the declarations naming them
    ("service", "settings"),  # the declarations, then the ports the settings default to
    ("settings", "auth"),  # the configuration, then the tokens it configures
]

Graph = dict[str, dict[str, str]]  # unit -> unit it imports -> a module importing it


def _unit(module: str) -> str | None:
    """The top-level package or module of ``crm_shared`` a module belongs to."""
    parts = module.split(".")
    return parts[1] if parts[0] == "crm_shared" and len(parts) > 1 else None


def import_graph(source: Path) -> Graph:
    graph: Graph = defaultdict(dict)
    for path in sorted(source.rglob("*.py")):
        parts = path.relative_to(source.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        unit = _unit(module)
        if unit is None:
            continue  # crm_shared/__init__.py
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            imported: list[str] = []
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # ``from crm_shared import events`` imports the package ``events``.
                imported = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in imported:
                target = _unit(name)
                if target is not None and target != unit:
                    graph[unit].setdefault(target, module)
    return graph


def path_between(graph: Graph, start: str, goal: str) -> list[str] | None:
    """The modules by which ``start`` reaches ``goal`` (breadth first), or None."""
    came_from: dict[str, tuple[str, str]] = {}
    frontier = [start]
    seen = {start}
    while frontier:
        following = []
        for unit in frontier:
            for target, module in graph.get(unit, {}).items():
                if target in seen:
                    continue
                seen.add(target)
                came_from[target] = (unit, module)
                if target == goal:
                    steps = []
                    while target != start:
                        unit, module = came_from[target]
                        steps.append(f"{module} -> crm_shared.{target}")
                        target = unit
                    return steps[::-1]
                following.append(target)
        frontier = following
    return None


def cycle(graph: Graph, lower: str, higher: str) -> list[str] | None:
    """How ``lower`` reaches ``higher`` when ``higher`` reaches ``lower`` too: a cycle."""
    back = path_between(graph, lower, higher)
    return back if back is not None and path_between(graph, higher, lower) else None


def test_the_graph_holds_the_imports_of_the_source() -> None:
    graph = import_graph(SOURCE)
    assert graph["catalog"]["events"] == "crm_shared.catalog"
    assert path_between(graph, "messaging", "settings") is not None


@pytest.mark.parametrize(("lower", "higher"), ONE_WAY)
def test_no_import_cycle_between_the_packages(lower: str, higher: str) -> None:
    assert cycle(import_graph(SOURCE), lower, higher) is None
