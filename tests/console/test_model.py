"""The console's model: a snapshot, then events, without Textual."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest

from condordesk.engine import api
from console.model import Model, apply, apply_snapshot, decay_to_close, describe, parse_label
from tests.tui.fakes import DAY, T0, snapshot, view

D = Decimal
CID = "20261130-01"


def model_of(snap: api.Snapshot) -> Model:
    model = Model(profile="sim", attached=True)
    apply_snapshot(model, snap)
    model.link = "live"
    return model


def at(seq: int, event: api.Event, minutes: float = 0) -> api.Event:
    return dataclasses.replace(event, seq=seq, ts=T0 + timedelta(minutes=minutes))


def test_a_snapshot_gives_state_lists_and_log_once() -> None:
    model = model_of(snapshot(view()))
    assert model.condors[CID].stop_state == "verified" and model.spot == D("6001.50")
    assert list(model.orders) == ["cd:20261130-01:entry"]
    assert [line.text for line in model.log][-1].startswith("OPENED 20261130-01")
    before = model.log_total
    apply_snapshot(model, snapshot(view()))  # a reconnect: the same recent events again
    assert model.log_total == before and len(model.orders) == 1


def test_an_engine_condor_unknown_to_the_console_is_built_from_its_label() -> None:
    model = model_of(snapshot())
    changed = apply(model, at(101, api.CondorOpened(condor_id="c9", label="5900/5905P 6100/6110C",
                                                   quantity=2, credit=D("1.10"),
                                                   first_trade=False)))  # fmt: skip
    v = model.condors["c9"]
    assert (v.long_put, v.short_put, v.short_call, v.long_call) == (5900, 5905, 6100, 6110)
    assert v.quantity == 2 and v.credit == D("1.10") and v.state == "open"
    assert "condors" in changed


@pytest.mark.parametrize(
    ("label", "strikes"),
    [("5950/5960P 6040/6050C", (5950, 5960, 6040, 6050)),
     ("5952.5/5960P 6040/6047.5C", (D("5952.5"), 5960, 6040, D("6047.5"))),
     ("5960P 6040C", None), ("", None)],
)  # fmt: skip
def test_labels(label: str, strikes: object) -> None:
    assert parse_label(label) == strikes


def test_stop_mark_close_flow_and_the_days_pnl() -> None:
    model = model_of(snapshot(view()))
    apply(model, at(101, api.StopCancelled(condor_id=CID, reason="moved by tui")))
    apply(model, at(102, api.StopPlaced(condor_id=CID, trigger=D("3.10"), limit=D("3.60"),
                                        backup_trigger=D("3.40"), order_ids=[1, 2])))  # fmt: skip
    v = model.condors[CID]
    assert (v.stop_trigger, v.stop_limit, v.stop_backup, v.stop_state) == (
        D("3.10"), D("3.60"), D("3.40"), "placed")  # fmt: skip
    apply(model, at(103, api.CondorMarked(condor_id=CID, spot=D("6020"), mark=D("1.20"),
                                          debit=D("1.30"), unrealized_pnl=D("25"))))  # fmt: skip
    assert model.spot == D(6020) and model.total_pnl == D(25)
    closed = api.CondorClosed(condor_id=CID, reason="manual", exit_debit=D("1.25"),
                              commissions=D("5.28"), realized_pnl=D("14.72"))  # fmt: skip
    apply(model, at(104, closed))
    v = model.condors[CID]
    assert v.state == "closed" and v.unrealized_pnl is None and v.exit_reason == "manual"
    assert model.realized_pnl == D("14.72") and model.total_pnl == D("14.72")


def test_replayed_events_apply_once() -> None:
    model = model_of(snapshot(view()))
    event = at(101, api.CondorClosed(condor_id=CID, reason="manual", exit_debit=D(1),
                                     commissions=D(5), realized_pnl=D(40)))  # fmt: skip
    apply(model, event)
    assert apply(model, event) == set()
    assert apply(model, dataclasses.replace(event, seq=50)) == set()  # older than the snapshot
    assert model.realized_pnl == D(40)


def test_a_market_update_replaces_live_views_but_never_reopens_a_closed_condor() -> None:
    model = model_of(snapshot(view()))
    apply(model, at(101, api.CondorClosed(condor_id=CID, reason="stop_limit",
                                          exit_debit=D("3.30"), commissions=D(5),
                                          realized_pnl=D(-190))))  # fmt: skip
    late = view(mark=D("3.00"), profit_target=D("0.05"))
    fresh = view("c2", profit_target=D("0.05"))
    apply(model, at(102, api.MarketUpdated(spot=D("6039"), expected_move=D("20.5"), greeks=None,
                                           next_event="expiry safety", next_event_at=T0,
                                           condors=[late, fresh])))  # fmt: skip
    assert model.condors[CID].state == "closed"
    assert model.condors["c2"] == fresh and model.expected_move == D("20.5")
    assert model.next_event == "expiry safety" and model.greeks is None


def test_orders_follow_their_events() -> None:
    model = model_of(snapshot())
    sub = api.OrderSubmitted(condor_id="c1", role="close", order_ref="cd:c1:close.1",
                             order_type="LMT", quantity=2, limit_price=D("0.80"),
                             stop_price=None)  # fmt: skip
    apply(model, at(101, sub))
    for i in range(8):  # 4 legs x 2 units
        apply(model, at(102 + i, api.FillRecorded(condor_id="c1", order_ref="cd:c1:close.1",
                                                  exec_id=f"e{i}", symbol="SPXW", side="BUY",
                                                  quantity=1, price=D(1))))  # fmt: skip
        assert model.orders["cd:c1:close.1"].status == ("filled" if i == 7 else "submitted")
    apply(model, at(120, dataclasses.replace(sub, order_ref="cd:c1:close.2")))
    apply(model, at(121, api.OrderRejected(condor_id="c1", order_ref="cd:c1:close.2",
                                           reason="201: margin")))  # fmt: skip
    row = model.orders["cd:c1:close.2"]
    assert (row.status, row.reason) == ("rejected", "201: margin")
    assert model.log[-1].level == "error" and "REJECTED" in model.log[-1].text
    assert len(model.fills) == 8


def test_alerts_pauses_and_connection() -> None:
    model = model_of(snapshot(view()))
    apply(model, at(101, api.AlertRaised(level="critical", code="orphan", message="long leg")))
    apply(model, at(102, api.AlertRaised(level="info", code="note", message="fyi")))
    assert model.alerts == ["orphan: long leg"] and model.log[-2].level == "critical"
    apply(model, at(103, api.EntriesPaused(reason="reconcile: 1 finding", origin="engine")))
    assert model.engine_state == "paused" and model.paused_reason == "reconcile: 1 finding"
    apply(model, at(104, api.AlertsAcknowledged(origin="gui")))
    apply(model, at(105, api.EntriesResumed(origin="gui")))
    assert model.alerts == [] and model.engine_state == "armed"
    apply(model, at(106, api.BrokerConnectionChanged(connected=False, reason="1100")))
    assert not model.broker_connected and model.log[-1].level == "critical"
    apply(model, at(107, api.Hibernating(until=T0 + timedelta(hours=20))))
    assert model.engine_state == "hibernating" and model.next_event == "daily reset"


def test_a_new_day_moves_finished_condors_to_the_history() -> None:
    closed = view("c0", state="closed", realized_pnl=D(-100))
    model = model_of(snapshot(view(), closed, realized_pnl=D(-100)))
    apply(model, at(101, api.DailyReset(day=DAY + timedelta(days=1))))
    assert list(model.condors) == [CID] and [v.id for v in model.history] == ["c0"]
    assert model.realized_pnl == 0 and model.pnl_history == [] and model.expected_move is None


def test_pnl_samples_are_a_minute_apart_in_engine_time() -> None:
    model = model_of(snapshot(view(), pnl_history=[]))
    for i in range(10):  # every 20 s for 3 minutes
        apply(model, at(101 + i, api.CondorMarked(condor_id=CID, spot=D(6000), mark=D(1),
                                                  debit=D(1), unrealized_pnl=D(i)),
                        minutes=i / 3))  # fmt: skip
    # the snapshot's own moment is the first sample (its open P&L), then one a minute
    assert [p.pnl for p in model.pnl_history] == [D(55), D(3), D(6), D(9)]


def test_a_resync_while_live_is_logged_and_replaces_the_state() -> None:
    model = model_of(snapshot(view()))
    gone = snapshot(seq=500, state="stopped")
    apply(model, api.Resync(seq=500, ts=T0, snapshot=gone))
    assert model.condors == {} and model.engine_state == "stopped" and model.seq == 500
    assert "resynchronised" in model.log[-1].text


def test_marks_and_market_updates_make_no_log_line() -> None:
    mark = api.CondorMarked(condor_id=CID, spot=D(1), mark=D(1), debit=D(1), unrealized_pnl=D(1))
    assert describe(mark) is None
    refused = api.CommandReceived(command="MoveStop", origin="gui", detail="", accepted=False)
    assert describe(refused) == ("error", "MoveStop from gui REFUSED")


def test_a_new_engine_run_with_a_fresh_journal_is_followed_from_its_first_event() -> None:
    model = model_of(snapshot(view(), seq=900))
    fresh = snapshot(seq=12, recent=[at(11, api.EntriesPaused(reason="x", origin="cli"))])
    apply_snapshot(model, fresh)
    assert "the engine restarted" in model.log[-2].text
    assert model.log[-1].text == "entries PAUSED: x (by cli)"
    apply(model, at(13, api.AlertRaised(level="warning", code="c", message="m")))
    assert model.log[-1].text == "ALERT c: m" and model.alerts == ["c: m"]


def test_an_alert_whose_condition_cleared_closes_and_says_so() -> None:
    first = "unprotected: condor 20261130-01 has no stop (tui cancelled it)"
    second = "stop_missing: condor 20261130-01 had no complete, correct stop pair at the broker"
    other = "unprotected: condor 20261130-02 has no stop (gui cancelled it)"
    model = model_of(snapshot(view(), open_alerts=[first, second, other]))
    why = "stops verified at the broker again"
    for seq, (code, text) in enumerate([("unprotected", first), ("stop_missing", second)], 101):
        apply(model, at(seq, api.AlertCleared(code=code, condor_id=CID, alert=text, reason=why)))
    assert model.alerts == [other]
    assert model.log[-1] == dataclasses.replace(
        model.log[-1], level="ok",
        text=f"alert cleared (stops verified at the broker again): {second}",
    )  # fmt: skip


def test_theta_to_the_close_is_the_time_value_left_never_more_than_the_credit() -> None:
    model = model_of(snapshot(view(mark=D("0.90")), spot=D("6001.50")))
    assert decay_to_close(model) == D("90.00")  # worth 0 at expiry with SPX unchanged
    near = model_of(snapshot(view(mark=D("4.20")), spot=D("5955.00")))
    # at 5955 the 5950/5960 put spread is worth 5.00 at expiry: the mark is below it, so
    # staying there loses 0.80 more by the close
    assert decay_to_close(near) == D("-80.00")
    assert decay_to_close(model_of(snapshot())) is None


def test_a_lifted_pause_reason_goes_while_the_others_stay() -> None:
    reasons = ["operator", "daily max loss (-1500.00)"]
    model = model_of(snapshot(view(), state="paused", paused_reason="; ".join(reasons),
                              paused_reasons=reasons))  # fmt: skip
    apply(model, at(101, api.PauseLifted(reason="operator", origin="tui",
                                         remaining=["daily max loss (-1500.00)"])))  # fmt: skip
    assert model.paused_reasons == ["daily max loss (-1500.00)"]
    assert model.engine_state == "paused"
    assert model.log[-1].text == (
        "pause lifted: operator (by tui); entries stay paused: daily max loss (-1500.00)"
    )


@pytest.mark.parametrize(
    ("mode", "account", "badge"),
    [("sim", "SIM0001", "sim"),  # the embedded simulator's own account: no broker's account
     ("paper", "DU1234567", "paper"),
     ("paper", "U7654321", "live"),  # a real account, whatever the profile says
     ("", "U7654321", "live"),  # before the engine said its mode
     ("live", "U7654321", "live")],
)  # fmt: skip
def test_real_money_is_an_ib_account_but_never_the_simulators(
    mode: str, account: str, badge: str
) -> None:
    model = Model(profile="p", attached=True)
    apply_snapshot(model, snapshot(view(), mode=mode, account=account))
    assert model.badge == badge
    assert model.real_money == (badge == "live")
