"""The import cycles issue 14 named stay gone: neither module of a pair reaches the other at
run time, directly or through others (imports under ``TYPE_CHECKING`` do not count)."""

from __future__ import annotations

import grimp
import pytest

PAIRS = [
    ("condordesk.alerts", "condordesk.chatops"),
    ("condordesk.engine.commands", "condordesk.engine.service"),
    ("condordesk.engine.desk", "condordesk.engine.exits"),
]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("condordesk", exclude_type_checking_imports=True)


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}<->{b}" for a, b in PAIRS])
def test_no_runtime_import_cycle(graph: grimp.ImportGraph, a: str, b: str) -> None:
    there = graph.find_shortest_chain(importer=a, imported=b)
    back = graph.find_shortest_chain(importer=b, imported=a)
    assert there is None or back is None, f"{there} and back {back}"


def test_the_graph_sees_function_level_imports(graph: grimp.ImportGraph) -> None:
    # alerts builds the command bot with a function-level import: a cycle through it counts
    assert graph.find_shortest_chain(importer="condordesk.alerts", imported="condordesk.chatops")
