"""Journal listings for ``condordesk journal``: plain rows (the ``--json`` contract) and a table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from condordesk.domain.orders import OrderRole
from condordesk.domain.prices import money_text
from condordesk.store.journal import Journal

_STOP_ROLES = (OrderRole.STOP_LIMIT, OrderRole.STOP_MARKET)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _money(value: Decimal | None) -> str | None:
    """Money and prices as JSON carries them: two decimals (see ``money_text``)."""
    return None if value is None else money_text(value)


def condor_rows(journal: Journal, day: date | None = None) -> list[dict[str, Any]]:
    """One object per condor: id, state, legs, credit, stop_order_ids, exit_reason,
    commissions, realized_pnl and more. Money and prices as strings with two decimals."""
    rows = []
    for rec in journal.condors(day=day):
        orders = journal.orders(rec.id)
        legs = [
            {
                "expiry": c.expiry.isoformat(),
                "strike": str(c.strike),
                "right": c.right.value,
                "position": rec.condor.position_sign(c) * rec.condor.quantity,
                "symbol": c.symbol,
            }
            for c in rec.condor.contracts
        ]
        rows.append(
            {
                "id": rec.id,
                "day": rec.day.isoformat(),
                "state": rec.state.value,
                "legs": legs,
                "quantity": rec.condor.quantity,
                "target_credit": _money(rec.target_credit),
                "credit": _money(rec.credit),
                "stop_trigger": _money(rec.stop_trigger),
                "stop_limit": _money(rec.stop_limit),
                "stop_backup_trigger": _money(rec.stop_backup),
                "stop_order_ids": [
                    o.order_id for o in orders if o.role in _STOP_ROLES and o.order_id is not None
                ],
                "stop_perm_ids": [
                    o.perm_id for o in orders if o.role in _STOP_ROLES and o.perm_id is not None
                ],
                "entry_order_id": next(
                    (o.order_id for o in orders if o.role is OrderRole.ENTRY), None
                ),
                "opened_ts": _text(rec.opened_ts.isoformat() if rec.opened_ts else None),
                "closed_ts": _text(rec.closed_ts.isoformat() if rec.closed_ts else None),
                "exit_reason": rec.exit_reason.value if rec.exit_reason else None,
                "exit_debit": _money(rec.exit_debit),
                "commissions": money_text(rec.commissions),
                "realized_pnl": _money(rec.realized_pnl),
                "first_trade": rec.first_trade,
                "note": rec.note,
            }
        )
    return rows


_COLUMNS = (
    ("id", "ID"),
    ("state", "STATE"),
    ("legs", "LEGS"),
    ("quantity", "QTY"),
    ("credit", "CREDIT"),
    ("stop_order_ids", "STOP IDS"),
    ("exit_reason", "EXIT"),
    ("commissions", "COMM"),
    ("realized_pnl", "P&L"),
)


def _cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if key == "legs":
        s = {
            leg["right"] + ("-" if leg["position"] < 0 else "+"): leg["strike"]
            for leg in row["legs"]
        }
        return f"{s['P+']}/{s['P-']}P {s['C-']}/{s['C+']}C"
    if key == "stop_order_ids":
        return ",".join(str(v) for v in value) if value else "-"
    return "-" if value is None else str(value)


def render_table(rows: list[dict[str, Any]]) -> str:
    """A fixed-width table, with a total line."""
    if not rows:
        return "no condors journaled"
    cells = [[_cell(r, k) for k, _ in _COLUMNS] for r in rows]
    heads = [h for _, h in _COLUMNS]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    total = sum(
        (Decimal(r["realized_pnl"]) for r in rows if r["realized_pnl"] is not None), Decimal(0)
    )
    comm = sum((Decimal(r["commissions"]) for r in rows), Decimal(0))
    lines.append(f"{len(rows)} condor(s), realized P&L {total:.2f} after {comm:.2f} commissions")
    return "\n".join(lines)
