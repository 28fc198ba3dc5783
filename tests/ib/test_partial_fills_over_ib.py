"""The engine over IBBroker -> ib_async -> loopback gateway -> SimBroker when a close fills in
part: the piece that filled is journaled, the rest is cancelled and bought back, and the
engine ends flat with the P&L of every piece (in virtual time)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from condordesk.app.bootstrap import build_sim
from condordesk.broker.ib import IBBroker
from condordesk.domain.orders import OrderAction, OrderRole, OrderStatus, parse_order_ref
from condordesk.domain.prices import MULTIPLIER
from condordesk.engine import api
from condordesk.engine.service import Engine
from condordesk.market.vtime import run_virtual
from condordesk.store.journal import Journal
from tests.engine.test_partial_fills import LOTS, TWO_LOTS
from tests.engine.test_trading_day import assert_flat

ACCOUNT = "DU1234567"


def test_a_partly_filled_close_over_ib_is_finished_and_journaled_piece_by_piece(
    tmp_path: Path, warm_calendar: None
) -> None:
    from condordesk.gateway import Gateway

    rt = build_sim(TWO_LOTS, journal_path=tmp_path / "gateway-side.sqlite3")
    events: list[api.Event] = []
    journal = Journal(tmp_path / "engine.sqlite3")

    async def main() -> None:
        gateway = Gateway(rt.broker, rt.clock, account=ACCOUNT, quote_interval_s=1.0)  # type: ignore[arg-type]
        port = await gateway.start()
        broker = IBBroker(rt.clock, host="127.0.0.1", port=port, client_id=9, account=ACCOUNT)
        engine = Engine(TWO_LOTS, broker, journal, rt.clock, rt.calendar, max_sessions=1)
        engine.bus.add_listener(events.append)

        async def close_in_part() -> None:
            while not any(lc.stop_state == "verified" for lc in engine.desk.live.values()):
                await rt.clock.sleep(5)
            cid = next(iter(engine.desk.live))
            gateway.faults.partial_fills(count=1, pieces=2, interval_s=3600)
            ack = await engine.submit(api.CloseCondor(condor_id=cid, origin="test"))
            assert ack.accepted
            while cid in engine.desk.live:
                await rt.clock.sleep(5)
            engine.request_stop()

        script = asyncio.ensure_future(close_in_part())
        try:
            await engine.run()
            await script
        finally:
            script.cancel()
            await broker.close()
            await gateway.stop()

    run_virtual(main())

    (closed,) = [e for e in events if isinstance(e, api.CondorClosed)]
    cid = closed.condor_id
    assert closed.reason == "manual"
    closes = [o for o in journal.orders(cid) if o.role is OrderRole.CLOSE]
    partial = [o for o in closes if o.status == OrderStatus.CANCELLED and o.filled]
    assert [o.filled for o in partial] == [1]
    assert (closes[-1].request.quantity, closes[-1].status, closes[-1].filled) == (
        1,
        OrderStatus.FILLED,
        1,
    )
    fills = journal.fills(cid)
    exits = [f for f in fills if (p := parse_order_ref(f.order_ref)) and p[1] is OrderRole.CLOSE]
    assert sum(f.execution.quantity for f in exits) == 4 * LOTS
    assert len({f.exec_id for f in fills}) == len(fills) == 4 + 8  # entry, two exit pieces
    assert all(f.commission is not None and f.commission > 0 for f in fills)
    cash = -sum(
        (
            (1 if f.execution.side is OrderAction.BUY else -1)
            * f.execution.price
            * f.execution.quantity
            for f in fills
        ),
        Decimal(0),
    )
    commissions = sum((f.commission or Decimal(0) for f in fills), Decimal(0))
    assert closed.realized_pnl == cash * MULTIPLIER - commissions
    alerts = {e.code for e in events if isinstance(e, api.AlertRaised)}
    assert not alerts & {"fills_missing", "position_mismatch", "quantity_mismatch"}
    assert_flat(rt)
