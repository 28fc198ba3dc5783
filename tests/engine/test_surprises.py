"""Broker-side surprises while the engine runs: a person trades or cancels in TWS."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.domain.condor import CondorState
from condordesk.domain.options import OptionContract, Right
from condordesk.domain.orders import OrderAction
from condordesk.engine import api
from tests.engine.harness import at, make_profile, run_engine, until
from tests.engine.test_trading_day import assert_flat

pytestmark = pytest.mark.usefixtures("warm_calendar")

DAY = date(2026, 11, 30)
ONE = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00"},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


async def protected(rt: Runtime) -> str:
    await until(rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values()))
    return next(iter(rt.engine.desk.live))


def test_a_condor_closed_by_hand_is_journaled_closed_and_its_stops_cancelled(
    tmp_path: Path,
) -> None:
    async def by_hand(rt: Runtime) -> None:
        cid = await protected(rt)
        for contract in rt.engine.desk.live[cid].condor.contracts:
            rt.broker.close_position_by_hand(contract)  # type: ignore[attr-defined]

    out = run_engine(ONE, tmp_path, by_hand)
    (closed,) = out.of(api.CondorClosed)
    assert closed.reason == "manual"
    assert any(a.code == "closed_by_hand" for a in out.of(api.AlertRaised))
    rec = out.runtime.journal.condors()[0]
    assert rec.state is CondorState.CLOSED and "by hand" in rec.note
    assert_flat(out.runtime)  # its stops were cancelled, nothing is left working
    assert out.runtime.engine.paused_reason is None  # explained: entries go on


def test_a_stop_cancelled_by_hand_is_re_armed(tmp_path: Path) -> None:
    cancelled: list[int] = []

    async def cancel_stop(rt: Runtime) -> None:
        cid = await protected(rt)
        stop_id = rt.engine.desk.live[cid].stop_order_ids[0]
        cancelled.append(stop_id)
        assert rt.broker.cancel_order_by_hand(stop_id)  # type: ignore[attr-defined]
        await until(
            rt,
            lambda: (
                rt.engine.desk.live[cid].stop_generation == 2
                and rt.engine.desk.live[cid].stop_state == "verified"
            ),
        )
        rt.engine.request_stop()

    out = run_engine(ONE, tmp_path, cancel_stop)
    cid = out.runtime.journal.condors()[0].id
    assert len(out.runtime.journal.stops(cid)) == 2
    placed = out.of(api.StopPlaced)
    assert len(placed) == 2
    re_armed_after = (placed[1].ts - placed[0].ts).total_seconds()  # type: ignore[operator]
    assert re_armed_after <= ONE.strategy.cycle_seconds + 5
    assert any(a.code == "stop_missing" for a in out.of(api.AlertRaised))


def test_a_position_the_engine_never_opened_pauses_entries_until_acknowledged(
    tmp_path: Path,
) -> None:
    acks: list[api.Ack] = []
    profile = make_profile(strategy={"max_concurrent": 1, "entry_start": "10:30"})

    async def stranger(rt: Runtime) -> None:
        await rt.clock.sleep_until(at(DAY, "10:00"))
        odd = OptionContract(DAY, Decimal(5500), Right.PUT)
        rt.broker.trade_by_hand(odd, OrderAction.BUY, 2)  # type: ignore[attr-defined]
        await until(rt, lambda: rt.engine.paused_reason is not None)
        await rt.clock.sleep_until(at(DAY, "11:00"))  # entries stay paused past the window start
        acks.append(await rt.engine.submit(api.AcknowledgeAlerts(origin="test")))
        await until(rt, lambda: bool(rt.engine.desk.live))
        rt.engine.request_stop()

    out = run_engine(profile, tmp_path, stranger)
    paused = out.of(api.EntriesPaused)
    assert paused and paused[0].reason.startswith("reconcile")
    assert any(
        a.code == "unknown_position" and a.level == "critical" for a in out.of(api.AlertRaised)
    )
    entries = [e for e in out.of(api.OrderSubmitted) if e.role == "entry"]
    resumed = out.of(api.EntriesResumed)
    assert acks[0].accepted and resumed
    assert entries and all(e.seq > resumed[0].seq for e in entries)


def test_a_leg_closed_by_hand_leaves_a_partial_condor_that_is_reported(tmp_path: Path) -> None:
    async def one_leg(rt: Runtime) -> None:
        cid = await protected(rt)
        long_put = rt.engine.desk.live[cid].condor.contracts[0]
        rt.broker.close_position_by_hand(long_put)  # type: ignore[attr-defined]
        await until(rt, lambda: rt.engine.paused_reason is not None)
        rt.engine.request_stop()

    out = run_engine(ONE, tmp_path, one_leg)
    alerts = [a for a in out.of(api.AlertRaised) if a.code == "partial_condor"]
    assert alerts and alerts[0].level == "critical"
    assert "5" in alerts[0].message and "close it at the broker" in alerts[0].message


def test_a_stop_cancelled_while_the_link_was_down_is_re_armed_after_the_reconnect(
    tmp_path: Path,
) -> None:
    async def outage(rt: Runtime) -> None:
        cid = await protected(rt)
        stop_id = rt.engine.desk.live[cid].stop_order_ids[1]
        rt.broker.drop_connection()  # type: ignore[attr-defined]
        await rt.clock.sleep(60)
        assert not rt.engine.desk.connected
        rt.broker.cancel_order_by_hand(stop_id)  # type: ignore[attr-defined]  # unseen: link down
        rt.broker.restore_connection()  # type: ignore[attr-defined]
        await until(
            rt,
            lambda: (
                rt.engine.desk.live[cid].stop_generation == 2
                and rt.engine.desk.live[cid].stop_state == "verified"
            ),
        )
        rt.engine.request_stop()

    out = run_engine(ONE, tmp_path, outage)
    changes = out.of(api.BrokerConnectionChanged)
    flips = [c.connected for c in changes]  # (the start's own "connected" comes first)
    drop = flips.index(False)
    assert flips[drop : drop + 2] == [False, True]
    done = [r for r in out.of(api.ReconcileCompleted) if r.reason == "reconnected"]
    assert done and done[0].seq > changes[drop + 1].seq
    assert any("stop" in f for f in done[0].findings)


def test_a_fill_that_arrives_before_its_order_is_known_is_kept_once(tmp_path: Path) -> None:
    from condordesk.broker.base import ExecutionReceived
    from condordesk.domain.orders import Execution

    async def early_fill(rt: Runtime) -> None:
        cid = await protected(rt)
        legs = rt.engine.desk.live[cid].condor.contracts
        ts = rt.clock.now()
        stray = Execution(
            "early.1",
            999,
            424242,
            f"cd:{cid}:close.9",
            legs[1],
            OrderAction.BUY,
            1,
            Decimal("0.50"),
            ts,
        )
        rt.engine.desk.on_broker_event(ExecutionReceived(stray))
        rt.engine.desk.on_broker_event(ExecutionReceived(stray))
        fills = rt.journal.fills(order_ref=f"cd:{cid}:close.9")
        assert len(fills) == 1 and fills[0].condor_id == cid
        assert rt.journal.order(f"cd:{cid}:close.9") is None  # the order itself is not known
        rt.engine.request_stop()

    out = run_engine(ONE, tmp_path, early_fill)
    assert len([f for f in out.of(api.FillRecorded) if f.exec_id == "early.1"]) == 1


def test_a_stop_whose_status_never_arrives_is_closed_from_its_fills_without_a_false_alarm(
    tmp_path: Path,
) -> None:
    """The stop fills, the executions arrive, but the order's own status report is lost (or
    still on its way): the engine, which was watching all along, journals the exit from the
    fills at its next check. It is not reported as 'closed while away', and entries go on."""
    from condordesk.broker.base import OrderUpdated
    from condordesk.domain.orders import OrderRole, parse_order_ref

    async def lose_stop_statuses(rt: Runtime) -> None:
        desk = rt.engine.desk
        original = desk.on_broker_event

        def deaf(event: object) -> None:
            if isinstance(event, OrderUpdated):
                ref = parse_order_ref(event.report.order_ref)
                if ref is not None and ref[1] in (OrderRole.STOP_LIMIT, OrderRole.STOP_MARKET):
                    return
            original(event)  # type: ignore[arg-type]

        desk.on_broker_event = deaf  # type: ignore[method-assign]
        cid = await protected(rt)
        condor = desk.live[cid].condor
        spot = rt.engine.snapshot().spot
        assert spot is not None
        rt.broker.gap(float(condor.long_put - spot) - 10)  # type: ignore[attr-defined]

    out = run_engine(ONE, tmp_path, lose_stop_statuses)
    (closed,) = out.of(api.CondorClosed)
    assert closed.reason.startswith("stop")
    codes = {a.code for a in out.of(api.AlertRaised)}
    assert "closed_while_away" not in codes
    rec = out.runtime.journal.condors()[0]
    assert rec.state is CondorState.CLOSED and rec.realized_pnl is not None
    assert rec.realized_pnl < 0
    assert out.runtime.engine.paused_reason is None
    assert_flat(out.runtime)
