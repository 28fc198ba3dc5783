"""No import cycles (issue 14): in ``condordesk``, ``console``, ``tui`` and ``gui`` no module
reaches itself through the modules it imports, function-level imports included.

Two graphs, neither with a cycle: the run-time one (imports under ``TYPE_CHECKING`` left out:
they never run), and the one the type checker, import-linter and readers see, imports under
``TYPE_CHECKING`` counted. In the second, helpers reach their owner through Protocols
(``gateway/ports.py``, ``control/connection.py``'s ``Host``, ``engine/ports.py``); the
loopback gateway (``condordesk.gateway``) and the control channel
(``condordesk.engine.control``) are checked on their own too, the rest of the engine in
``test_import_cycles_typing.py``. The pairs issue 14 named are checked by name as well, so a
message says which one came back."""

from __future__ import annotations

import textwrap
from pathlib import Path

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

# counting TYPE_CHECKING imports: a handler and its owner, or two handlers through their owner
TYPED_PAIRS = [
    ("condordesk.gateway.server", "condordesk.gateway.session"),
    ("condordesk.gateway.orders", "condordesk.gateway.server"),
    ("condordesk.gateway.faults", "condordesk.gateway.server"),
    ("condordesk.gateway.staging", "condordesk.gateway.server"),
    ("condordesk.gateway.accounts", "condordesk.gateway.session"),
    ("condordesk.gateway.marketdata", "condordesk.gateway.session"),
    ("condordesk.gateway.translate", "condordesk.gateway.session"),
    ("condordesk.gateway.funds", "condordesk.gateway.orders"),
    ("condordesk.engine.control.connection", "condordesk.engine.control.server"),
]
ACYCLIC_WITH_TYPING = ("condordesk.gateway", "condordesk.engine.control")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # no cache: a cached graph can lag behind a file edited a moment ago
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)


@pytest.fixture(scope="module")
def typed_graph() -> grimp.ImportGraph:
    """The graph with the imports under ``TYPE_CHECKING`` counted."""
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False, cache_dir=None)


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


def test_no_module_imports_itself_round_a_cycle_counting_type_checking_imports(
    typed_graph: grimp.ImportGraph,
) -> None:
    assert cycles(typed_graph) == []


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in packages)


def test_gateway_and_control_have_no_cycle_counting_type_checking_imports(
    typed_graph: grimp.ImportGraph,
) -> None:
    found = [c for c in cycles(typed_graph) if any(_within(m, ACYCLIC_WITH_TYPING) for m in c)]
    assert found == []


@pytest.mark.parametrize(("a", "b"), TYPED_PAIRS, ids=[f"{a}<->{b}" for a, b in TYPED_PAIRS])
def test_no_import_cycle_counting_type_checking_imports(
    typed_graph: grimp.ImportGraph, a: str, b: str
) -> None:
    there = typed_graph.find_shortest_chain(importer=a, imported=b)
    back = typed_graph.find_shortest_chain(importer=b, imported=a)
    assert there is None or back is None, f"{there} and back {back}"


def test_the_typed_graph_sees_a_cycle_made_only_under_type_checking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A back-reference imported under ``TYPE_CHECKING`` closes a cycle in the typed graph
    (and not in the run-time one): what the tests above rely on."""
    package = tmp_path / "typed_cycle_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "owner.py").write_text("from typed_cycle_probe import handler\n")
    (package / "handler.py").write_text(
        textwrap.dedent(
            """\
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from typed_cycle_probe.owner import Owner
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = ["typed_cycle_probe.handler", "typed_cycle_probe.owner"]
    typed = grimp.build_graph("typed_cycle_probe", cache_dir=None)
    runtime = grimp.build_graph(
        "typed_cycle_probe", exclude_type_checking_imports=True, cache_dir=None
    )
    assert cycles(typed) == [modules]
    assert cycles(runtime) == []


def test_the_cycle_finder_sees_a_cycle() -> None:
    g = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        g.add_module(name)
    g.add_import(importer="p.a", imported="p.b")
    g.add_import(importer="p.b", imported="p.c")
    g.add_import(importer="p.c", imported="p.a")
    assert cycles(g) == [["p.a", "p.b", "p.c"]]
