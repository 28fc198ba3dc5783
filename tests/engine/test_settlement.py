"""Money on the right day, never guessed: cash settlement at the cut-off (also during an exit
flow), an unknown settlement price, late commissions, early-close days."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.broker.sim.fees import CommissionSchedule
from condordesk.domain.condor import CondorState, ExitReason
from condordesk.engine import api
from condordesk.engine.book import LiveCondor
from tests.engine.harness import at, make_profile, run_engine, until

pytestmark = pytest.mark.usefixtures("warm_calendar")

DAY = date(2026, 11, 30)
HOLD = {  # one condor, held to the close: no profit target, no entries after 10:00
    "strategy": {"max_concurrent": 1, "entry_end": "10:00"},
    "risk": {"first_trade_profit_pct": 0, "profit_close_price": 0},
}


async def verified(rt: Runtime) -> LiveCondor:
    """The first condor once its stops are verified."""
    await until(rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values()))
    return next(iter(rt.engine.desk.live.values()))


def test_settlement_during_an_expiry_safety_chase_closes_the_condor_once_without_a_crash(
    tmp_path: Path,
) -> None:
    # an expiry-safety close is resting (it does not fill) when 16:00 comes: the session
    # cancels it and the positions are cash-settled while the exit flow still runs
    flows: list[bool] = []

    async def chase_into_the_close(rt: Runtime) -> None:
        live = await verified(rt)
        await rt.engine.submit(api.CancelStop(condor_id=live.id))  # no stop to fire on the gap
        await rt.clock.sleep_until(at(DAY, "15:59:50"))
        spot = float(await rt.broker.underlying_price())
        rt.broker.gap(float(live.condor.short_put) - 5 - spot)  # type: ignore[attr-defined]
        # a limit the ITM condor never trades at: it rests into the cut-off
        flows.append(await rt.engine.desk.close(live, ExitReason.EXPIRY_SAFETY, Decimal("0.05")))

    out = run_engine(make_profile(**HOLD), tmp_path, chase_into_the_close)

    assert flows == [True]  # the flow ended cleanly, the condor closed
    (closed,) = out.of(api.CondorClosed)
    assert closed.reason == "expired"
    (rec,) = out.runtime.journal.condors()
    assert rec.state is CondorState.CLOSED and rec.exit_reason is ExitReason.EXPIRED
    settled = rec.condor.value_at_expiry(out.runtime.broker._market.settlement_price(DAY))  # type: ignore[attr-defined]
    assert rec.credit is not None and rec.realized_pnl is not None
    assert rec.realized_pnl == (rec.credit - settled) * 100 * rec.condor.quantity - rec.commissions
    assert rec.realized_pnl < 0  # in the money: the settlement cost is booked
    assert not [a for a in out.of(api.AlertRaised) if a.level == "critical"]
    assert out.et(closed.ts) == time(16, 0)


SETTLE_AT_CUTOFF = {  # held into the cut-off: no expiry-safety close before it
    "strategy": HOLD["strategy"],
    "risk": {**HOLD["risk"], "expiry_safety_time": "16:00"},
}


async def in_the_money_at_the_close(rt: Runtime, withhold: bool = True) -> LiveCondor:
    """The first condor, unprotected (stops cancelled) and pushed deep in the money just
    before the cut-off, with the settlement price withheld."""
    live = await verified(rt)
    await rt.engine.submit(api.CancelStop(condor_id=live.id))
    await rt.clock.sleep_until(at(DAY, "15:59:00"))
    spot = float(await rt.broker.underlying_price())
    rt.broker.gap(float(live.condor.short_put) - 5 - spot)  # type: ignore[attr-defined]
    if withhold:
        rt.broker.withhold_settlement()  # type: ignore[attr-defined]
    return live


def expected_pnl(rt: Runtime, day: date) -> Decimal:
    (rec,) = rt.journal.condors(day=day)
    price = rt.broker._market.settlement_price(day)  # type: ignore[attr-defined]
    assert rec.credit is not None
    cost = rec.condor.value_at_expiry(price)
    return (rec.credit - cost) * 100 * rec.condor.quantity - rec.commissions


def test_an_unknown_settlement_price_leaves_the_condor_pending_until_known_then_books_it(
    tmp_path: Path,
) -> None:
    seen: list[tuple[str, str, str | None]] = []

    async def withhold_then_publish(rt: Runtime) -> None:
        live = await in_the_money_at_the_close(rt)
        await until(rt, lambda: live.settlement_pending, step=1.0)
        view = live.view()
        seen.append((view.state, view.stop_state, view.exit_reason))
        await rt.clock.sleep_until(at(DAY, "16:05"))
        assert rt.journal.condors(day=DAY)[0].realized_pnl is None  # nothing guessed meanwhile
        rt.broker.withhold_settlement(False)  # type: ignore[attr-defined]

    out = run_engine(make_profile(**SETTLE_AT_CUTOFF), tmp_path, withhold_then_publish)

    assert seen == [("closing", "settlement pending", "expired")]
    pending = [a for a in out.of(api.AlertRaised) if a.code == "settlement_pending"]
    assert len(pending) == 1 and pending[0].level == "critical"
    (closed,) = out.of(api.CondorClosed)
    assert closed.reason == "expired"
    assert time(16, 5) <= out.et(closed.ts) < time(16, 15)  # retried until the price came
    (rec,) = out.runtime.journal.condors()
    want = expected_pnl(out.runtime, DAY)
    assert want < -300  # in the money: the settlement cost, not the credit, is booked
    assert rec.realized_pnl == closed.realized_pnl == want
    (session_closed,) = out.of(api.SessionClosed)
    assert session_closed.realized_pnl == want
    daily = out.runtime.journal.daily(DAY)
    assert daily is not None and Decimal(daily["realized_pnl"]) == want


def test_a_settlement_found_the_next_morning_is_booked_on_the_expiry_day(tmp_path: Path) -> None:
    # the price is still unknown when the settlement grace ends (as on IB when the official
    # close comes late): the next day's reconciliation finds it and books it on the expiry day
    nxt = date(2026, 12, 1)
    tallies: list[Decimal] = []

    async def publish_next_morning(rt: Runtime) -> None:
        await in_the_money_at_the_close(rt)
        morning = at(nxt, "09:40")  # polled: the engine's hibernation jumps the clock
        await until(rt, lambda: rt.clock.now() >= morning, step=60.0)
        tallies.append(rt.engine._realized_today)
        rt.broker.withhold_settlement(False)  # type: ignore[attr-defined]
        await until(rt, lambda: rt.journal.condors(day=DAY)[0].state is CondorState.CLOSED)
        tallies.append(rt.engine._realized_today)

    profile = make_profile(simulator={"sessions": 2}, **SETTLE_AT_CUTOFF)
    out = run_engine(profile, tmp_path, publish_next_morning)

    assert any(a.code == "unsettled" for a in out.of(api.AlertRaised))
    first, second = out.of(api.SessionClosed)
    assert first.day == DAY and first.realized_pnl == 0  # unknown then: not guessed
    want = expected_pnl(out.runtime, DAY)
    closed = next(c for c in out.of(api.CondorClosed) if c.condor_id.startswith("20261130"))
    assert closed.reason == "expired" and closed.realized_pnl == want < 0
    assert out.runtime.engine.journal.condors(day=DAY)[0].realized_pnl == want
    daily = out.runtime.journal.daily(DAY)
    assert daily is not None and Decimal(daily["realized_pnl"]) == want  # the expiry day's row
    assert tallies == [0, 0]  # the next day's daily-loss tally never saw it
    assert second.day == nxt and second.realized_pnl == sum(
        (r.realized_pnl or 0 for r in out.runtime.journal.condors(day=nxt)), Decimal(0)
    )


def charge_exchange_fees(rt: Runtime) -> None:
    """The broker charges more than the schedule's estimate (exchange fees vary by premium on
    Cboe), so a late report changes the P&L."""
    rt.broker._ledger.commissions = CommissionSchedule(exchange_fee=Decimal("0.60"))  # type: ignore[attr-defined]


def reported(rt: Runtime, condor_id: str) -> Decimal:
    """What the broker charged the condor's executions (its commission reports)."""
    journal = rt.journal
    return sum((f.commission or Decimal(0) for f in journal.fills(condor_id)), Decimal(0))


def test_commissions_reported_after_the_close_update_the_condor_and_the_day(
    tmp_path: Path,
) -> None:
    tallies: list[Decimal] = []
    flags: list[bool] = []  # the history's "estimated" mark, before and after the reports

    async def late_reports(rt: Runtime) -> None:
        rt.broker.hold_commissions()  # type: ignore[attr-defined]
        charge_exchange_fees(rt)
        live = await verified(rt)
        await rt.clock.sleep_until(at(DAY, "11:00"))
        await rt.engine.submit(api.CloseCondor(condor_id=live.id))
        await until(rt, lambda: live.id not in rt.engine.desk.live)
        tallies.append(rt.engine._realized_today)
        flags.append((await rt.engine.history())[0].commissions_estimated)
        rt.broker.hold_commissions(False)  # type: ignore[attr-defined]
        await until(rt, lambda: rt.journal.condors()[0].commissions == reported(rt, live.id))
        tallies.append(rt.engine._realized_today)
        flags.append((await rt.engine.history())[0].commissions_estimated)

    out = run_engine(make_profile(**HOLD), tmp_path, late_reports)

    (closed,) = out.of(api.CondorClosed)
    assert closed.commissions_estimated and closed.commissions > 0  # estimated, never zero
    amended = out.of(api.CondorAmended)  # one per report that came late (8 executions)
    (rec,) = out.runtime.journal.condors()
    assert len(amended) == 8 and [a.commissions_estimated for a in amended] == [True] * 7 + [False]
    assert amended[-1].commissions == rec.commissions == reported(out.runtime, rec.id)
    change = sum((a.change for a in amended), Decimal(0))
    assert change == closed.commissions - rec.commissions != 0
    assert rec.realized_pnl == amended[-1].realized_pnl == closed.realized_pnl + change
    assert tallies == [closed.realized_pnl, rec.realized_pnl]  # the day's tally follows
    assert flags == [True, False]
    (session_closed,) = out.of(api.SessionClosed)
    assert session_closed.realized_pnl == rec.realized_pnl
    assert session_closed.commissions == rec.commissions
    assert out.summary.realized_pnl == rec.realized_pnl  # the run's summary follows too
    assert out.summary.commissions == rec.commissions


def test_a_commission_reported_the_next_day_is_booked_on_the_condors_day(tmp_path: Path) -> None:
    nxt = date(2026, 12, 1)
    tallies: list[Decimal] = []

    async def reports_next_morning(rt: Runtime) -> None:
        rt.broker.hold_commissions()  # type: ignore[attr-defined]
        charge_exchange_fees(rt)
        morning = at(nxt, "09:40")
        await until(rt, lambda: rt.clock.now() >= morning, step=60.0)
        tallies.append(rt.engine._realized_today)
        rt.broker.hold_commissions(False)  # type: ignore[attr-defined]
        await until(rt, lambda: bool(amended(rt)))
        tallies.append(rt.engine._realized_today)

    def amended(rt: Runtime) -> list[api.Event]:
        return [e for e in events if isinstance(e, api.CondorAmended)]

    events: list[api.Event] = []
    profile = make_profile(simulator={"sessions": 2}, **HOLD)
    out = run_engine(profile, tmp_path, lambda rt: _listen(rt, events), reports_next_morning)

    first_close = next(c for c in out.of(api.CondorClosed) if c.day == DAY)
    assert first_close.commissions_estimated and first_close.commissions > 0
    changes = [e for e in out.of(api.CondorAmended) if e.day == DAY]
    (rec,) = out.runtime.journal.condors(day=DAY)
    assert rec.commissions == reported(out.runtime, rec.id) == changes[-1].commissions
    change = sum((e.change for e in changes), Decimal(0))
    assert change != 0 and rec.realized_pnl == first_close.realized_pnl + change
    first, _second = out.of(api.SessionClosed)
    assert first.realized_pnl == first_close.realized_pnl  # booked with the estimate then
    daily = out.runtime.journal.daily(DAY)
    assert daily is not None and Decimal(daily["realized_pnl"]) == rec.realized_pnl
    assert Decimal(daily["commissions"]) == rec.commissions
    assert tallies[0] == tallies[1]  # the next day's tally never saw it


async def _listen(rt: Runtime, sink: list[api.Event]) -> None:
    rt.engine.bus.add_listener(sink.append)


EARLY = date(2026, 11, 27)  # the day after Thanksgiving: expiring SPXW cut off at 13:00 ET
EARLY_DAY = {"start_date": "2026-11-27"}
ONE = {"max_concurrent": 1}  # the entry window of an early close ends at 11:30


def test_on_an_early_close_expiry_safety_starts_at_12_45(tmp_path: Path) -> None:
    async def threatened_at_12_40(rt: Runtime) -> None:
        live = await verified(rt)
        await rt.engine.submit(api.CancelStop(condor_id=live.id))
        await rt.clock.sleep_until(at(EARLY, "12:40"))
        spot = float(await rt.broker.underlying_price())
        rt.broker.gap(float(live.condor.short_put) + 2 - spot)  # type: ignore[attr-defined]

    profile = make_profile(simulator=EARLY_DAY, strategy=ONE, risk=HOLD["risk"])
    out = run_engine(profile, tmp_path, threatened_at_12_40)

    safety = [c for c in out.of(api.CondorClosing) if c.reason == "expiry_safety"]
    assert safety, "the threatened condor is closed by the expiry-safety rule"
    assert time(12, 45) <= out.et(safety[0].ts) < time(12, 46)


def test_on_an_early_close_a_condor_settles_on_the_13_00_print(tmp_path: Path) -> None:
    profile = make_profile(simulator=EARLY_DAY, strategy=ONE, risk=SETTLE_AT_CUTOFF["risk"])
    out = run_engine(profile, tmp_path)

    (closed,) = out.of(api.CondorClosed)
    assert closed.reason == "expired"
    assert out.et(closed.ts) == time(13, 0)
    path = out.runtime.broker._market.path(EARLY)  # type: ignore[attr-defined]
    assert path.time_of(path.last) == at(EARLY, "13:00")  # the print it settled on
    assert closed.realized_pnl == expected_pnl(out.runtime, EARLY)


def test_expired_legs_the_broker_still_lists_after_booking_are_no_unexplained_position(
    tmp_path: Path,
) -> None:
    # IB lists expired options until its overnight processing: a restart at 17:00 on the
    # expiry day must not pause entries over the legs of a condor booked as settled
    from datetime import UTC, datetime

    from condordesk.domain.condor import IronCondor
    from condordesk.domain.orders import Position
    from condordesk.engine.reconcile import BrokerView, analyze
    from condordesk.store.journal import CondorRecord, Journal

    journal = Journal(tmp_path / "j.sqlite3")
    condor = IronCondor(DAY, Decimal(5900), Decimal(5910), Decimal(6090), Decimal(6100))
    opened = datetime(2026, 11, 30, 15, tzinfo=UTC)
    journal.insert_condor(CondorRecord("c1", DAY, condor, CondorState.OPEN, opened, Decimal("1")))
    journal.update_condor("c1", state=CondorState.CLOSED, exit_reason=ExitReason.EXPIRED)
    held = [Position(c, condor.position_sign(c)) for c in condor.contracts]
    stranger = IronCondor(DAY, Decimal(5800), Decimal(5810), Decimal(6190), Decimal(6200))
    extra = Position(stranger.contracts[0], 1)

    plan = analyze(journal, BrokerView.of(held, [], []), DAY, {})
    assert plan.unexplained == []
    assert {f.code for f in plan.findings} == {"expired_position"}
    plan = analyze(journal, BrokerView.of([*held, extra], [], []), DAY, {})
    assert [f.code for f in plan.unexplained] == ["unknown_position"]  # others still count


def test_a_condor_the_broker_still_holds_is_never_settled_on_a_price_alone(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from condordesk.domain.condor import IronCondor
    from condordesk.domain.orders import Execution, OrderAction, Position
    from condordesk.engine.reconcile import BrokerView, CloseCondorRecord, analyze
    from condordesk.store.journal import CondorRecord, Journal

    journal = Journal(tmp_path / "j.sqlite3")
    condor = IronCondor(DAY, Decimal(5900), Decimal(5910), Decimal(6090), Decimal(6100))
    opened = datetime(2026, 11, 30, 15, tzinfo=UTC)
    journal.insert_condor(CondorRecord("c1", DAY, condor, CondorState.OPEN, opened, Decimal("1")))
    for n, c in enumerate(condor.contracts):  # its entry filled
        side = OrderAction.BUY if condor.position_sign(c) > 0 else OrderAction.SELL
        fill = Execution(f"e{n}", 1, 1, "cd:c1:entry", c, side, 1, Decimal("0.50"), opened)
        journal.record_fill(fill, "c1")
    held = [Position(c, condor.position_sign(c)) for c in condor.contracts]
    view = BrokerView.of(held, [], [])

    # the reconcile command reads the daily bar on the local clock: with a wrong one (or a
    # test's simulated broker) "today's close" is the moving bar of a session still open
    for today in (DAY, date(2026, 12, 1)):
        plan = analyze(journal, view, today, {DAY: Decimal("5905")})
        assert not [a for a in plan.actions if isinstance(a, CloseCondorRecord)]
        assert plan.unexplained == []
