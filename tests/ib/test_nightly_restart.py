"""The gateway restarts (IB Gateway's daily restart, or a crash) while the engine runs over
IBBroker -> ib_async -> loopback gateway -> SimBroker, in virtual time. The orders and
positions live at the broker (the SimBroker) and outlast the gateway, as at IB.

What a trader relies on: the engine notices, keeps trying with backoff, reconnects to the new
gateway, reconciles before it opens anything, learns fills that happened while it was away, and
goes on trading; stops stay at the broker throughout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

from condordesk.app.bootstrap import Runtime, build_sim
from condordesk.broker.ib import IBBroker
from condordesk.broker.sim import SimBroker
from condordesk.domain.orders import OrderRole, OrderStatus, parse_order_ref
from condordesk.engine import api
from condordesk.engine.service import Engine
from condordesk.engine.summary import RunSummary
from condordesk.market.clock import ET, SimClock
from condordesk.market.vtime import run_virtual
from condordesk.store.journal import Journal
from tests.engine.harness import at, make_profile
from tests.engine.test_trading_day import assert_flat

ACCOUNT = "DU1234567"
OUTAGE = timedelta(minutes=3)
FIRST_DAY = date(2026, 11, 30)  # make_profile's start date (a Monday)

Script = Callable[[Engine, Runtime, Callable[[], Awaitable[None]]], Awaitable[None]]


def run_with_restart(
    tmp_path: Path, script: Script, sessions: int = 1
) -> tuple[Runtime, RunSummary, list[api.Event]]:
    """Run the engine over the gateway; ``script`` gets a ``restart()`` that stops the gateway,
    lets OUTAGE of clock time pass and starts a new one on the same port and SimBroker."""
    from condordesk.gateway import Gateway

    profile = make_profile(simulator={"sessions": sessions})
    rt = build_sim(profile, journal_path=tmp_path / "gateway-side.sqlite3")
    sim = rt.broker
    assert isinstance(sim, SimBroker)
    assert isinstance(rt.clock, SimClock)
    rt.clock.jump_idle = False  # the night passes in time, so something can happen in it
    events: list[api.Event] = []

    async def main() -> RunSummary:
        gateway = Gateway(sim, rt.clock, account=ACCOUNT, quote_interval_s=1.0)
        port = await gateway.start()
        broker = IBBroker(rt.clock, host="127.0.0.1", port=port, client_id=9, account=ACCOUNT)
        engine = Engine(
            profile,
            broker,
            Journal(tmp_path / "engine.sqlite3"),
            rt.clock,
            rt.calendar,
            max_sessions=sessions,
        )
        engine.bus.add_listener(events.append)

        async def restart() -> None:
            nonlocal gateway
            await gateway.stop()
            await rt.clock.sleep(OUTAGE.total_seconds())
            gateway = Gateway(sim, rt.clock, account=ACCOUNT, quote_interval_s=1.0, port=port)
            await gateway.start()

        task = asyncio.ensure_future(script(engine, rt, restart))
        try:
            summary = await engine.run()
            await task
            return summary
        finally:
            task.cancel()
            await broker.close()
            await gateway.stop()

    summary = run_virtual(main())
    return rt, summary, events


async def stops_at_broker(sim: SimBroker, condor_id: str) -> list[OrderStatus]:
    """The statuses of a condor's working stop orders as the broker holds them."""
    out = []
    for report in await sim.open_orders():
        ref = parse_order_ref(report.order_ref)
        if ref is not None and ref[0] == condor_id and ref[1] is not OrderRole.CLOSE:
            out.append(report.status)
    return out


def test_a_gateway_restart_with_a_condor_open_keeps_its_stops_and_trading_goes_on(
    tmp_path: Path, warm_calendar: None
) -> None:
    seen: dict[str, object] = {}

    async def script(engine: Engine, rt: Runtime, restart: Callable[[], Awaitable[None]]) -> None:
        while not any(lc.stop_state == "verified" for lc in engine.desk.live.values()):
            await rt.clock.sleep(5)
        cid = next(iter(engine.desk.live))
        seen["condor"] = cid
        seen["down_at"] = rt.clock.now()
        await restart()
        assert isinstance(rt.broker, SimBroker)
        seen["stops_after_outage"] = await stops_at_broker(rt.broker, cid)

    rt, summary, events = run_with_restart(tmp_path, script)
    cid, down_at = seen["condor"], seen["down_at"]
    assert isinstance(down_at, type(rt.clock.now()))

    # the stops never left the broker while the gateway was away
    assert seen["stops_after_outage"] == [OrderStatus.WORKING, OrderStatus.WORKING]
    links = [e for e in events if isinstance(e, api.BrokerConnectionChanged) and e.ts >= down_at]
    assert [e.connected for e in links[:2]] == [False, True]
    back_at = links[1].ts
    assert OUTAGE <= back_at - down_at <= OUTAGE + timedelta(seconds=20)  # backoff capped at 15 s

    # reconciled after the reconnect, before anything new was sent
    after = [e for e in events if e.ts >= back_at]
    recon = next(e for e in after if isinstance(e, api.ReconcileCompleted))
    assert recon.unexplained == 0 and recon.stops_ok >= 1
    first_entry = next(
        (e for e in after if isinstance(e, api.OrderSubmitted) and e.role == "entry"), None
    )
    if first_entry is not None:
        assert first_entry.seq > recon.seq
    # nothing was sent while it was down
    assert not [
        e for e in events if isinstance(e, api.OrderSubmitted) and down_at <= e.ts < back_at
    ]
    # no stop was re-placed: the ones at the broker were adopted
    assert [e for e in events if isinstance(e, api.StopPlaced) and e.condor_id == cid][
        -1
    ].ts < down_at
    assert summary.errors == []
    assert summary.condors_closed == summary.condors_opened
    assert_flat(rt)


def test_a_stop_that_fills_while_the_gateway_is_down_is_learned_on_reconnect(
    tmp_path: Path, warm_calendar: None
) -> None:
    seen: dict[str, object] = {}

    async def script(engine: Engine, rt: Runtime, restart: Callable[[], Awaitable[None]]) -> None:
        sim = rt.broker
        assert isinstance(sim, SimBroker)
        while not any(lc.stop_state == "verified" for lc in engine.desk.live.values()):
            await rt.clock.sleep(5)
        cid = next(iter(engine.desk.live))
        seen["condor"] = cid
        # SPX falls about 5 points through the short put: the stop triggers at the broker and
        # fills (the condor quotes below its width; a gap far past the long put would leave
        # the capped backup waiting: tests/engine/test_stop_cap.py)
        through = float(engine.desk.live[cid].condor.short_put - await sim.underlying_price()) - 5

        async def gap_while_down() -> None:
            await rt.clock.sleep(60)  # the gateway is down by now
            sim.gap(through)
            seen["gapped_at"] = rt.clock.now()

        gapper = asyncio.ensure_future(gap_while_down())
        await restart()
        await gapper

    rt, summary, events = run_with_restart(tmp_path, script)
    cid = seen["condor"]
    closed = [e for e in events if isinstance(e, api.CondorClosed) and e.condor_id == cid]
    assert len(closed) == 1
    assert closed[0].reason in {"stop_limit", "stop_market"}
    # learned after the outage, from the replayed executions
    assert closed[0].ts >= seen["gapped_at"]  # type: ignore[operator]
    fills = [e for e in events if isinstance(e, api.FillRecorded) and e.condor_id == cid]
    assert fills and len({f.exec_id for f in fills}) == len(fills)  # each fill once
    assert summary.errors == []
    assert_flat(rt)


def test_the_nightly_restart_between_sessions_does_not_stop_the_next_day(
    tmp_path: Path, warm_calendar: None
) -> None:
    seen: dict[str, object] = {}

    async def script(engine: Engine, rt: Runtime, restart: Callable[[], Awaitable[None]]) -> None:
        night = at(FIRST_DAY, "23:00")  # after the first session, before the second
        await rt.clock.sleep((night - rt.clock.now()).total_seconds())
        seen["restart_at"] = rt.clock.now()
        await restart()  # IB Gateway's daily restart, at night

    rt, summary, events = run_with_restart(tmp_path, script, sessions=2)
    restart_at = seen["restart_at"]
    assert isinstance(restart_at, type(rt.clock.now()))
    assert restart_at.astimezone(ET).hour == 23
    links = [e for e in events if isinstance(e, api.BrokerConnectionChanged) and e.ts >= restart_at]
    assert [e.connected for e in links[:2]] == [False, True]
    days = {e.ts.astimezone(ET).date() for e in events if isinstance(e, api.CondorOpened)}
    assert len(days) == 2, "both sessions trade"
    assert summary.errors == []
    assert_flat(rt)
