"""The Telegram notifier against a fake Bot API server on 127.0.0.1: what the phone gets,
rate limits, retries on 429 and 5xx, and outages that never block the caller.

Time is a SimClock running 100x the loop, so a minute of rate limiting takes 0.6 s; the
server stamps each request with that clock.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from loguru import logger

from condordesk.engine import api
from condordesk.market.clock import ET, SimClock
from condordesk.notify import BotApi, MemoryNotifier, Message, Policy, Rejected, TelegramNotifier
from condordesk.ops.alerts import AlertRouter
from condordesk.ops.credentials import Secret
from tests.notify.support import FakeBotApi
from tests.support.waiting import eventually

TOKEN = "123456:TEST-token"
CHAT = "4242"
MONDAY_10AM = datetime(2026, 11, 30, 10, 0, tzinfo=ET)
SPEED = 100.0


@pytest.fixture
async def clock() -> SimClock:
    return SimClock(MONDAY_10AM, speed=SPEED, jump_idle=True)


@pytest.fixture
async def server(clock: SimClock) -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(clock) as fake:
        yield fake


def notifier(server: FakeBotApi, clock: SimClock, **kwargs: object) -> TelegramNotifier:
    bot = BotApi(server.url, Secret(TOKEN), clock, timeout_s=1000.0)  # 10 real seconds
    policy = kwargs.pop("policy", Policy())
    return TelegramNotifier(bot, Secret(CHAT), policy, clock, **kwargs)  # type: ignore[arg-type]


def gaps(server: FakeBotApi) -> list[float]:
    times = [r.at for r in server.sent()]
    return [(b - a).total_seconds() for a, b in itertools.pairwise(times)]


async def test_a_trading_day_reads_well_on_a_phone(server: FakeBotApi, clock: SimClock) -> None:
    n = notifier(server, clock)
    router = AlertRouter(n, "live")
    await n.start()
    cid = "20261130-01"
    for event in (
        api.EngineStarted(profile="live", mode="live", account="U1234567"),
        api.CondorOpened(
            condor_id=cid,
            label="5950/5960P 6040/6050C",
            quantity=2,
            credit=Decimal("1.35"),
            first_trade=True,
        ),
        api.StopPlaced(
            condor_id=cid,
            trigger=Decimal("2.70"),
            limit=Decimal("3.20"),
            backup_trigger=Decimal("3.00"),
            order_ids=[11, 12],
        ),
        api.StopCancelled(condor_id=cid, reason="moved by tui"),
        api.StopPlaced(
            condor_id=cid,
            trigger=Decimal("2.40"),
            limit=Decimal("2.90"),
            backup_trigger=Decimal("2.70"),
            order_ids=[13, 14],
        ),
        api.StopTriggered(condor_id=cid, role="stop_limit", price=Decimal("2.45")),
        api.CondorClosed(
            condor_id=cid,
            reason="stop_limit",
            exit_debit=Decimal("2.45"),
            commissions=Decimal("10.40"),
            realized_pnl=Decimal("-230.40"),
        ),
        api.BrokerConnectionChanged(connected=False, reason="1100 connectivity lost"),
        api.BrokerConnectionChanged(connected=True, reason="1102 restored"),
        api.SessionClosed(
            day=MONDAY_10AM.date(),
            realized_pnl=Decimal("-230.40"),
            commissions=Decimal("10.40"),
            condors_opened=1,
            condors_closed=1,
        ),
        api.EngineStopped(reason="stop requested"),
    ):
        router(event)
    await eventually(lambda: len(server.sent()) == 10)
    await n.close()

    texts = server.texts()
    assert all(r.token == TOKEN and r.body["chat_id"] == CHAT for r in server.sent())
    started, opened, placed, moved, triggered, closed, lost, back, day, stopped = texts
    assert "live" in started and "U1234567" in started
    assert "5950/5960P 6040/6050C" in opened and "×2" in opened
    assert "credit 1.35 (+$270.00)" in opened and "first trade" in opened
    assert "stop placed" in placed and "trigger 2.70" in placed
    assert "stop moved" in moved and "trigger 2.40" in moved
    assert "STOP TRIGGERED" in triggered and "2.45" in triggered
    assert "CLOSED" in closed and "P&L -$230.40" in closed
    assert "LOST" in lost and "restored" in back
    assert "P&L -$230.40" in day and "1 opened, 1 closed" in day and cid in day
    assert "engine stopped" in stopped
    assert all(len(t) < 300 and t.count("\n") <= 4 for t in texts), "concise for a phone"
    assert all(t.startswith(("ℹ️ live", "⚠️ live", "🚨 live")) for t in texts)


async def test_messages_are_paced_within_telegrams_limits(
    server: FakeBotApi, clock: SimClock
) -> None:
    n = notifier(server, clock, min_interval_s=1.0, max_per_minute=20)
    await n.start()
    for i in range(25):
        n.notify(Message("info", f"alert {i}"))
    await eventually(lambda: len(server.sent()) == 25)
    await n.close()

    assert server.texts() == [f"alert {i}" for i in range(25)]
    assert min(gaps(server)) >= 0.9  # about one a second
    times = [r.at for r in server.sent()]
    for i, t in enumerate(times):  # never more than 20 in a minute
        assert sum(1 for u in times[i:] if u - t < timedelta(seconds=60)) <= 20
    assert (times[20] - times[0]).total_seconds() >= 59.5


async def test_429_is_retried_after_retry_after_and_5xx_with_backoff(
    server: FakeBotApi, clock: SimClock
) -> None:
    server.retry_after = 5
    server.script.extend([429, 500, 502, "ok"])
    n = notifier(server, clock)
    await n.start()
    n.notify(Message("warning", "stop triggered"))
    await eventually(lambda: n.stats.sent == 1)
    await n.close()

    assert server.texts() == ["stop triggered"] * 4  # one message, four tries
    first, second, third = gaps(server)
    assert first >= 5.0  # Telegram's retry_after
    assert second >= 2.0 and third >= 4.0  # exponential backoff
    assert n.stats.failed == 0


async def test_a_refusal_is_not_retried_and_later_alerts_still_go(
    server: FakeBotApi, clock: SimClock
) -> None:
    server.script.append(400)
    n = notifier(server, clock)
    await n.start()
    n.notify(Message("info", "to a chat that does not exist"))
    n.notify(Message("info", "next"))
    await eventually(lambda: n.stats.sent == 1)
    await n.close()

    assert server.texts() == ["to a chat that does not exist", "next"]
    assert n.stats.failed == 1


async def test_an_outage_never_blocks_the_caller_and_the_queue_stays_bounded(
    server: FakeBotApi, clock: SimClock
) -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, level="WARNING", format="{message}")
    server.default = "drop"  # the service hangs up on every request
    n = notifier(server, clock, queue_size=5, max_attempts=50, max_backoff_s=2.0)
    await n.start()
    try:
        n.notify(Message("critical", "broker connection LOST"))
        for i in range(30):
            n.notify(Message("info", f"info {i}"))  # returns at once, never raises
        assert n.pending == 5
        assert n.stats.dropped == 26
        await eventually(lambda: len(server.sent()) >= 5)  # retrying meanwhile
        server.default = "ok"
        await eventually(lambda: n.pending == 0)
    finally:
        await n.close()
        logger.remove(sink)

    delivered = [r.body["text"] for r in server.sent()[-n.stats.sent :]]
    # the least important, oldest alerts made room; the critical one survived
    assert delivered == ["broker connection LOST", "info 26", "info 27", "info 28", "info 29"]
    outage = [line for line in lines if "alerts are queued" in line]
    assert len(outage) == 1, "an outage is logged once, not once per try"
    assert [line.strip() for line in lines if "queue full" in line] == [
        "telegram: alert queue full (5): dropped the oldest info alert (1 dropped so far)"
    ]


async def test_quiet_hours_mute_the_phone_but_let_critical_alerts_ring(
    server: FakeBotApi,
) -> None:
    night = SimClock(datetime(2026, 11, 30, 22, 30, tzinfo=ET), speed=SPEED)
    quiet = Policy(quiet_start=time(21, 0), quiet_end=time(8, 0))
    n = notifier(server, night, policy=quiet)
    await n.start()
    n.notify(Message("info", "engine stopped"))
    n.notify(Message("critical", "position no condor owns"))
    await eventually(lambda: len(server.sent()) == 2)
    await n.close()

    silent = {r.body["text"]: r.body["disable_notification"] for r in server.sent()}
    assert silent == {"engine stopped": True, "position no condor owns": False}


def test_levels_and_quiet_hours_decide_what_is_sent() -> None:
    clock = SimClock(datetime(2026, 11, 30, 7, 59, tzinfo=ET))
    policy = Policy(level="warning", quiet_start=time(21), quiet_end=time(8), quiet_action="drop")
    n = MemoryNotifier(policy, clock)
    for level in ("info", "warning", "critical"):
        n.notify(Message(level, level))  # type: ignore[arg-type]
    assert [m.text for m in n.messages] == ["critical"]  # 07:59 is still quiet
    assert (
        Policy(quiet_start=time(21), quiet_end=time(8)).quiet(
            datetime(2026, 11, 30, 8, 0, tzinfo=ET)
        )
        is False
    )
    assert Policy(quiet_start=time(12), quiet_end=time(13)).quiet(
        datetime(2026, 11, 30, 12, 30, tzinfo=ET)
    )


async def test_close_delivers_what_is_queued_first(server: FakeBotApi, clock: SimClock) -> None:
    n = notifier(server, clock)
    await n.start()
    for text in ("closed", "day summary", "engine stopped"):
        n.notify(Message("info", text))
    await n.close(drain_s=60)
    assert server.texts() == ["closed", "day summary", "engine stopped"]


async def test_send_now_reports_a_refusal_without_the_token(
    server: FakeBotApi, clock: SimClock
) -> None:
    server.script.append(401)
    server.echo_path = True  # a server that repeats the URL (with the token) back
    n = notifier(server, clock)
    with pytest.raises(Rejected) as caught:
        await n.send_now(Message("info", "test"))
    assert caught.value.status == 401
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert "********" in str(caught.value)
