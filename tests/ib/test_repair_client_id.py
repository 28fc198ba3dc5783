"""``reconcile --repair`` places orders under the profile's own client id, so the engine can
manage them afterwards (issue 12, invariant 9). Over the loopback gateway, which answers a
cancel of another client's order with IB's error 10147 as TWS does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from condordesk.app.bootstrap import build_ib_broker, build_reconcile_client, build_sim
from condordesk.config.profile import Profile
from condordesk.domain.orders import OrderRole, parse_order_ref
from condordesk.engine import api
from condordesk.engine.repair import reconcile_once
from condordesk.engine.service import Engine, risk_rules
from condordesk.gateway import Gateway
from condordesk.market.vtime import run_virtual
from condordesk.store.journal import Journal
from tests.engine.harness import make_profile

pytestmark = pytest.mark.usefixtures("warm_calendar")

ACCOUNT = "DU1234567"
SIM = make_profile(
    strategy={"max_concurrent": 1, "entry_end": "10:00"},
    risk={"first_trade_profit_pct": 0, "profit_close_price": 0},
)


def ib_profile(port: int) -> Profile:
    broker = SIM.broker.model_copy(
        update={"kind": "ib", "port": port, "client_id": 9, "account": ACCOUNT}
    )
    return SIM.model_copy(update={"mode": "paper", "broker": broker})


def test_stops_placed_by_repair_can_be_cancelled_by_the_engine(tmp_path: Path) -> None:
    rt = build_sim(SIM, journal_path=tmp_path / "gateway-side.sqlite3")
    sim = rt.broker
    journal_path = tmp_path / "engine.sqlite3"
    errors: list[str] = []

    def stop_orders() -> list[int]:  # the sim's working stop orders of our condor
        return [
            oid
            for oid, order in sim._working.items()  # type: ignore[attr-defined]
            if (p := parse_order_ref(order.request.order_ref))
            and p[1] in (OrderRole.STOP_LIMIT, OrderRole.STOP_MARKET)
        ]

    async def main() -> None:
        gateway = Gateway(sim, rt.clock, account=ACCOUNT, quote_interval_s=1.0)  # type: ignore[arg-type]
        port = await gateway.start()
        profile = ib_profile(port)
        try:
            # 1. the engine opens and protects a condor, then stops (stops stay at the broker)
            first = Engine(
                profile, build_ib_broker(profile, rt.clock), Journal(journal_path), rt.clock,
                rt.calendar, max_sessions=1,
            )  # fmt: skip
            task = asyncio.ensure_future(first.run())
            while not any(lc.stop_state == "verified" for lc in first.desk.live.values()):
                assert not task.done()
                await rt.clock.sleep(5.0)
            cid = next(iter(first.desk.live))
            first.request_stop()
            await task
            # 2. someone cancels the stops in TWS; the operator runs reconcile --repair
            for oid in stop_orders():
                assert sim.cancel_order_by_hand(oid)  # type: ignore[attr-defined]
            assert stop_orders() == []
            journal = Journal(journal_path)
            repairer = build_reconcile_client(profile, rt.clock, repair=True)
            await repairer.connect()
            plan = await reconcile_once(
                repairer, journal, rt.clock, risk_rules(profile), repair_safe=True,
                today=rt.clock.now_et().date(),
            )  # fmt: skip
            await repairer.disconnect()
            journal.close()
            assert plan.checks and stop_orders(), "the repair re-armed the stops"
            # 3. the engine starts again and cancels the repaired stops (no 10147)
            second = Engine(
                profile, build_ib_broker(profile, rt.clock), Journal(journal_path), rt.clock,
                rt.calendar, max_sessions=1,
            )  # fmt: skip
            second.bus.add_listener(
                lambda e: errors.append(e.message) if isinstance(e, api.AlertRaised) else None
            )
            task = asyncio.ensure_future(second.run())
            while cid not in second.desk.live or second.state not in ("armed", "paused"):
                assert not task.done()
                await rt.clock.sleep(5.0)
            ack = await second.submit(api.CancelStop(origin="test", condor_id=cid))
            assert ack.accepted, ack.reason
            for _ in range(60):
                if not stop_orders():
                    break
                await rt.clock.sleep(1.0)
            assert stop_orders() == [], "the engine could not cancel the repair's stops"
            second.request_stop()
            await task
        finally:
            await gateway.stop()

    run_virtual(main())
    assert not [m for m in errors if "10147" in m]
