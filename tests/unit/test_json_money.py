"""Every money figure and price in JSON output is a string with two decimals (issue 14)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from condordesk.app.ctl_view import plain_snapshot
from condordesk.domain.prices import money_text
from condordesk.engine import api
from condordesk.engine.summary import RunSummary


def test_money_text_has_two_decimals_and_no_negative_zero() -> None:
    assert money_text(Decimal("1.200")) == "1.20"
    assert money_text(Decimal(0)) == "0.00"
    assert money_text(Decimal("-0.001")) == "0.00"
    assert money_text(Decimal("-12.345")) == "-12.35"
    assert money_text(Decimal("1E+2")) == "100.00"


def test_the_run_summary_counts_an_open_condors_commissions_with_two_decimals() -> None:
    summary = RunSummary()
    close = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    summary.on_event(api.SessionOpened(day=date(2026, 11, 30), close=close, early_close=False))
    summary.on_event(
        api.CondorOpened(
            condor_id="c1", label="x", quantity=1, credit=Decimal("1.2"), first_trade=True
        )
    )
    summary.count_open(Decimal("5.2"))
    doc = summary.to_json()
    assert doc["commissions"] == "5.20"
    assert doc["commissions_of_open_condors"] == "5.20"
    assert doc["realized_pnl"] == "0.00"  # an open condor's P&L is not realized
    assert doc["credits"] == "120.00"
    assert doc["per_session"][0]["commissions"] == "5.20"


def test_ctl_json_prices_and_money_have_two_decimals() -> None:
    snap = api.Snapshot(
        seq=1,
        ts=datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
        profile="sim",
        mode="sim",
        account="",
        state="armed",
        paused_reason=None,
        connected=True,
        spot=Decimal("6000.1"),
        day=date(2026, 11, 30),
        realized_pnl=Decimal(0),
        unrealized_pnl=Decimal("-12.5"),
    )
    doc = plain_snapshot(snap, engine_pid=7)
    assert (doc["spot"], doc["realized_pnl"], doc["unrealized_pnl"]) == (
        "6000.10",
        "0.00",
        "-12.50",
    )
    assert doc["engine_pid"] == 7 and doc["day"] == "2026-11-30"
