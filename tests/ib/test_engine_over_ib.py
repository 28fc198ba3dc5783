"""Acceptance: a whole trading day of the engine over IBBroker -> ib_async -> loopback
gateway -> SimBroker, in virtual time, ends exactly like the same day on SimBroker itself."""

from __future__ import annotations

from pathlib import Path

from condordesk.app.bootstrap import build_sim
from condordesk.broker.ib import IBBroker
from condordesk.engine.service import Engine
from condordesk.engine.summary import RunSummary
from condordesk.market.vtime import run_virtual
from condordesk.store.journal import Journal
from tests.engine.harness import make_profile, run_engine

ACCOUNT = "DU1234567"


def run_over_ib(tmp_path: Path) -> RunSummary:
    from condordesk.gateway import Gateway

    profile = make_profile()
    rt = build_sim(profile, journal_path=tmp_path / "gateway-side.sqlite3")

    async def main() -> RunSummary:
        gateway = Gateway(rt.broker, rt.clock, account=ACCOUNT, quote_interval_s=1.0)  # type: ignore[arg-type]
        port = await gateway.start()
        broker = IBBroker(rt.clock, host="127.0.0.1", port=port, client_id=9, account=ACCOUNT)
        journal = Journal(tmp_path / "engine.sqlite3")
        engine = Engine(profile, broker, journal, rt.clock, rt.calendar, max_sessions=1)
        try:
            return await engine.run()
        finally:
            await broker.close()
            await gateway.stop()

    return run_virtual(main())


def test_a_day_over_ib_matches_the_simulator(tmp_path: Path, warm_calendar: None) -> None:
    direct = run_engine(make_profile(), tmp_path / "direct").summary
    over_ib = run_over_ib(tmp_path)
    assert direct.condors_opened >= 1  # the day trades at all
    assert over_ib.errors == []
    assert over_ib.condors_opened == direct.condors_opened
    assert over_ib.condors_closed == direct.condors_closed
    assert over_ib.closed_by_reason == direct.closed_by_reason
    assert over_ib.credits == direct.credits
    assert over_ib.commissions == direct.commissions
    assert over_ib.realized_pnl == direct.realized_pnl
