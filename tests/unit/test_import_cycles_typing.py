"""No import cycle inside the engine even counting imports under ``TYPE_CHECKING`` (issue 14):
the type checker, import-linter and a reader see those imports too. The desk's helpers (exits,
stops, money, flights) and the engine's (commands, flatten, safety) name what they need of their
owner as Protocols in ``condordesk.engine.ports`` instead of importing the owner's module.
``condordesk.engine.control`` is checked with the gateway (``test_import_cycles.py``)."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

from tests.unit.test_import_cycles import PACKAGES, cycles

ENGINE = "condordesk.engine"
ELSEWHERE = "condordesk.engine.control"
OWNED = [
    ("condordesk.engine.desk", "condordesk.engine.exits"),
    ("condordesk.engine.desk", "condordesk.engine.stops"),
    ("condordesk.engine.desk", "condordesk.engine.money"),
    ("condordesk.engine.desk", "condordesk.engine.flights"),
    ("condordesk.engine.service", "condordesk.engine.commands"),
    ("condordesk.engine.service", "condordesk.engine.flatten"),
    ("condordesk.engine.service", "condordesk.engine.safety"),
]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # no cache: a cached graph can lag behind a file edited a moment ago
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False, cache_dir=None)


def _in_engine(module: str) -> bool:
    inside = module == ENGINE or module.startswith(f"{ENGINE}.")
    return inside and not (module == ELSEWHERE or module.startswith(f"{ELSEWHERE}."))


def test_no_engine_module_imports_itself_round_a_cycle(graph: grimp.ImportGraph) -> None:
    assert [group for group in cycles(graph) if any(map(_in_engine, group))] == []


@pytest.mark.parametrize(("owner", "helper"), OWNED, ids=[f"{o}<-{h}" for o, h in OWNED])
def test_a_helper_never_imports_its_owner(
    graph: grimp.ImportGraph, owner: str, helper: str
) -> None:
    back = graph.find_shortest_chain(importer=helper, imported=owner)
    assert back is None, f"{helper} reaches {owner} through {back}"


def test_the_graph_counts_type_checking_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cycle closed only under ``TYPE_CHECKING`` is found (so the tests above can fail)."""
    pkg = tmp_path / "typingcycle"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "owner.py").write_text("import typingcycle.helper\n")
    (pkg / "helper.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import typingcycle.owner\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    g = grimp.build_graph("typingcycle", exclude_type_checking_imports=False, cache_dir=None)
    assert cycles(g) == [["typingcycle.helper", "typingcycle.owner"]]
    runtime = grimp.build_graph("typingcycle", exclude_type_checking_imports=True, cache_dir=None)
    assert cycles(runtime) == []
