"""Money on the right day, never guessed: cash settlement of expired condors, and
commission reports that come after a condor closed.

An expired condor is booked with the value its options settled at (the S&P 500 print at the
cut-off of its expiry day). When that price is not known yet (IB publishes the official close
some time after the cut-off; the simulator can withhold it), the condor is *settlement
pending*: it stays closing with exit reason ``expired``, a critical alert says so, and nothing
is booked. The engine asks again (every tick to the end of the settlement grace, then at each
reconciliation) until the price is known, then books the condor on its expiry day: the P&L
lands in that day's figures (its daily row is rewritten by :func:`book_day`; the engine's
tally of today only counts today's condors), never in the day it was noticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from loguru import logger

from condordesk.domain.condor import CondorState, ExitReason
from condordesk.engine import api
from condordesk.engine.book import LiveCondor, commissions_of
from condordesk.engine.ports import DeskForMoney
from condordesk.errors import BrokerError
from condordesk.store.journal import Journal

_D0 = Decimal(0)
_HELD = (CondorState.OPEN, CondorState.CLOSING)


def settle(desk: DeskForMoney, live: LiveCondor, price: Decimal | None) -> bool:
    """Close an expired condor at settlement ``price`` (SPX), or mark it settlement pending.

    Args:
        desk: the order desk that owns ``live``.
        live: a condor whose options have expired.
        price: the SPX settlement value, or None when it is not known (yet).

    Returns:
        True when the condor is closed (now or before); False while it waits for the price
        (or for its running exit flow to end first).
    """
    if live.state not in _HELD:
        return live.state is CondorState.CLOSED
    if price is not None:
        value = live.condor.value_at_expiry(price)
        desk.finish(live, ExitReason.EXPIRED, settlement=value, note=f"settled at SPX {price}")
        return True
    if live.settlement_pending or live.exiting:
        return False  # flagged already, or its exit flow ends first (then asked again)
    note = f"settlement pending: the SPX settlement value of {live.condor.expiry} is not known"
    live.close_reason = ExitReason.EXPIRED
    live.unrealized = None  # its mark is the expiry day's: never in another day's tally
    if live.state is CondorState.OPEN:
        desk.set_state(live, CondorState.CLOSING, exit_reason=ExitReason.EXPIRED, note=note)
    else:
        desk.journal.update_condor(live.id, exit_reason=ExitReason.EXPIRED, note=note)
    desk.alert(
        "critical",
        "settlement_pending",
        f"condor {live.id} expired {live.condor.expiry} but its settlement price is not known: "
        "nothing booked yet (never guessed); asking the broker again until it is",
    )
    return False


async def settle_expired(desk: DeskForMoney, through: date, cutoff: datetime | None = None) -> int:
    """Settle every live condor expiring on or before ``through`` that still holds options,
    asking the broker for each expiry's settlement price once.

    Call it after ``cutoff``, the cut-off of ``through`` (before it the broker answers None for
    that expiry and the condors would be flagged pending for nothing).

    Returns:
        How many such condors are still live (pending, or with an exit flow still running).
    """
    expired = [lc for lc in desk.live.values() if lc.condor.expiry <= through and lc.state in _HELD]
    prices: dict[date, Decimal | None] = {}
    left = 0
    for live in expired:
        expiry = live.condor.expiry
        if expiry not in prices:
            prices[expiry] = await _price(desk, expiry, cutoff if expiry == through else None)
        if not settle(desk, live, prices[expiry]):
            left += 1
    return left


async def _price(desk: DeskForMoney, expiry: date, cutoff: datetime | None) -> Decimal | None:
    try:
        return await desk.broker.settlement_price(expiry, cutoff)
    except BrokerError as exc:
        logger.warning("settlement price of {} not available: {}", expiry, exc)
        return None


@dataclass(frozen=True, slots=True)
class DayFigures:
    """A trading day's money, from the journal's condors of that day."""

    day: date
    realized_pnl: Decimal
    commissions: Decimal
    condors_opened: int
    condors_closed: int


def day_figures(journal: Journal, day: date) -> DayFigures:
    """The figures of trading day ``day`` as the journal has them now."""
    rows = journal.condors(day=day)
    return DayFigures(
        day=day,
        realized_pnl=sum((r.realized_pnl or _D0 for r in rows), _D0),
        commissions=sum((r.commissions for r in rows), _D0),
        condors_opened=sum(1 for r in rows if r.opened_ts is not None),
        condors_closed=sum(1 for r in rows if r.state is CondorState.CLOSED),
    )


def book_day(journal: Journal, day: date) -> DayFigures:
    """Write (or rewrite) the daily row of ``day`` from its condors; returns its figures.

    A condor settled or charged late is booked on its own day by calling this again."""
    figures = day_figures(journal, day)
    journal.save_daily(
        day,
        realized_pnl=figures.realized_pnl,
        commissions=figures.commissions,
        condors_opened=figures.condors_opened,
        condors_closed=figures.condors_closed,
    )
    return figures


def amend_commissions(desk: DeskForMoney, exec_id: str) -> None:
    """A commission report was journaled: if its condor is already closed, its commissions
    and realized P&L are recomputed (the report replaces the estimate it was closed with) and
    a :class:`~condordesk.engine.api.CondorAmended` tells the engine and consoles, which book
    the change on the condor's own day."""
    condor_id = desk.journal.fill_condor(exec_id)
    if condor_id is None or condor_id in desk.live:
        return  # a live condor's P&L is computed at its close, from every report by then
    rec = desk.journal.condor(condor_id)
    if rec is None or rec.state is not CondorState.CLOSED or rec.realized_pnl is None:
        return
    commissions, estimated = commissions_of(desk.journal.fills(condor_id))
    change = rec.commissions - commissions
    if not change:
        return
    pnl = rec.realized_pnl + change
    desk.journal.update_condor(condor_id, commissions=commissions, realized_pnl=pnl)
    desk.bus.publish(
        api.CondorAmended(
            condor_id=condor_id,
            day=rec.day,
            commissions=commissions,
            realized_pnl=pnl,
            change=change,
            commissions_estimated=estimated,
        )
    )
    logger.info("{}: late commission report, commissions {} P&L {}", condor_id, commissions, pnl)
