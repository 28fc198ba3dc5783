"""Live means live: the account the broker reports decides, not the profile's ``mode``
(issue 12, invariant 13)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path

import pytest

from condordesk.app.bootstrap import build_ib, build_sim
from condordesk.broker.sim import SimBroker
from condordesk.broker.sim.market import SimMarket
from condordesk.config.profile import Profile
from condordesk.engine import api
from condordesk.engine.live import LiveAccountRefused, account_mode
from condordesk.engine.service import Engine
from condordesk.errors import ConfigError
from condordesk.market.vtime import run_virtual
from tests.engine.harness import make_profile

pytestmark = pytest.mark.usefixtures("warm_calendar")

SIM = make_profile()


def paper_profile(account: str = "DU1234567") -> Profile:
    """A paper-mode IB profile (as a copy of paper.toml would be)."""
    return SIM.model_copy(
        update={
            "mode": "paper",
            "broker": SIM.broker.model_copy(update={"kind": "ib", "account": account}),
        }
    )


def engine_on(tmp_path: Path, account: str, *, live: bool) -> tuple[Engine, list[api.Event]]:
    """An engine of a paper profile whose broker reports ``account``."""
    rt = build_sim(SIM, journal_path=tmp_path / "j.sqlite3")

    def bounds(day: date) -> tuple[datetime, datetime] | None:
        s = rt.calendar.session(day)
        return None if s is None else (s.open, s.close)

    broker = SimBroker(rt.clock, SimMarket(SIM.simulator), bounds, account=account)
    engine = Engine(
        paper_profile(),
        broker,
        rt.journal,
        rt.clock,
        rt.calendar,
        max_sessions=1,
        live_confirmed=live,
    )
    events: list[api.Event] = []
    engine.bus.add_listener(events.append)
    return engine, events


def test_a_paper_profile_on_a_real_account_refuses_without_live_before_any_order(
    tmp_path: Path,
) -> None:
    engine, events = engine_on(tmp_path, "U1234567", live=False)
    with pytest.raises(LiveAccountRefused, match=r"U1234567.*REAL MONEY.*--live"):
        run_virtual(engine.run())
    assert not [e for e in events if isinstance(e, api.OrderSubmitted)]
    assert not [e for e in events if isinstance(e, api.EngineStarted)]
    assert [a.code for a in events if isinstance(a, api.AlertRaised)] == ["live_account"]
    assert engine.journal.orders() == []


def test_with_live_it_runs_and_reports_live(tmp_path: Path) -> None:
    engine, events = engine_on(tmp_path, "U1234567", live=True)
    seen: list[str] = []

    async def run() -> None:
        task = asyncio.ensure_future(engine.run())
        while not [e for e in events if isinstance(e, api.EngineStarted)]:
            await engine.clock.sleep(1.0)
        seen.append(engine.snapshot().mode)
        engine.request_stop()
        await task

    run_virtual(run())
    (started,) = [e for e in events if isinstance(e, api.EngineStarted)]
    assert started.mode == "live" and started.account == "U1234567"
    assert seen == ["live"]


def test_a_paper_account_stays_paper(tmp_path: Path) -> None:
    engine, events = engine_on(tmp_path, "DU7654321", live=False)

    async def run() -> None:
        task = asyncio.ensure_future(engine.run())
        while not [e for e in events if isinstance(e, api.EngineStarted)]:
            await engine.clock.sleep(1.0)
        engine.request_stop()
        await task

    run_virtual(run())
    (started,) = [e for e in events if isinstance(e, api.EngineStarted)]
    assert started.mode == "paper"


def test_account_mode() -> None:
    assert account_mode("ib", "DU1234567") == "paper"
    assert account_mode("ib", "DF1234567") == "paper"
    assert account_mode("ib", "U1234567") == "live"
    assert account_mode("ib", "") == "live"  # unknown is never assumed paper
    assert account_mode("sim", "SIM0001") == "sim"


def test_build_ib_refuses_a_paper_profile_with_a_real_account_number_without_live() -> None:
    with pytest.raises(ConfigError, match="--live"):
        build_ib(paper_profile("U1234567"), live_confirmed=False)
