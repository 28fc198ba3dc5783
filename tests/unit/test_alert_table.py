"""Every alert an operator can receive is explained in docs/operations.md's alert table.

An alert reaches the phone and the consoles with its kind (``stale_close``, ``exit_budget``);
the operator looks that kind up to know what happened and what to do. The kinds are found in
the source: each call whose first two positional arguments are a level and a kind
(``desk.alert("warning", "stale_close", ...)``) or a kind and a level (a reconciliation's
``plan.note("stale_close", "warning", ...)``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEVELS = {"info", "warning", "critical"}
KIND = re.compile(r"[a-z][a-z_]+")


def _text(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def alert_kinds(package: Path) -> dict[str, str]:
    """Alert kinds raised in ``package``'s source, each with where it is first raised."""
    kinds: dict[str, str] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            first, second = _text(node.args[0]), _text(node.args[1])
            kind = second if first in LEVELS else first if second in LEVELS else None
            if kind is not None and KIND.fullmatch(kind):
                kinds.setdefault(kind, f"{path.relative_to(ROOT)}:{node.lineno}")
    return kinds


def documented_kinds() -> set[str]:
    """The kinds named in the first column of the operations guide's alert table."""
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    first_cells = (line.split("|")[1] for line in doc.splitlines() if line.startswith("| `"))
    return {name for cell in first_cells for name in re.findall(r"`([a-z_]+)`", cell)}


def test_the_scan_finds_the_engines_alerts() -> None:
    kinds = alert_kinds(ROOT / "condordesk")
    # a scan that found nothing would pass the next test vacuously
    assert len(kinds) >= 35
    for known in ("journal", "daily_loss", "stale_close", "stop_waiting", "unknown_position"):
        assert known in kinds


def test_every_alert_kind_is_explained_in_the_operations_guide() -> None:
    missing = {k: where for k, where in alert_kinds(ROOT / "condordesk").items()}
    for kind in documented_kinds():
        missing.pop(kind, None)
    assert not missing, f"alert kinds docs/operations.md does not explain: {missing}"
