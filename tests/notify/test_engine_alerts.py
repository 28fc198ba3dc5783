"""A whole simulated trading day with alerts on, against the fake Bot API: the phone hears
about every trade, and a Telegram outage changes nothing in the trading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from condordesk.app.bootstrap import build_sim
from condordesk.engine import api
from condordesk.engine.summary import RunSummary
from condordesk.market.vtime import run_virtual
from condordesk.ops.alerts import Alerts, build_alerts
from condordesk.ops.credentials import SecretStore
from tests.engine.harness import make_profile
from tests.notify.support import FakeBotApi

pytestmark = pytest.mark.usefixtures("warm_calendar")

TOKEN = "555:engine-day-token"


@dataclass
class Day:
    summary: RunSummary
    events: list[api.Event]
    fake: FakeBotApi | None
    alerts: Alerts | None


def trade_a_day(tmp_path: Path, *, server: dict[str, Any] | None) -> Day:
    """One simulated session at full speed; with ``server`` settings, alerts go to a fake
    Bot API on 127.0.0.1 (the notifier paced by the engine's own virtual clock)."""
    profile = make_profile()
    rt = build_sim(profile, journal_path=tmp_path / f"journal-{server is not None}.sqlite3")
    events: list[api.Event] = []
    rt.engine.bus.add_listener(events.append)

    async def main() -> Day:
        if server is None:
            return Day(await rt.engine.run(), events, None, None)
        async with FakeBotApi(rt.clock, **server) as fake:
            store = SecretStore("sim", environ={})
            store.set("telegram_bot_token", TOKEN)
            store.set("telegram_chat_id", "4242")
            with_alerts = make_profile(
                notify={
                    "enabled": True,
                    "max_attempts": 3,
                    "telegram": {"api_url": fake.url, "request_timeout_s": 120},
                }
            )
            alerts = build_alerts(with_alerts, rt.engine, clock=rt.clock, store=store)
            async with alerts:
                summary = await rt.engine.run()
            return Day(summary, events, fake, alerts)

    try:
        return run_virtual(main())
    finally:
        rt.journal.close()


def test_the_phone_hears_of_every_trade_stop_close_and_the_day(tmp_path: Path) -> None:
    day = trade_a_day(tmp_path, server={})
    assert day.fake is not None

    texts = day.fake.texts()
    opened = [e for e in day.events if isinstance(e, api.CondorOpened)]
    closed = [e for e in day.events if isinstance(e, api.CondorClosed)]
    assert opened, "the calm day trades"
    assert texts[0].startswith("ℹ️ sim · engine started")
    for condor in opened:
        [alert] = [t for t in texts if f"OPENED {condor.condor_id}" in t]
        assert condor.label in alert and f"credit {condor.credit:.2f}" in alert
        assert any(f"stop placed {condor.condor_id}" in t for t in texts)
    for condor in closed:
        [alert] = [t for t in texts if f"CLOSED {condor.condor_id}" in t]
        assert "P&L" in alert
    [summary] = [t for t in texts if " · DAY " in t]
    assert f"{len(opened)} opened" in summary
    assert texts[-1].startswith("ℹ️ sim · engine stopped")
    assert day.alerts is not None and day.alerts.notifier is not None
    assert day.alerts.notifier.stats.failed == 0


def test_a_telegram_outage_is_logged_and_changes_nothing_in_the_trading(
    tmp_path: Path,
) -> None:
    quiet = trade_a_day(tmp_path, server=None)
    outage = trade_a_day(tmp_path, server={"default": "drop"})  # hangs up on every request

    assert outage.alerts is not None and outage.alerts.notifier is not None
    stats = outage.alerts.notifier.stats
    assert stats.sent == 0 and stats.failed > 0
    assert outage.fake is not None and len(outage.fake.sent()) >= 3 * stats.failed
    assert outage.summary.to_json() == quiet.summary.to_json()
    assert outage.summary.to_json()["condors_opened"] > 0
