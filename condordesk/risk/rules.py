"""Risk rules as pure functions of plain values.

Prices are combo prices per unit in points (1.00 = $100); "debit" is what buying the condor
back costs now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from condordesk.domain.condor import IronCondor
from condordesk.domain.prices import COMBO_TICK, round_to_tick

_REGULAR_CLOSE = time(16, 0)
_LEADS: dict[time, timedelta] = {}
"""How long before 16:00 each expiry safety time is (checked every cycle per condor)."""


@dataclass(frozen=True, slots=True)
class RiskRules:
    """The risk table of a profile, as plain values."""

    stop_multiple: float
    stop_limit_offset: Decimal
    stop_market_offset: Decimal
    profit_close_price: Decimal
    first_trade_profit_pct: float
    first_trade_window: timedelta
    expiry_safety_time: time
    itm_buffer_points: Decimal
    daily_max_loss: Decimal


@dataclass(frozen=True, slots=True)
class StopPlan:
    """The OCA stop pair for a condor: stop-limit primary, backup (higher; a stop-limit whose
    limit is the condor's wing width, :func:`condordesk.domain.combo.stop_orders`)."""

    trigger: Decimal
    limit: Decimal
    backup_trigger: Decimal


def stop_plan(
    credit: Decimal,
    rules: RiskRules,
    *,
    trigger: Decimal | None = None,
    max_value: Decimal | None = None,
) -> StopPlan:
    """Stops from the entry credit: trigger at credit x multiple (combo ticks, rounded up),
    or at ``trigger`` if given; the stop-limit's limit ``stop_limit_offset`` above it; the
    backup triggers ``stop_market_offset`` above the trigger, so it only fires
    when the primary did not fill. Every price is on the combo tick grid and, given the
    condor's ``max_value`` (its wider wing), at most that: a condor is never worth more."""
    base = credit * Decimal(repr(rules.stop_multiple)) if trigger is None else trigger

    def price(value: Decimal) -> Decimal:
        on_grid = round_to_tick(value, COMBO_TICK, "up")
        return on_grid if max_value is None else min(on_grid, max_value)

    first = price(base)
    return StopPlan(
        trigger=first,
        limit=price(first + rules.stop_limit_offset),
        backup_trigger=price(first + rules.stop_market_offset),
    )


def profit_target(
    credit: Decimal, *, first_trade: bool, opened: datetime, now: datetime, rules: RiskRules
) -> Decimal:
    """The debit at or below which the condor is bought back.

    The first condor of the day takes ``first_trade_profit_pct`` of its credit if that is
    reached within ``first_trade_window`` of its entry; otherwise the target is the
    ``profit_close_price`` (0.05: the condor is nearly worthless)."""
    floor = rules.profit_close_price
    if (
        first_trade
        and rules.first_trade_profit_pct > 0
        and now - opened <= rules.first_trade_window
    ):
        keep = credit * (1 - Decimal(repr(rules.first_trade_profit_pct)) / 100)
        return max(round_to_tick(keep, COMBO_TICK, "down"), floor)
    return floor


def expiry_danger(
    condor: IronCondor,
    spot: Decimal,
    now_et: datetime,
    cutoff_et: datetime,
    rules: RiskRules,
) -> str | None:
    """Near the cut-off, a short strike in the money or within the buffer: why to close, or
    None.

    ``cutoff_et`` is when the condor's options stop trading (the equity close that sets their
    settlement: 16:00 ET, 13:00 ET on an early-close day; see
    :attr:`~condordesk.market.calendar.Session.cutoff`). The safety time keeps its distance
    from the 16:00 cut-off on every day: 15:45 on a regular day is 12:45 on an early close."""
    lead = _LEADS.get(rules.expiry_safety_time)
    if lead is None:  # the same on every day (wall-clock times): worked out once
        day = now_et.date()
        lead = datetime.combine(day, _REGULAR_CLOSE) - datetime.combine(
            day, rules.expiry_safety_time
        )
        _LEADS[rules.expiry_safety_time] = lead
    if now_et < cutoff_et - lead:
        return None
    buffer = rules.itm_buffer_points
    if spot <= condor.short_put + buffer:
        return f"SPX {spot} within {buffer} of short put {condor.short_put}"
    if spot >= condor.short_call - buffer:
        return f"SPX {spot} within {buffer} of short call {condor.short_call}"
    return None


def daily_loss_breached(realized: Decimal, unrealized: Decimal, rules: RiskRules) -> bool:
    """True when today's P&L (dollars, realized plus open marks) is at or below -max loss."""
    return realized + unrealized <= -rules.daily_max_loss


@dataclass(frozen=True, slots=True)
class EntryContext:
    """What the entry gate looks at."""

    now_et: datetime
    entry_start: time
    entry_end: time
    session_close_et: datetime
    paused_reason: str | None
    connected: bool
    live_condors: int
    max_concurrent: int
    last_entry: datetime | None
    reentry_interval: timedelta


def entry_blocker(ctx: EntryContext) -> str | None:
    """Why a new condor may not be opened now, or None when entries are allowed."""
    if ctx.paused_reason:
        return f"entries paused: {ctx.paused_reason}"
    if not ctx.connected:
        return "broker disconnected"
    t = ctx.now_et.timetz().replace(tzinfo=None)
    if t < ctx.entry_start or t >= ctx.entry_end or ctx.now_et >= ctx.session_close_et:
        return "outside entry window"
    if ctx.live_condors >= ctx.max_concurrent:
        return f"max concurrent condors ({ctx.max_concurrent}) reached"
    if ctx.last_entry is not None and ctx.now_et - ctx.last_entry < ctx.reentry_interval:
        return "re-entry interval not elapsed"
    return None
