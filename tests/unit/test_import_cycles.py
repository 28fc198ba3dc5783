"""No import cycles at run time (issue 14): in ``condordesk``, ``console``, ``tui`` and ``gui``
no module reaches itself through the modules it imports, function-level imports included
(imports under ``TYPE_CHECKING`` do not count: they never run). The pairs issue 14 named are
checked by name as well, so a message says which one came back."""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ["condordesk", "console", "tui", "gui"]
PAIRS = [
    ("condordesk.ops.alerts", "condordesk.ops.chatops"),
    ("condordesk.engine.commands", "condordesk.engine.service"),
    ("condordesk.engine.desk", "condordesk.engine.exits"),
    ("condordesk.ops.doctor", "condordesk.ops.doctor_firewall"),
    ("condordesk.gateway.server", "condordesk.gateway.session"),
    ("condordesk.gateway.orders", "condordesk.gateway.server"),
]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of two or more modules that import each other round (Tarjan's algorithm)."""
    edges = {m: graph.find_modules_directly_imported_by(m) & graph.modules for m in graph.modules}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        order[v] = low[v] = len(order)
        stack.append(v)
        for w in edges[v]:
            if w not in order:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], order[w])
        if low[v] == order[v]:
            group = []
            while (w := stack.pop()) != v:
                group.append(w)
            if group:
                found.append(sorted([v, *group]))

    for module in sorted(graph.modules):
        if module not in order:
            visit(module)
    return found


def test_no_module_imports_itself_round_a_cycle(graph: grimp.ImportGraph) -> None:
    assert cycles(graph) == []


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}<->{b}" for a, b in PAIRS])
def test_no_runtime_import_cycle(graph: grimp.ImportGraph, a: str, b: str) -> None:
    there = graph.find_shortest_chain(importer=a, imported=b)
    back = graph.find_shortest_chain(importer=b, imported=a)
    assert there is None or back is None, f"{there} and back {back}"


def test_the_cycle_finder_sees_a_cycle() -> None:
    g = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        g.add_module(name)
    g.add_import(importer="p.a", imported="p.b")
    g.add_import(importer="p.b", imported="p.c")
    g.add_import(importer="p.c", imported="p.a")
    assert cycles(g) == [["p.a", "p.b", "p.c"]]
