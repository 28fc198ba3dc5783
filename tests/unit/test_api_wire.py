"""The engine API wire format: every event, command, ack and snapshot crosses JSON unchanged."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from condordesk.engine import api

D = Decimal
TS = datetime(2026, 11, 27, 15, 30, 1, 250000, tzinfo=UTC)
DAY = date(2026, 11, 27)
CLOSE_ET = datetime(2026, 11, 27, 13, 15, tzinfo=timezone(timedelta(hours=-5)))


def condor_view(cid: str = "c1", **changes: Any) -> api.CondorView:
    view = api.CondorView(
        id=cid,
        state="open",
        label="5950/5960P 6040/6050C",
        long_put=D(5950),
        short_put=D(5960),
        short_call=D(6040),
        long_call=D(6050),
        quantity=2,
        credit=D("1.45"),
        mark=D("0.875"),
        debit=D("0.90"),
        unrealized_pnl=D("110.00"),
        realized_pnl=None,
        profit_target=D("0.05"),
        stop_trigger=D("2.90"),
        stop_limit=D("3.40"),
        stop_backup=D("3.20"),
        stop_state="verified",
        first_trade=True,
        opened_ts=TS,
        exit_reason=None,
    )
    return dataclasses.replace(view, **changes)


GREEKS = api.PositionGreeks(delta=-12.375, gamma=-0.8125, theta=131.0625, vega=-42.5)


def snapshot() -> api.Snapshot:
    return api.Snapshot(
        seq=42,
        ts=TS,
        profile="sim",
        mode="sim",
        account="DU123456",
        state="armed",
        paused_reason=None,
        connected=True,
        spot=D("6001.37"),
        day=DAY,
        condors=[
            condor_view(),
            condor_view(
                "c0",
                state="closed",
                mark=None,
                debit=None,
                unrealized_pnl=None,
                realized_pnl=D("-166.62"),
                exit_reason="stop_limit",
                first_trade=False,
            ),
        ],
        realized_pnl=D("-166.62"),
        unrealized_pnl=D("110.00"),
        open_alerts=["stop not verified for c1"],
        expected_move=D("26.14"),
        greeks=GREEKS,
        next_event="entries close",
        next_event_at=TS + timedelta(hours=3),
        pnl_history=[
            api.PnlPoint(ts=TS - timedelta(minutes=1), pnl=D("-56.62")),
            api.PnlPoint(ts=TS, pnl=D("-166.6200")),
        ],
        recent=[
            api.CondorOpened(
                seq=40,
                ts=TS,
                condor_id="c1",
                label="x",
                quantity=2,
                credit=D("1.45"),
                first_trade=True,
            ),
            api.AlertRaised(seq=41, ts=TS, level="warning", code="c", message="m"),
        ],
    )


E: dict[str, Any] = {"seq": 7, "ts": TS}

EVENT_SAMPLES: dict[str, api.Event] = {
    "EngineStarted": api.EngineStarted(**E, profile="sim", mode="sim", account="DU123456"),
    "EngineStopped": api.EngineStopped(**E, reason="signal"),
    "Hibernating": api.Hibernating(**E, until=TS + timedelta(hours=17)),
    "DailyReset": api.DailyReset(**E, day=DAY),
    "SessionOpened": api.SessionOpened(**E, day=DAY, close=CLOSE_ET, early_close=True),
    "SessionClosed": api.SessionClosed(
        **E,
        day=DAY,
        realized_pnl=D("-12.40"),
        commissions=D("13.2400"),
        condors_opened=3,
        condors_closed=3,
    ),
    "EntriesPaused": api.EntriesPaused(**E, reason="daily loss", origin="engine"),
    "EntriesResumed": api.EntriesResumed(**E, origin="tui"),
    "PauseLifted": api.PauseLifted(
        **E, reason="operator", origin="tui", remaining=["daily max loss (-1500.00)"]
    ),
    "EntrySkipped": api.EntrySkipped(**E, reason="stale_greeks", detail="6050C: greeks 20s old"),
    "OrderSubmitted": api.OrderSubmitted(
        **E,
        condor_id="c1",
        role="entry",
        order_ref="cd:c1:entry",
        order_type="LMT",
        quantity=1,
        limit_price=D("-1.45"),
        stop_price=None,
    ),
    "OrderRejected": api.OrderRejected(
        **E, condor_id="c1", order_ref="cd:c1:entry", reason="201: margin"
    ),
    "OrderCancelled": api.OrderCancelled(
        **E, condor_id="c1", order_ref="cd:c1:stop-limit", reason="OCA sibling filled"
    ),
    "FillRecorded": api.FillRecorded(
        **E,
        condor_id="c1",
        order_ref="cd:c1:entry",
        exec_id="0000e0d5.6543a1b2.01.01",
        symbol="SPXW 20261127 5960P",
        side="SELL",
        quantity=1,
        price=D("2.10"),
    ),
    "CondorOpened": api.CondorOpened(
        **E, condor_id="c1", label="5950/5960P", quantity=1, credit=D("1.45"), first_trade=True
    ),
    "EntryNotFilled": api.EntryNotFilled(**E, condor_id="c1", reason="FOK not filled"),
    "StopPlaced": api.StopPlaced(
        **E,
        condor_id="c1",
        trigger=D("2.90"),
        limit=D("3.40"),
        backup_trigger=D("3.20"),
        order_ids=[12, 13],
    ),
    "StopVerified": api.StopVerified(**E, condor_id="c1"),
    "StopTriggered": api.StopTriggered(**E, condor_id="c1", role="stop-market", price=D("3.35")),
    "StopCancelled": api.StopCancelled(**E, condor_id="c1", reason="operator"),
    "CondorMarked": api.CondorMarked(
        **E,
        condor_id="c1",
        spot=D("6001.37"),
        mark=D("0.875"),
        debit=D("0.90"),
        unrealized_pnl=D("55.00"),
    ),
    "CondorClosing": api.CondorClosing(
        **E, condor_id="c1", reason="profit_target", limit=D("0.05")
    ),
    "CondorClosed": api.CondorClosed(
        **E,
        condor_id="c1",
        reason="profit_target",
        exit_debit=D("0.05"),
        commissions=D("8.8300"),
        realized_pnl=D("131.17"),
        day=DAY,
        commissions_estimated=True,
    ),
    "CondorAmended": api.CondorAmended(
        **E,
        condor_id="c1",
        day=DAY,
        commissions=D("8.7100"),
        realized_pnl=D("131.29"),
        change=D("0.12"),
    ),
    "AlertRaised": api.AlertRaised(
        **E, level="critical", code="unprotected", message="c1 has no working stop"
    ),
    "AlertCleared": api.AlertCleared(
        **E,
        code="unprotected",
        condor_id="c1",
        alert="unprotected: condor c1 has no stop",
        reason="stops verified at the broker again",
    ),
    "AlertsAcknowledged": api.AlertsAcknowledged(**E, origin="gui"),
    "BrokerConnectionChanged": api.BrokerConnectionChanged(
        **E, connected=False, reason="1100 connectivity lost"
    ),
    "CommandReceived": api.CommandReceived(
        **E, command="MoveStop", origin="tui", detail="c1 -> 3.10", accepted=True
    ),
    "ReconcileCompleted": api.ReconcileCompleted(
        **E,
        reason="start",
        open_condors=2,
        stops_ok=1,
        findings=["warning: condor c1 had no complete stop pair"],
        unexplained=0,
    ),
    "Resync": api.Resync(**E, snapshot=snapshot()),
    "MarketUpdated": api.MarketUpdated(
        **E,
        spot=D("6001.37"),
        expected_move=D("26.14"),
        greeks=GREEKS,
        next_event="expiry safety",
        next_event_at=CLOSE_ET,
        condors=[condor_view()],
    ),
}

COMMAND_SAMPLES: dict[str, api.Command] = {
    "PauseEntries": api.PauseEntries(origin="tui", reason="lunch"),
    "ResumeEntries": api.ResumeEntries(origin="gui"),
    "CloseCondor": api.CloseCondor(origin="telegram", condor_id="c1", limit=D("0.65")),
    "FlattenAll": api.FlattenAll(origin="cli"),
    "MoveStop": api.MoveStop(origin="tui", condor_id="c1", trigger=D("3.10")),
    "CancelStop": api.CancelStop(origin="tui", condor_id="c1"),
    "ArmStops": api.ArmStops(origin="engine", condor_id="c1"),
    "AcknowledgeAlerts": api.AcknowledgeAlerts(origin="test"),
}


def over_the_wire(obj: Any) -> Any:
    return api.from_wire(json.loads(json.dumps(api.to_wire(obj))))


def assert_same(got: Any, want: Any) -> None:
    """Equal, and every value keeps its exact type and text (1.50 stays Decimal('1.50'))."""
    assert type(got) is type(want)
    assert got == want
    assert api.to_wire(got) == api.to_wire(want)


@pytest.mark.parametrize("name", sorted(api.EVENT_TYPES))
def test_every_event_type_round_trips(name: str) -> None:
    assert name in EVENT_SAMPLES, f"add a sample {name} to EVENT_SAMPLES"
    sample = EVENT_SAMPLES[name]
    assert type(sample) is api.EVENT_TYPES[name]
    assert_same(over_the_wire(sample), sample)


@pytest.mark.parametrize("name", sorted(api.COMMAND_TYPES))
def test_every_command_type_round_trips(name: str) -> None:
    assert name in COMMAND_SAMPLES, f"add a sample {name} to COMMAND_SAMPLES"
    sample = COMMAND_SAMPLES[name]
    assert type(sample) is api.COMMAND_TYPES[name]
    assert_same(over_the_wire(sample), sample)


def test_samples_cover_no_unknown_types() -> None:
    assert set(EVENT_SAMPLES) == set(api.EVENT_TYPES)
    assert set(COMMAND_SAMPLES) == set(api.COMMAND_TYPES)


def test_optional_fields_round_trip_empty() -> None:
    for obj in (
        api.CloseCondor(condor_id="c1"),
        api.PauseEntries(),
        api.OrderSubmitted(
            condor_id="c1",
            role="close",
            order_ref="cd:c1:close",
            order_type="LMT",
            quantity=1,
            limit_price=None,
            stop_price=None,
        ),
    ):
        assert_same(over_the_wire(obj), obj)


@pytest.mark.parametrize("accepted", [True, False])
def test_ack_round_trips(accepted: bool) -> None:
    ack = api.Ack(accepted, "" if accepted else "no such condor c9")
    assert_same(over_the_wire(ack), ack)


def test_snapshot_with_condor_views_round_trips() -> None:
    snap = snapshot()
    got = over_the_wire(snap)
    assert_same(got, snap)
    assert [type(c) for c in got.condors] == [api.CondorView, api.CondorView]
    assert got.condors[0].opened_ts == TS


def test_empty_snapshot_round_trips() -> None:
    snap = api.Snapshot(
        seq=0,
        ts=TS,
        profile="sim",
        mode="sim",
        account="",
        state="starting",
        paused_reason="operator",
        connected=False,
        spot=None,
        day=None,
    )
    assert_same(over_the_wire(snap), snap)


@pytest.mark.parametrize(
    "value", ["1.50", "0.05", "-1.450", "0", "0.00", "6001.37", "131.1700", "1E+2", "-0.0"]
)
def test_decimal_stays_decimal_exactly(value: str) -> None:
    moved = over_the_wire(api.MoveStop(condor_id="c1", trigger=D(value)))
    assert type(moved.trigger) is Decimal
    assert str(moved.trigger) == value  # same digits, same exponent: never via float


def test_datetimes_keep_their_offset_and_microseconds() -> None:
    event = api.SessionOpened(seq=1, ts=TS, day=DAY, close=CLOSE_ET, early_close=True)
    got = over_the_wire(event)
    assert got.close.utcoffset() == timedelta(hours=-5)
    assert got.ts.utcoffset() == timedelta(0)
    assert got.ts.microsecond == 250000
    assert type(got.day) is date


@pytest.mark.parametrize(
    "data",
    [
        {"type": "CondorExploded", "condor_id": "c1"},
        {"type": "Event"},  # the base classes are not wire types
        {"type": "Command", "origin": "cli"},
        {"condor_id": "c1"},  # no type at all
    ],
    ids=["unknown", "event-base", "command-base", "untyped"],
)
def test_unknown_wire_type_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown wire type"):
        api.from_wire(data)


def test_market_update_without_measures_round_trips() -> None:
    event = api.MarketUpdated(
        **E,
        spot=D("6001.37"),
        expected_move=None,
        greeks=None,
        next_event="",
        next_event_at=None,
    )
    got = over_the_wire(event)
    assert_same(got, event)
    assert got.transient and got.condors == []


def test_snapshot_recent_events_and_greeks_come_back_typed() -> None:
    got = over_the_wire(snapshot())
    assert [type(e) for e in got.recent] == [api.CondorOpened, api.AlertRaised]
    assert type(got.greeks) is api.PositionGreeks and got.greeks.theta == 131.0625
    assert [type(p.pnl) for p in got.pnl_history] == [Decimal, Decimal]
    assert str(got.pnl_history[-1].pnl) == "-166.6200"
