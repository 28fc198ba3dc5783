"""Issue 12, the verifier's checks, seen only through commands, orders and the journal (no
engine internals that came with the fixes), so the same tests run on the code before the fixes
(6331cbb) and fail there: the daily max loss holds through an operator's resume or
acknowledgement; the account, not the profile's word, decides whether real money trades; an
unknown settlement price is never booked."""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from condordesk.app.bootstrap import Runtime, build_sim
from condordesk.broker.sim import SimBroker
from condordesk.broker.sim.market import SimMarket
from condordesk.engine import api
from condordesk.engine.service import Engine
from condordesk.errors import NotConnected
from condordesk.market.vtime import run_virtual
from tests.engine.harness import at, make_profile, run_engine, until

pytestmark = pytest.mark.usefixtures("warm_calendar")

# Room for more condors (max_concurrent 3): only the daily max loss keeps entries paused.
TINY_LIMIT = make_profile(
    strategy={"max_concurrent": 3},
    risk={"daily_max_loss": "0.01", "first_trade_profit_pct": 0, "profit_close_price": 0},
)
RECONCILE_REASON = "reconcile: 1 unexplained finding(s); acknowledge to resume"


def _reconcile_pause(rt: Runtime) -> None:
    """A reconciliation pauses entries (the engine's own way, before or after the fix)."""
    engine = rt.engine
    if hasattr(engine, "add_pause"):
        engine.add_pause("reconcile", RECONCILE_REASON, "engine")
    else:  # the code before the fix: one reason, overwritten
        getattr(engine, "set_paused")(RECONCILE_REASON, "engine")  # noqa: B009


def _entries_after(out_events: list[api.Event], when: datetime) -> list[api.OrderSubmitted]:
    return [
        e
        for e in out_events
        if isinstance(e, api.OrderSubmitted) and e.role == "entry" and e.ts and e.ts >= when
    ]


def _loss_alerted(events: list[api.Event]) -> bool:
    return any(isinstance(e, api.AlertRaised) and e.code == "daily_loss" for e in events)


@pytest.mark.parametrize("command", ["resume", "telegram-resume"])
def test_a_resume_after_the_daily_max_loss_opens_no_new_condor_that_day(
    tmp_path: Path, command: str
) -> None:
    seen: list[api.Event] = []
    resumed_at: list[datetime] = []

    async def operator(rt: Runtime) -> None:
        rt.engine.bus.add_listener(seen.append)
        await until(rt, lambda: _loss_alerted(seen))
        resume = api.ResumeEntries(origin="telegram" if command == "telegram-resume" else "cli")
        ack = await rt.engine.submit(resume)
        assert ack.accepted  # accepted, and it says the limit stays (new code)
        resumed_at.append(rt.clock.now())

    out = run_engine(TINY_LIMIT, tmp_path, operator)
    assert resumed_at, "the daily max loss was never reached"
    assert _entries_after(out.events, resumed_at[0]) == []
    assert out.of(api.EntriesResumed) == []


def test_acknowledging_a_reconcile_alert_after_the_daily_max_loss_opens_no_new_condor(
    tmp_path: Path,
) -> None:
    seen: list[api.Event] = []
    acked_at: list[datetime] = []

    async def operator(rt: Runtime) -> None:
        rt.engine.bus.add_listener(seen.append)
        await until(rt, lambda: _loss_alerted(seen))
        _reconcile_pause(rt)
        await rt.engine.submit(api.AcknowledgeAlerts(origin="tui"))
        acked_at.append(rt.clock.now())

    out = run_engine(TINY_LIMIT, tmp_path, operator)
    assert acked_at, "the daily max loss was never reached"
    assert _entries_after(out.events, acked_at[0]) == []
    assert out.of(api.EntriesResumed) == []


def test_a_paper_profile_whose_broker_reports_a_real_account_sends_no_order(
    tmp_path: Path,
) -> None:
    """A copy of paper.toml pointed at a real (U...) account, started without --live: the
    account decides, so not one order leaves (the old code traded on the profile's word)."""
    sim = make_profile()
    rt = build_sim(sim, journal_path=tmp_path / "j.sqlite3")

    def bounds(day: date) -> tuple[datetime, datetime] | None:
        s = rt.calendar.session(day)
        return None if s is None else (s.open, s.close)

    broker = SimBroker(rt.clock, SimMarket(sim.simulator), bounds, account="U1234567")
    paper = sim.model_copy(
        update={
            "mode": "paper",
            "broker": sim.broker.model_copy(update={"kind": "ib", "account": "DU1234567"}),
        }
    )
    engine = Engine(paper, broker, rt.journal, rt.clock, rt.calendar, max_sessions=1)
    events: list[api.Event] = []
    engine.bus.add_listener(events.append)
    with contextlib.suppress(Exception):  # the new code refuses by raising; either way:
        run_virtual(engine.run())
    assert [e for e in events if isinstance(e, api.OrderSubmitted)] == []
    assert rt.journal.orders() == []


def _price_never_known(rt: Runtime) -> None:
    """The settlement price never comes (as on IB before the official close is out): no
    ``PositionsSettled`` with a price, and the broker answers None when asked."""
    broker: Any = rt.broker
    emit = broker._emit

    def emitting(event: object) -> None:
        if type(event).__name__ != "PositionsSettled":
            emit(event)

    async def unknown(*_: object, **__: object) -> None:
        return None

    broker._emit = emitting
    broker.settlement_price = unknown


def test_an_expired_condor_whose_settlement_price_is_unknown_is_never_booked_as_a_profit(
    tmp_path: Path,
) -> None:
    """An in-the-money condor expires and the settlement price stays unknown into the next
    session: nothing is booked for it (the old code closed it for good at the full credit)."""
    day = date(2026, 11, 30)
    booked: list[tuple[str, object]] = []

    async def in_the_money_at_the_close(rt: Runtime) -> None:
        _price_never_known(rt)
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values())
        )
        live = next(iter(rt.engine.desk.live.values()))
        await rt.engine.submit(api.CancelStop(origin="test", condor_id=live.id))
        await rt.clock.sleep_until(at(day, "15:59:00"))
        spot = float(await rt.broker.underlying_price())
        rt.broker.gap(float(live.condor.short_put) - 5 - spot)  # type: ignore[attr-defined]

    profile = make_profile(
        simulator={"sessions": 2},
        strategy={"max_concurrent": 1, "entry_end": "10:00"},
        risk={
            "first_trade_profit_pct": 0,
            "profit_close_price": 0,
            "expiry_safety_time": "16:00",
        },
    )
    out = run_engine(profile, tmp_path, in_the_money_at_the_close)
    (rec,) = out.runtime.journal.condors(day=day)
    booked.append((rec.state.value, rec.realized_pnl))
    assert rec.realized_pnl is None, booked  # unknown: nothing guessed, least of all a profit
    assert rec.state.value == "closing", booked  # settlement pending, not closed for good
    assert not [c for c in out.of(api.CondorClosed) if c.condor_id == rec.id]


def test_commission_reports_that_come_after_the_close_are_booked(tmp_path: Path) -> None:
    """The broker's commission reports are held back until the condor is closed: when they
    come, the condor's commissions and P&L and the day's tally take them in (the old code
    counted a missing report as 0 and dropped the late ones)."""
    held: list[object] = []
    closed_pnl: list[object] = []

    async def late_reports(rt: Runtime) -> None:
        broker: Any = rt.broker
        emit, executions = broker._emit, broker.executions

        def emitting(event: object) -> None:
            if type(event).__name__ == "CommissionReceived" and not closed_pnl:
                held.append(event)
            else:
                emit(event)

        async def without_reports() -> list[tuple[object, None]]:
            return [(e, None) for e, _ in await executions()]

        broker._emit, broker.executions = emitting, without_reports
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values())
        )
        live = next(iter(rt.engine.desk.live.values()))
        await rt.clock.sleep_until(at(date(2026, 11, 30), "11:00"))
        await rt.engine.submit(api.CloseCondor(origin="test", condor_id=live.id))
        await until(rt, lambda: live.id not in rt.engine.desk.live)
        closed_pnl.append(rt.journal.condors()[0].realized_pnl)
        broker.executions = executions
        for event in held:  # the reports come, late
            emit(event)
        await rt.clock.sleep(60.0)

    profile = make_profile(
        strategy={"max_concurrent": 1, "entry_end": "10:00"},
        risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
    )
    out = run_engine(profile, tmp_path, late_reports)
    assert len(held) == 8 and closed_pnl  # four legs in, four out, every report late
    journal = out.runtime.journal
    (rec,) = journal.condors()
    reported = sum((f.commission or Decimal(0) for f in journal.fills(rec.id)), Decimal(0))
    charged = sum((e.report.commission for e in held), Decimal(0))  # type: ignore[attr-defined]
    assert reported == charged > 0
    assert rec.commissions == charged
    assert rec.credit is not None and rec.exit_debit is not None
    gross = (rec.credit - rec.exit_debit) * 100 * rec.condor.quantity
    assert rec.realized_pnl == gross - charged
    (session_closed,) = out.of(api.SessionClosed)
    assert session_closed.realized_pnl == rec.realized_pnl


def test_a_broker_error_in_the_start_reconciliation_is_contained_not_fatal(
    tmp_path: Path,
) -> None:
    """The link drops while the engine reconciles at its start (found by the stateful test,
    5a7a421): the engine keeps running, in its safe state (critical alert, entries paused until
    its reset), and reconciles before any entry, instead of dying out of ``run()``."""
    runtime = build_sim(make_profile(), journal_path=tmp_path / "j.sqlite3")
    broker: Any = runtime.broker
    positions, calls = broker.positions, []

    async def dropping() -> object:
        calls.append(runtime.clock.now())
        if len(calls) == 1:
            raise NotConnected("simulated broker: dropped")
        return await positions()

    broker.positions = dropping
    out = run_engine(make_profile(), tmp_path, runtime=runtime)
    assert out.of(api.SessionClosed), "the engine did not trade its session"
    faults = [a for a in out.of(api.AlertRaised) if a.level == "critical"]
    assert faults and "start reconciliation" in faults[0].message
    later = [r.ts for r in out.of(api.ReconcileCompleted) if r.ts and r.ts > calls[0]]
    assert later, "never reconciled after the fault"
    entries = [e.ts for e in out.of(api.OrderSubmitted) if e.role == "entry" and e.ts]
    assert all(later[0] < ts for ts in entries)  # no entry before the broker was looked at


def test_a_close_chased_deep_in_the_money_never_pays_more_than_the_wing_width(
    tmp_path: Path,
) -> None:
    """Found by the soak (seed 4266: an expiry-safety close at 10.10 on a 10-wide condor,
    realized below its maximum loss): the chase's last try pays a tick over the natural price,
    which for a condor deep in the money is above what it can ever be worth. No closing limit
    is above the wider wing: at worst the condor settles at that value."""
    widths: list[Decimal] = []

    async def deep_in_the_money(rt: Runtime) -> None:
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values())
        )
        live = next(iter(rt.engine.desk.live.values()))
        widths.append(max(live.condor.put_width, live.condor.call_width))
        await rt.engine.submit(api.CancelStop(origin="test", condor_id=live.id))
        await rt.clock.sleep(60.0)
        spot = float(await rt.broker.underlying_price())
        long_put = min(leg.contract.strike for leg in live.closing)
        rt.broker.gap(float(long_put) - 40 - spot)  # type: ignore[attr-defined]
        await rt.clock.sleep(30.0)
        await rt.engine.submit(api.CloseCondor(origin="test", condor_id=live.id))
        await until(rt, lambda: live.id not in rt.engine.desk.live)

    profile = make_profile(
        strategy={"max_concurrent": 1, "entry_end": "10:00"},
        risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
    )
    out = run_engine(profile, tmp_path, deep_in_the_money)
    closes = [e for e in out.of(api.OrderSubmitted) if e.role == "close"]
    assert widths and closes
    assert [e.limit_price for e in closes if e.limit_price > widths[0]] == []
    (rec,) = out.runtime.journal.condors()
    assert rec.credit is not None and rec.realized_pnl is not None
    worst = (rec.credit - widths[0]) * 100 * rec.condor.quantity - rec.commissions
    assert rec.realized_pnl >= worst  # never below the condor's maximum loss
