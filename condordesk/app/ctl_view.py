"""How ``condordesk ctl status`` shows a running engine: a short text report, or plain JSON.

The JSON is the :class:`~condordesk.engine.api.Snapshot` with plain values: every field of the
snapshot (``seq``, ``ts``, ``profile``, ``mode``, ``account``, ``state``, ``paused_reason``,
``connected``, ``spot``, ``day``, ``condors``, ``realized_pnl``, ``unrealized_pnl``,
``open_alerts``, ...) and of each condor view, with prices and money as strings with two
decimals (``"1.20"``, ``"-45.00"``; every decimal of the snapshot is money, a price or SPX
points), times as ISO 8601, and ``engine_pid`` added.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from condordesk.domain.prices import money_text
from condordesk.engine import api

_TAGS = ("$dec", "$dt", "$date")


def _plain(data: Any) -> Any:
    if isinstance(data, list):
        return [_plain(v) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1 and next(iter(data)) in _TAGS:
        tag, value = next(iter(data.items()))
        return money_text(Decimal(value)) if tag == "$dec" else value
    return {k: _plain(v) for k, v in data.items() if k != "type"}


def plain_snapshot(snap: api.Snapshot, *, engine_pid: int) -> dict[str, Any]:
    """The snapshot as plain JSON-ready data (see the module docstring)."""
    out: dict[str, Any] = _plain(api.to_wire(snap))
    out["engine_pid"] = engine_pid
    return out


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def _price(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _condor_line(c: api.CondorView) -> str:
    stop = f"{_price(c.stop_trigger)} {c.stop_state}" if c.stop_trigger is not None else "none"
    pnl = c.realized_pnl if c.state in ("closed", "cancelled") else c.unrealized_pnl
    return (
        f"  {c.id:<14} {c.state:<9} {c.label:<24} x{c.quantity:<3} credit {_price(c.credit):>6}"
        f"  mark {_price(c.mark):>6}  P&L {_money(pnl):>9}  stop {stop}"
    )


def render_status(snap: api.Snapshot, *, engine_pid: int) -> str:
    """A few lines an operator reads at a glance."""
    state = snap.state + (f" (entries paused: {snap.paused_reason})" if snap.paused_reason else "")
    spot = _price(snap.spot)
    lines = [
        f"engine   profile {snap.profile} ({snap.mode}, account {snap.account or '-'}), "
        f"pid {engine_pid}: {state}",
        f"market   SPX {spot} on {snap.day or '-'}; broker "
        + ("connected" if snap.connected else "DISCONNECTED"),
        f"P&L      realized {_money(snap.realized_pnl)}, unrealized {_money(snap.unrealized_pnl)}",
        f"condors  {len(snap.condors)}" + (":" if snap.condors else ""),
    ]
    lines += [_condor_line(c) for c in snap.condors]
    if snap.open_alerts:
        lines.append(f"alerts   {len(snap.open_alerts)} open (acknowledge: ctl ack)")
        lines += [f"  - {a}" for a in snap.open_alerts]
    return "\n".join(lines)
