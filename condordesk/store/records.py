"""The journal's records (what a row of each table means) and how a row becomes one.

A row read again unchanged is not parsed again: :class:`RowCache` keeps the records parsed
from rows by the rows' content (every column), so a periodic reconciliation that reads the
same open condors, working orders and fills every few minutes parses each only once. A row
that changed has other content, so it is parsed afresh: nothing is ever served stale.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from condordesk.domain.condor import CondorState, ExitReason, IronCondor
from condordesk.domain.options import OptionContract
from condordesk.domain.orders import Execution, OrderAction, OrderRequest, OrderRole, OrderStatus
from condordesk.store.serial import request_from_json

_D0 = Decimal(0)
_T = TypeVar("_T")
ROW_CACHE_MAX = 4096
"""Most parsed rows a :class:`RowCache` keeps (then it starts again empty)."""


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class CondorRecord:
    """A condor as journaled."""

    id: str
    day: date
    condor: IronCondor
    state: CondorState
    created_ts: datetime
    target_credit: Decimal
    credit: Decimal | None = None
    opened_ts: datetime | None = None
    closed_ts: datetime | None = None
    exit_reason: ExitReason | None = None
    exit_debit: Decimal | None = None
    commissions: Decimal = _D0
    realized_pnl: Decimal | None = None
    first_trade: bool = False
    profit_target: Decimal | None = None
    stop_trigger: Decimal | None = None
    stop_limit: Decimal | None = None
    stop_backup: Decimal | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order intent and what became of it."""

    order_ref: str
    condor_id: str
    role: OrderRole
    request: OrderRequest
    status: str  # "intent" until the broker acknowledged it, then an OrderStatus value
    created_ts: datetime
    order_id: int | None = None
    perm_id: int | None = None
    filled: int = 0
    avg_price: Decimal | None = None
    reason: str = ""
    updated_ts: datetime | None = None

    @property
    def working(self) -> bool:
        """True while the order may still be live at the broker."""
        return self.status in ("intent", OrderStatus.PENDING, OrderStatus.WORKING)


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One leg execution."""

    exec_id: str
    order_ref: str
    condor_id: str | None
    execution: Execution
    commission: Decimal | None


@dataclass(frozen=True, slots=True)
class StopRecord:
    """One OCA stop pair of a condor."""

    condor_id: str
    oca_group: str
    limit_ref: str
    market_ref: str
    trigger: Decimal
    limit_price: Decimal
    backup_trigger: Decimal
    state: str  # placed | verified | triggered | cancelled
    placed_ts: datetime


class RowCache(Generic[_T]):
    """Records parsed from rows, by the rows' content: an unchanged row is parsed once.

    Args:
        parse: turns a row into its record (the row's values are the cache key, so ``parse``
            must depend on nothing else).
        limit: most records kept; past it the cache starts again empty.
    """

    def __init__(self, parse: Callable[[sqlite3.Row], _T], limit: int = ROW_CACHE_MAX) -> None:
        self._parse = parse
        self._limit = limit
        self._seen: dict[tuple[Any, ...], _T] = {}

    def __call__(self, row: sqlite3.Row) -> _T:
        """The record of ``row`` (parsed now unless a row with the same content was)."""
        key = tuple(row)
        rec = self._seen.get(key)
        if rec is None:
            if len(self._seen) >= self._limit:
                self._seen.clear()
            rec = self._seen[key] = self._parse(row)
        return rec


def condor_from_row(r: sqlite3.Row) -> CondorRecord:
    """A ``condors`` row as its record."""
    condor = IronCondor(
        date.fromisoformat(r["expiry"]),
        Decimal(r["long_put"]),
        Decimal(r["short_put"]),
        Decimal(r["short_call"]),
        Decimal(r["long_call"]),
        r["quantity"],
    )
    return CondorRecord(
        id=r["id"],
        day=date.fromisoformat(r["day"]),
        condor=condor,
        state=CondorState(r["state"]),
        created_ts=datetime.fromisoformat(r["created_ts"]),
        target_credit=Decimal(r["target_credit"]),
        credit=_dec(r["credit"]),
        opened_ts=_ts(r["opened_ts"]),
        closed_ts=_ts(r["closed_ts"]),
        exit_reason=None if r["exit_reason"] is None else ExitReason(r["exit_reason"]),
        exit_debit=_dec(r["exit_debit"]),
        commissions=Decimal(r["commissions"]),
        realized_pnl=_dec(r["realized_pnl"]),
        first_trade=bool(r["first_trade"]),
        profit_target=_dec(r["profit_target"]),
        stop_trigger=_dec(r["stop_trigger"]),
        stop_limit=_dec(r["stop_limit"]),
        stop_backup=_dec(r["stop_backup"]),
        note=r["note"],
    )


def order_from_row(r: sqlite3.Row) -> OrderRecord:
    """An ``orders`` row as its record."""
    return OrderRecord(
        order_ref=r["order_ref"],
        condor_id=r["condor_id"],
        role=OrderRole(r["role"]),
        request=request_from_json(json.loads(r["request"])),
        status=r["status"],
        created_ts=datetime.fromisoformat(r["created_ts"]),
        order_id=r["order_id"],
        perm_id=r["perm_id"],
        filled=r["filled"],
        avg_price=_dec(r["avg_price"]),
        reason=r["reason"],
        updated_ts=_ts(r["updated_ts"]),
    )


def fill_from_row(r: sqlite3.Row) -> FillRecord:
    """A ``fills`` row as its record."""
    execution = Execution(
        exec_id=r["exec_id"],
        order_id=r["order_id"],
        perm_id=r["perm_id"],
        order_ref=r["order_ref"],
        contract=OptionContract.from_json(json.loads(r["contract"])),
        side=OrderAction(r["side"]),
        quantity=r["quantity"],
        price=Decimal(r["price"]),
        ts=datetime.fromisoformat(r["ts"]),
    )
    return FillRecord(
        r["exec_id"], r["order_ref"], r["condor_id"], execution, _dec(r["commission"])
    )


def stop_from_row(r: sqlite3.Row) -> StopRecord:
    """A ``stops`` row as its record."""
    return StopRecord(
        r["condor_id"],
        r["oca_group"],
        r["limit_ref"],
        r["market_ref"],
        Decimal(r["trigger"]),
        Decimal(r["limit_price"]),
        Decimal(r["backup_trigger"]),
        r["state"],
        datetime.fromisoformat(r["placed_ts"]),
    )
