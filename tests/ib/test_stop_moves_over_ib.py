"""A stop move end to end over IB: engine -> IBBroker -> ib_async -> loopback gateway ->
SimBroker. The move is a modification of the two working orders (IB's placeOrder with their
order ids): at the exchange the same two orders carry the new prices, and a gap through the
condor then buys it back once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from condordesk.app.bootstrap import build_sim
from condordesk.broker.ib import IBBroker
from condordesk.domain.orders import OrderRole, parse_order_ref
from condordesk.engine import api
from condordesk.engine.service import Engine
from condordesk.market.vtime import run_virtual
from condordesk.store.journal import Journal
from tests.engine.harness import make_profile

ACCOUNT = "DU1234567"
PROFILE = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00", "wing_widths": [10]},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


def test_a_stop_move_over_ib_modifies_the_working_orders_at_the_exchange(
    tmp_path: Path, warm_calendar: None
) -> None:
    from condordesk.gateway import Gateway

    rt = build_sim(PROFILE, journal_path=tmp_path / "gateway-side.sqlite3")
    exchange = rt.broker
    seen: dict[str, Any] = {}

    async def stops_at_exchange(condor_id: str) -> dict[int, tuple[Any, ...]]:
        out = {}
        for rep in await exchange.open_orders():
            parsed = parse_order_ref(rep.order_ref)
            if parsed and parsed[0] == condor_id and parsed[1] is not OrderRole.CLOSE:
                assert rep.request is not None
                out[rep.perm_id] = (rep.order_ref, rep.request.oca_group, rep.request.stop_price)
        return out

    async def operator(engine: Engine) -> None:
        desk = engine.desk
        while not any(lc.stop_state == "verified" and lc.mark for lc in desk.live.values()):
            await rt.clock.sleep(5)
        live = next(iter(desk.live.values()))
        assert live.stop is not None
        before = await stops_at_exchange(live.id)
        new = live.stop.trigger + Decimal("0.50")
        ack = await engine.submit(api.MoveStop(condor_id=live.id, trigger=new, origin="tui"))
        seen.update(ack=ack, new=new, before=before, after=await stops_at_exchange(live.id))
        seen["state"], seen["id"] = live.stop_state, live.id
        spot = engine.snapshot().spot
        assert spot is not None
        exchange.gap(float(live.condor.long_put - spot) - 10)  # type: ignore[attr-defined]

    async def main() -> None:
        gateway = Gateway(exchange, rt.clock, account=ACCOUNT, quote_interval_s=1.0)  # type: ignore[arg-type]
        port = await gateway.start()
        broker = IBBroker(rt.clock, host="127.0.0.1", port=port, client_id=9, account=ACCOUNT)
        journal = Journal(tmp_path / "engine.sqlite3")
        engine = Engine(PROFILE, broker, journal, rt.clock, rt.calendar, max_sessions=1)
        script = asyncio.ensure_future(operator(engine))
        try:
            seen["summary"] = await engine.run()
            await script
            seen["fills"] = await exchange.executions()
            seen["positions"] = await exchange.positions()
        finally:
            script.cancel()
            await broker.close()
            await gateway.stop()

    run_virtual(main())
    assert seen["ack"].accepted and seen["state"] == "verified"
    before, after, new = seen["before"], seen["after"], seen["new"]
    assert set(after) == set(before) and len(after) == 2  # the same two orders (perm ids)
    assert {v[1] for v in after.values()} == {v[1] for v in before.values()}  # one OCA group
    assert sorted(v[2] for v in after.values()) == [new, new + Decimal("0.30")]
    exits = [e for e, _ in seen["fills"] if not e.order_ref.endswith(":entry")]
    assert sum(e.quantity for e in exits) == 4  # one buy-back of a 1-lot
    assert seen["positions"] == []
    assert seen["summary"].errors == []
