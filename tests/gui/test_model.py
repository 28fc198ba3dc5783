"""The window's model (pure): snapshot then events, the intraday series behind the charts, and
the risk graph's numbers (T+0 from the engine's Black-Scholes)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from condordesk.engine import api
from gui import risk
from gui.state import Model, Trail, apply, apply_snapshot
from tests.tui.fakes import DAY, T0, snapshot, view

D = Decimal
CID = "20261130-01"


def marked(seconds: int, spot: str, mark: str, pnl: str, seq: int) -> api.CondorMarked:
    return api.CondorMarked(seq=seq, ts=T0 + timedelta(seconds=seconds), condor_id=CID,
                            spot=D(spot), mark=D(mark), debit=D(mark) + D("0.15"),
                            unrealized_pnl=D(pnl))  # fmt: skip


def test_a_trail_keeps_one_point_per_fifteen_seconds_ending_at_the_latest() -> None:
    trail = Trail()
    for s, v in ((0, 1.0), (5, 2.0), (14, 3.0), (15, 4.0), (31, 5.0)):
        trail.add(T0 + timedelta(seconds=s), v)
    assert list(trail.ys) == [3.0, 4.0, 5.0]
    assert trail.xs[0] == 10 * 60 + 10 + 14 / 60  # 10:10:14 New York, in minutes


def test_marks_draw_spx_the_condor_mark_and_pnl_and_replays_are_ignored() -> None:
    model = Model(profile="sim", attached=True)
    apply_snapshot(model, snapshot(view()))
    assert list(model.spx.ys) == [6001.5] and model.total_pnl == D(55)
    changed = apply(model, marked(20, "6003.00", "1.10", "35.00", 101))
    assert {"condors", "market", "pnl"} <= changed
    apply(model, marked(40, "5990.00", "1.60", "-15.00", 102))
    assert list(model.spx.ys) == [6001.5, 6003.0, 5990.0]
    assert list(model.condor_mark[CID].ys) == [0.9, 1.1, 1.6]
    assert list(model.condor_pnl[CID].ys) == [55.0, 35.0, -15.0]
    assert apply(model, marked(60, "6100.00", "9.00", "-800.00", 102)) == set()  # seen seq
    assert model.spot == D("5990.00")


def test_a_close_adds_to_realized_and_a_new_day_clears_the_charts() -> None:
    model = Model(profile="sim", attached=True)
    apply_snapshot(model, snapshot(view()))
    apply(model, api.CondorClosed(seq=101, ts=T0 + timedelta(minutes=1), condor_id=CID,
                                  reason="profit_target", exit_debit=D("0.05"),
                                  commissions=D("5.28"), realized_pnl=D("134.72")))  # fmt: skip
    assert model.realized_pnl == D("134.72") and model.unrealized_pnl == 0
    assert model.condors[CID].state == "closed" and model.held == []
    assert model.log[-1].text == "CLOSED 20261130-01 (profit_target) exit 0.05 P&L +$134.72"
    apply(model, api.DailyReset(seq=102, ts=T0 + timedelta(days=1), day=DAY + timedelta(days=1)))
    assert model.condors == {} and model.realized_pnl == 0
    assert not model.spx.ys and model.condor_pnl == {} and model.pnl_history == []


def test_a_condor_first_seen_opening_is_built_from_its_label_and_alerts_are_flagged() -> None:
    model = Model(profile="sim", attached=True)
    apply_snapshot(model, snapshot())
    apply(model, api.CondorOpened(seq=101, ts=T0, condor_id="c9", label="5900/5910P 6090/6100C",
                                  quantity=2, credit=D("1.30"), first_trade=False))  # fmt: skip
    v = model.condors["c9"]
    assert (v.long_put, v.short_put, v.short_call, v.long_call) == (5900, 5910, 6090, 6100)
    assert v.state == "open" and v.quantity == 2 and v.credit == D("1.30")
    apply(model, api.AlertRaised(seq=102, ts=T0, level="critical", code="stop_missing",
                                 message="no stop for c9"))  # fmt: skip
    assert model.alerts == ["stop_missing: no stop for c9"]
    assert (model.log[-1].level, model.log[-1].text) == (
        "critical",
        "ALERT stop_missing: no stop for c9",
    )


# ------------------------------------------------------------------------------------ risk

ONE = view()  # 5950/5960P 6040/6050C x1 for 1.45, mark 0.90
YEARS = (5 * 3600 + 50 * 60) / (365 * 24 * 3600)  # 10:10 to 16:00


def test_t0_passes_through_the_pnl_of_the_mark_and_becomes_the_payoff_at_expiry() -> None:
    vol = risk.implied_vol(ONE, 6001.5, YEARS, 0.90)
    assert vol is not None and 0.05 < vol < 0.6
    assert risk.pnl_now(ONE, 6001.5, YEARS, vol) == pytest.approx(55.0, abs=0.01)
    last_minute = 60 / (365 * 24 * 3600)
    for spx in (5940.0, 5955.0, 6000.0, 6045.0, 6070.0):
        expiry = float(risk.holding(ONE).pnl_at_expiry(D(repr(spx))))
        assert risk.pnl_now(ONE, spx, last_minute, vol) == pytest.approx(expiry, abs=3.0)


def test_the_stop_levels_are_where_the_model_value_reaches_the_trigger() -> None:
    vol = risk.implied_vol(ONE, 6001.5, YEARS, 0.90)
    assert vol is not None
    low, high = risk.stop_levels(ONE, 6001.5, YEARS, vol)
    assert low is not None and high is not None and low < 6001.5 < high
    for level in (low, high):
        assert risk.condor_value(ONE, level, YEARS, vol) == pytest.approx(2.90, abs=0.01)
    assert risk.stop_levels(dataclasses.replace(ONE, stop_trigger=None), 6001.5, YEARS, vol) == (
        None, None)  # fmt: skip


def test_a_short_condor_earns_theta_and_is_short_gamma_and_vega() -> None:
    vol = risk.atm_vol(D("6001.50"), D("21.85"))
    assert vol is not None
    # the expected move over a 6.5 h session at that vol is the one the engine reported
    assert 6001.5 * vol * (6.5 / (365 * 24)) ** 0.5 == pytest.approx(21.85, abs=0.001)
    g = risk.condor_greeks(ONE, 6001.5, YEARS, vol)
    assert g.theta > 0 and g.gamma < 0 and g.vega < 0 and abs(g.delta) < 5


def test_the_risk_graph_spans_strikes_spx_and_the_expected_move() -> None:
    graph = risk.risk_graph([ONE, view("c2", state="closed")], D("6001.50"), D("21.85"), YEARS)
    assert graph is not None and graph.now is not None and graph.greeks is not None
    assert graph.xs[0] < 5950 - 10 and graph.xs[-1] > 6050 + 10
    assert graph.breakevens == [D("5958.55"), D("6041.45")]
    assert (graph.max_profit, graph.max_loss) == (D(145), D(855))
    assert risk.risk_graph([view(state="closed")], D(6000), None, YEARS) is None


def test_years_left_counts_to_the_close_or_to_four_in_new_york() -> None:
    assert risk.years_left(T0, None) == pytest.approx(YEARS)
    close = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # a 13:00 early close
    assert risk.years_left(T0, close) == pytest.approx(2.8333 * 3600 / (365 * 24 * 3600), 1e-3)
    assert risk.years_left(close + timedelta(minutes=5), close) == 0.0
