"""Update a DataTable in place: changed cells only, so live data never flickers and the
cursor stays where the operator put it."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

Cells = tuple[Text | str, ...]


def _width(cell: Text | str) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def sync_rows(
    table: DataTable[Text | str], rows: Sequence[tuple[str, Cells]], cache: dict[str, Cells]
) -> None:
    """Make ``table`` show ``rows`` (key, cells): remove rows gone, add new ones at the end,
    update only the cells that changed. ``cache`` holds what the table shows (per table)."""
    columns = list(table.columns)
    wanted = {key for key, _ in rows}
    for key in [k for k in cache if k not in wanted]:
        table.remove_row(key)
        del cache[key]
    for key, cells in rows:
        old = cache.get(key)
        if old is None:
            table.add_row(*cells, key=key)
        elif old != cells:
            for col, (before, after) in enumerate(zip(old, cells, strict=True)):
                if before != after:  # re-measure the column only for a wider cell
                    wider = _width(after) > _width(before)
                    table.update_cell(key, columns[col], after, update_width=wider)
        cache[key] = cells
