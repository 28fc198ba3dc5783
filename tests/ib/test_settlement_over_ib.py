"""A condor expiring while the engine trades over IB (IBBroker -> ib_async -> loopback gateway
-> SimBroker): IB sends no settlement event, so the engine asks for the official SPX close
after the cut-off and books the condor on its expiry day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.app.bootstrap import build_sim
from condordesk.broker.ib import IBBroker
from condordesk.domain.condor import CondorState, ExitReason
from condordesk.engine import api
from condordesk.engine.service import Engine
from condordesk.market.clock import ET
from condordesk.market.vtime import run_virtual
from condordesk.store.journal import Journal
from tests.engine.harness import make_profile

ACCOUNT = "DU1234567"


@pytest.mark.parametrize(
    "day",
    [date(2026, 11, 30), date(2026, 11, 27)],  # a regular day; an early close (13:00 cut-off)
    ids=["regular", "early-close"],
)
def test_a_condor_expiring_over_ib_is_booked_on_its_expiry_day(
    day: date, tmp_path: Path, warm_calendar: None
) -> None:
    from condordesk.gateway import Gateway

    profile = make_profile(  # one condor held to the cut-off
        simulator={"start_date": day.isoformat()},
        strategy={"max_concurrent": 1},
        risk={"first_trade_profit_pct": 0, "profit_close_price": 0, "expiry_safety_time": "16:00"},
    )
    rt = build_sim(profile, journal_path=tmp_path / "gateway-side.sqlite3")
    journal = Journal(tmp_path / "engine.sqlite3")
    events: list[api.Event] = []

    async def main() -> None:
        gateway = Gateway(rt.broker, rt.clock, account=ACCOUNT, quote_interval_s=1.0)  # type: ignore[arg-type]
        port = await gateway.start()
        broker = IBBroker(rt.clock, host="127.0.0.1", port=port, client_id=9, account=ACCOUNT)
        engine = Engine(profile, broker, journal, rt.clock, rt.calendar, max_sessions=1)
        engine.bus.add_listener(events.append)
        try:
            await engine.run()
        finally:
            await broker.close()
            await gateway.stop()

    run_virtual(main())

    (rec,) = journal.condors()
    assert rec.day == day
    assert rec.state is CondorState.CLOSED and rec.exit_reason is ExitReason.EXPIRED
    assert rec.closed_ts is not None and rec.closed_ts.astimezone(ET).date() == day
    price = rt.broker._market.settlement_price(day)  # type: ignore[attr-defined]
    assert rec.credit is not None
    value = rec.condor.value_at_expiry(price)
    want = (rec.credit - value) * 100 * rec.condor.quantity - rec.commissions
    assert rec.realized_pnl == want
    daily = journal.daily(day)
    assert daily is not None and Decimal(daily["realized_pnl"]) == want
    (session_closed,) = [e for e in events if isinstance(e, api.SessionClosed)]
    assert session_closed.realized_pnl == want and session_closed.condors_closed == 1
    assert not [e for e in events if isinstance(e, api.AlertRaised) and e.code == "unsettled"]
