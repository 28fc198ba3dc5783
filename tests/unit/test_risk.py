"""Risk rules: stops, profit target, first-trade rule, expiry safety, loss limit, entry gate."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from condordesk.domain.condor import IronCondor
from condordesk.market.clock import ET
from condordesk.risk.rules import (
    EntryContext,
    RiskRules,
    daily_loss_breached,
    entry_blocker,
    expiry_danger,
    profit_target,
    stop_plan,
)

D = Decimal
DAY = date(2026, 11, 23)  # a Monday, regular session
EARLY_DAY = date(2026, 11, 27)  # the day after Thanksgiving: expiring options cut off at 13:00


def et(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ET)


CLOSE = et(16)
EARLY_CLOSE = et(13, 0, day=EARLY_DAY)

RULES = RiskRules(
    stop_multiple=2.0,
    stop_limit_offset=D("0.50"),
    stop_market_offset=D("0.30"),
    profit_close_price=D("0.05"),
    first_trade_profit_pct=50.0,
    first_trade_window=timedelta(minutes=60),
    expiry_safety_time=time(15, 45),
    itm_buffer_points=D(5),
    daily_max_loss=D(1500),
)

CONDOR = IronCondor(DAY, D(5940), D(5950), D(6050), D(6060))
EARLY_CONDOR = replace(CONDOR, expiry=EARLY_DAY)


# --- stop plan ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credit", "multiple", "trigger"),
    [
        (D("1.20"), 2.0, D("2.40")),  # already on a tick
        (D("1.23"), 2.0, D("2.50")),  # 2.46 rounds UP, never down to 2.45
        (D("1.21"), 2.0, D("2.45")),  # 2.42 rounds up to 2.45
        (D("1.00"), 2.5, D("2.50")),
        (D("1.10"), 1.5, D("1.65")),
        (D("1.11"), 1.5, D("1.70")),  # 1.665
        (D("0.95"), 3.0, D("2.85")),
    ],
)
def test_stop_trigger_is_credit_times_multiple_rounded_up(
    credit: Decimal, multiple: float, trigger: Decimal
) -> None:
    plan = stop_plan(credit, replace(RULES, stop_multiple=multiple))
    assert plan.trigger == trigger
    assert plan.trigger >= credit * D(str(multiple))


def test_stop_limit_and_backup_sit_above_the_trigger_by_their_offsets() -> None:
    plan = stop_plan(D("1.23"), RULES)
    assert plan.trigger == D("2.50")
    assert plan.limit == D("3.00")  # trigger + 0.50
    assert plan.backup_trigger == D("2.80")  # trigger + 0.30
    assert plan.backup_trigger > plan.trigger  # the backup fires only if the primary missed
    assert all(p % D("0.05") == 0 for p in (plan.trigger, plan.limit, plan.backup_trigger))


def test_stop_prices_are_on_the_grid_and_never_above_the_condor_s_maximum_value() -> None:
    capped = stop_plan(D("4.00"), replace(RULES, stop_multiple=3.0), max_value=D("10"))
    assert (capped.trigger, capped.limit, capped.backup_trigger) == (D("10"), D("10"), D("10"))
    near = stop_plan(D("1.00"), RULES, trigger=D("9.60"), max_value=D("10"))
    assert (near.trigger, near.limit, near.backup_trigger) == (D("9.60"), D("10"), D("9.90"))
    off_grid = stop_plan(D("1.00"), replace(RULES, stop_limit_offset=D("0.03")), trigger=D("2.40"))
    assert off_grid.limit == D("2.45")  # never an off-tick price, even from a bad offset
    assert all(p % D("0.05") == 0 for p in (near.trigger, near.limit, near.backup_trigger))


# --- profit target ------------------------------------------------------------------------------

OPENED = et(10, 0)


def target(credit: str, *, first: bool, after: timedelta, rules: RiskRules = RULES) -> Decimal:
    return profit_target(
        D(credit), first_trade=first, opened=OPENED, now=OPENED + after, rules=rules
    )


def test_profit_target_is_the_close_price_normally() -> None:
    assert target("1.40", first=False, after=timedelta(minutes=5)) == D("0.05")


def test_first_trade_inside_the_window_takes_the_percentage() -> None:
    assert target("1.40", first=True, after=timedelta(minutes=5)) == D("0.70")
    assert target("1.40", first=True, after=timedelta(minutes=60)) == D("0.70")  # window edge


def test_first_trade_target_rounds_down() -> None:
    # 1.35 x 50% = 0.675: buy back at 0.65 (more profit), not 0.70
    assert target("1.35", first=True, after=timedelta(0)) == D("0.65")
    pct_30 = replace(RULES, first_trade_profit_pct=30.0)
    assert target("1.33", first=True, after=timedelta(0), rules=pct_30) == D("0.90")  # 0.931


def test_first_trade_target_never_below_the_close_price() -> None:
    pct_98 = replace(RULES, first_trade_profit_pct=98.0)
    assert target("1.20", first=True, after=timedelta(0), rules=pct_98) == D("0.05")  # 0.024


def test_first_trade_after_the_window_falls_back_to_the_close_price() -> None:
    after = timedelta(minutes=60, seconds=1)
    assert target("1.40", first=True, after=after) == D("0.05")


def test_first_trade_rule_off_with_zero_percent() -> None:
    off = replace(RULES, first_trade_profit_pct=0.0)
    assert target("1.40", first=True, after=timedelta(0), rules=off) == D("0.05")


# --- expiry safety ------------------------------------------------------------------------------


def danger(spot: str, now: datetime, close: datetime = CLOSE) -> str | None:
    condor = CONDOR if now.date() == DAY else EARLY_CONDOR
    return expiry_danger(condor, D(spot), now, close, RULES)


@pytest.mark.parametrize("spot", ["5930", "5950", "5955", "6045", "6050", "6070"])
def test_before_the_safety_time_nothing_is_dangerous(spot: str) -> None:
    assert danger(spot, et(15, 44, 59)) is None


@pytest.mark.parametrize(
    ("spot", "strike"),
    [
        ("5955", "5950"),  # exactly at the buffer above the short put
        ("5952.30", "5950"),
        ("5950", "5950"),  # at the strike
        ("5930", "5950"),  # in the money
        ("6045", "6050"),  # exactly at the buffer below the short call
        ("6049.99", "6050"),
        ("6075", "6050"),  # in the money
    ],
)
def test_after_the_safety_time_a_threatened_short_is_a_reason_to_close(
    spot: str, strike: str
) -> None:
    for now in (et(15, 45), et(15, 55)):
        reason = danger(spot, now)
        assert reason is not None
        assert strike in reason


@pytest.mark.parametrize("spot", ["5955.01", "6000", "6044.99"])
def test_after_the_safety_time_a_safe_condor_is_left_alone(spot: str) -> None:
    assert danger(spot, et(15, 50)) is None


def test_early_close_moves_the_safety_time_by_the_same_lead() -> None:
    # 15:45 on a 16:00 cut-off is 15 minutes before it: 12:45 on a 13:00 cut-off
    assert danger("5950", et(12, 44, 59, day=EARLY_DAY), EARLY_CLOSE) is None
    assert danger("5950", et(12, 45, day=EARLY_DAY), EARLY_CLOSE) is not None
    assert danger("6000", et(12, 50, day=EARLY_DAY), EARLY_CLOSE) is None


def test_each_safety_time_keeps_its_own_lead_asked_in_any_order() -> None:
    later = replace(RULES, expiry_safety_time=time(15, 55))
    earlier = replace(RULES, expiry_safety_time=time(15, 30))
    seen = [
        expiry_danger(CONDOR, D("5950"), et(15, 40), CLOSE, rules)
        for rules in (later, earlier, later, RULES, earlier)
    ]
    assert [reason is not None for reason in seen] == [False, True, False, False, True]
    # on an early close each keeps its distance from the cut-off too
    assert expiry_danger(EARLY_CONDOR, D("5950"), et(12, 40, day=EARLY_DAY), EARLY_CLOSE, earlier)
    assert not expiry_danger(EARLY_CONDOR, D("5950"), et(12, 40, day=EARLY_DAY), EARLY_CLOSE, later)


# --- daily loss ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("realized", "unrealized", "breached"),
    [
        ("0", "0", False),
        ("-1499.99", "0", False),
        ("-1500", "0", True),  # at the limit
        ("-1600", "0", True),
        ("-900", "-599.99", False),
        ("-900", "-600", True),  # open losses count
        ("200", "-1700", True),
        ("-1800", "400", False),  # open gains offset realized losses
    ],
)
def test_daily_loss_limit_counts_realized_and_unrealized(
    realized: str, unrealized: str, breached: bool
) -> None:
    assert daily_loss_breached(D(realized), D(unrealized), RULES) is breached


# --- entry gate ---------------------------------------------------------------------------------

CLEAR = EntryContext(
    now_et=et(11, 0),
    entry_start=time(9, 45),
    entry_end=time(14, 30),
    session_close_et=CLOSE,
    paused_reason=None,
    connected=True,
    live_condors=1,
    max_concurrent=2,
    last_entry=et(10, 0),
    reentry_interval=timedelta(minutes=30),
)


def blocker(**changes: object) -> str | None:
    return entry_blocker(replace(CLEAR, **changes))  # type: ignore[arg-type]


def test_entries_allowed_when_all_clear() -> None:
    assert entry_blocker(CLEAR) is None
    assert blocker(last_entry=None, live_condors=0) is None
    assert blocker(now_et=et(9, 45), last_entry=None) is None  # the window opens at start
    assert blocker(now_et=et(10, 30)) is None  # exactly one re-entry interval later


def test_paused_blocks_entries() -> None:
    reason = blocker(paused_reason="daily loss limit")
    assert reason is not None
    assert "paused" in reason
    assert "daily loss limit" in reason


def test_disconnected_blocks_entries() -> None:
    reason = blocker(connected=False)
    assert reason is not None
    assert "disconnected" in reason


@pytest.mark.parametrize(
    "now",
    [et(9, 30), et(9, 44, 59), et(14, 30), et(15, 0), et(16, 0), et(17, 0)],
    ids=["open", "before-start", "at-end", "after-end", "at-close", "after-close"],
)
def test_outside_the_entry_window_blocks_entries(now: datetime) -> None:
    reason = blocker(now_et=now, last_entry=None)
    assert reason is not None
    assert "window" in reason


def test_an_early_close_ends_entries_even_inside_the_configured_window() -> None:
    early = replace(CLEAR, session_close_et=EARLY_CLOSE, last_entry=None)
    assert entry_blocker(replace(early, now_et=et(12, 59, 59, day=EARLY_DAY))) is None
    for now in (et(13, 0, day=EARLY_DAY), et(14, 0, day=EARLY_DAY)):
        reason = entry_blocker(replace(early, now_et=now))
        assert reason is not None
        assert "window" in reason


@pytest.mark.parametrize("live", [2, 3])
def test_max_concurrent_condors_blocks_entries(live: int) -> None:
    reason = blocker(live_condors=live)
    assert reason is not None
    assert "max concurrent" in reason


def test_reentry_interval_blocks_entries() -> None:
    reason = blocker(now_et=et(10, 29, 59))
    assert reason is not None
    assert "re-entry" in reason


def test_blockers_are_checked_in_order_of_severity() -> None:
    # paused and disconnected are what an operator must see first, even outside the window
    everything = {
        "paused_reason": "operator",
        "connected": False,
        "now_et": et(17, 0),
        "live_condors": 5,
    }
    first = blocker(**everything)
    assert first is not None
    assert "paused" in first
    second = blocker(**{**everything, "paused_reason": None})
    assert second is not None
    assert "disconnected" in second
