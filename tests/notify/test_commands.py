"""Telegram commands: read-only answers to allowed chats, confirmed commands journaled with
origin telegram, and silence towards everyone else."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.engine import api
from condordesk.market.clock import ET, SimClock
from condordesk.notify import BotApi, Policy, TelegramNotifier
from condordesk.ops.alerts import build_alerts
from condordesk.ops.chatops import CommandBot
from condordesk.ops.credentials import Secret, SecretStore
from tests.engine.harness import make_profile, run_engine, until
from tests.notify.support import FakeBotApi
from tests.support.waiting import eventually

OURS, OTHER = 4242, 666
START = datetime(2026, 11, 30, 11, 0, tzinfo=ET)


class FakeEngine:
    """Snapshot and submit, recording the commands (a stateful stand-in for a handle)."""

    def __init__(self) -> None:
        self.commands: list[api.Command] = []
        self.gate: asyncio.Event | None = None  # set: commands wait for it (a long close)

    def snapshot(self) -> api.Snapshot:
        condor = api.CondorView(
            id="20261130-01",
            state="open",
            label="5950/5960P 6040/6050C",
            long_put=Decimal(5950),
            short_put=Decimal(5960),
            short_call=Decimal(6040),
            long_call=Decimal(6050),
            quantity=1,
            credit=Decimal("1.40"),
            mark=Decimal("0.90"),
            debit=Decimal("0.95"),
            unrealized_pnl=Decimal("45.00"),
            realized_pnl=None,
            profit_target=Decimal("0.05"),
            stop_trigger=Decimal("2.80"),
            stop_limit=Decimal("3.30"),
            stop_backup=Decimal("3.10"),
            stop_state="verified",
            first_trade=True,
            opened_ts=START,
            exit_reason=None,
        )
        return api.Snapshot(
            seq=10,
            ts=START,
            profile="live",
            mode="live",
            account="U1234567",
            state="armed",
            paused_reason=None,
            connected=True,
            spot=Decimal("6001.25"),
            day=START.date(),
            condors=[condor],
            realized_pnl=Decimal("120.00"),
            unrealized_pnl=Decimal("45.00"),
        )

    async def submit(self, command: api.Command) -> api.Ack:
        self.commands.append(command)
        if self.gate is not None:
            await self.gate.wait()
        return api.Ack(True)


@pytest.fixture
async def clock() -> SimClock:
    return SimClock(START, speed=100.0)


@pytest.fixture
async def server(clock: SimClock) -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(clock) as fake:
        yield fake


def make_bot(url: str, engine: object, clock: SimClock) -> CommandBot:
    bot_api = BotApi(url, Secret("1:tok"), clock, timeout_s=1000.0)
    notifier = TelegramNotifier(bot_api, Secret(str(OURS)), Policy(), clock)
    return CommandBot(notifier, engine, {OURS}, clock, poll_s=1, confirm_s=60)  # type: ignore[arg-type]


def replies(server: FakeBotApi, chat: int) -> list[str]:
    return [r.body["text"] for r in server.sent() if r.body["chat_id"] == str(chat)]


async def test_status_and_pnl_answer_the_allowed_chat_only(
    server: FakeBotApi, clock: SimClock
) -> None:
    engine = FakeEngine()
    bot = make_bot(server.url, engine, clock)
    await bot.start()
    try:
        server.push_message(OTHER, "/status")
        server.push_message(OTHER, "/flatten")
        server.push_message(OURS, "/status")
        server.push_message(OURS, "/pnl")
        await eventually(lambda: len(replies(server, OURS)) == 2)
    finally:
        await bot.stop()

    status, pnl = replies(server, OURS)
    assert "live (live): armed, connected, SPX 6001.25" in status
    assert "20261130-01 5950/5960P 6040/6050C" in status and "stop 2.80" in status
    assert "P&L +$165.00" in pnl and "realized +$120.00" in pnl
    assert replies(server, OTHER) == []
    assert engine.commands == []


async def test_a_command_that_changes_positions_needs_the_confirmation_code(
    server: FakeBotApi, clock: SimClock
) -> None:
    engine = FakeEngine()
    bot = make_bot(server.url, engine, clock)
    await bot.start()
    try:
        server.push_message(OURS, "/flatten")
        await eventually(lambda: len(replies(server, OURS)) == 1)
        code = re.search(r"/confirm (\S+)", replies(server, OURS)[0])
        assert code is not None
        wrong = "WRONGCODE2" if code[1] != "WRONGCODE2" else "WRONGCODE3"
        server.push_message(OURS, f"/confirm {wrong}")
        await eventually(lambda: len(replies(server, OURS)) == 2)
        assert engine.commands == []
        server.push_message(OTHER, f"/confirm {code[1]}")  # another user cannot confirm
        server.push_message(OURS, f"/confirm {code[1]}")
        await eventually(lambda: len(replies(server, OURS)) == 3)
    finally:
        await bot.stop()

    asked, refused, done = replies(server, OURS)
    assert "FLATTEN" in asked and "within 60 s" in asked
    assert "wrong code" in refused
    assert "accepted" in done
    assert engine.commands == [api.FlattenAll(origin="telegram")]


async def test_status_still_answers_while_a_confirmed_command_is_carried_out(
    server: FakeBotApi, clock: SimClock
) -> None:
    engine = FakeEngine()
    engine.gate = asyncio.Event()
    bot = make_bot(server.url, engine, clock)
    await bot.start()
    try:
        server.push_message(OURS, "/close 20261130-01")
        await eventually(lambda: len(replies(server, OURS)) == 1)
        code = re.search(r"/confirm (\S+)", replies(server, OURS)[0])
        assert code is not None
        server.push_message(OURS, f"/confirm {code[1]}")
        await eventually(lambda: len(engine.commands) == 1)
        server.push_message(OURS, "/status")
        await eventually(lambda: len(replies(server, OURS)) == 2)
        assert "armed" in replies(server, OURS)[1]  # answered while the close goes on
        engine.gate.set()
        await eventually(lambda: len(replies(server, OURS)) == 3)
    finally:
        await bot.stop()

    assert "CLOSE 20261130-01" in replies(server, OURS)[2]
    assert "accepted" in replies(server, OURS)[2]
    assert engine.commands == [api.CloseCondor(origin="telegram", condor_id="20261130-01")]


async def test_a_confirmation_expires(clock: SimClock) -> None:
    engine = FakeEngine()
    bot = make_bot("http://127.0.0.1:9", engine, clock)
    asked = await bot.answer(OURS, OURS, "/close 20261130-01")
    code = re.search(r"/confirm (\S+)", asked)
    assert code is not None
    await clock.hibernate_until(clock.now() + timedelta(seconds=61))
    assert "expired" in await bot.answer(OURS, OURS, f"/confirm {code[1]}")
    assert engine.commands == []
    assert "usage" in await bot.answer(OURS, OURS, "/close")


@pytest.mark.usefixtures("warm_calendar")
def test_a_confirmed_telegram_command_is_journaled_with_origin_telegram(tmp_path: Path) -> None:
    answers: list[str] = []

    async def from_the_phone(rt: Runtime) -> None:
        await until(rt, lambda: rt.engine.state == "armed")
        assert isinstance(rt.clock, SimClock)
        bot = make_bot("http://127.0.0.1:9", rt.engine, rt.clock)
        answers.append(await bot.answer(OURS, OURS, "/pause FOMC"))
        code = re.search(r"/confirm (\S+)", answers[0])
        assert code is not None
        answers.append(await bot.answer(OURS, OURS, f"/confirm {code[1]}"))

    out = run_engine(make_profile(), tmp_path, from_the_phone)

    assert "accepted" in answers[-1]
    received = [e for e in out.of(api.CommandReceived) if e.origin == "telegram"]
    assert [(e.command, e.accepted) for e in received] == [("PauseEntries", True)]
    paused = out.of(api.EntriesPaused)
    assert paused and paused[0].origin == "telegram" and paused[0].reason == "FOMC"


class _Bus:
    def __init__(self) -> None:
        self.listeners: list[object] = []

    def add_listener(self, listener: object) -> None:
        self.listeners.append(listener)


class _EngineWithBus(FakeEngine):
    def __init__(self) -> None:
        super().__init__()
        self.bus = _Bus()


def test_commands_are_off_by_default_and_answer_listed_users_in_private_or_allowed_groups() -> None:
    store = SecretStore("sim", environ={})
    store.set("telegram_bot_token", "1:tok")
    store.set("telegram_chat_id", str(OURS))
    engine = _EngineWithBus()

    assert not build_alerts(make_profile(), engine, store=store).enabled
    assert engine.bus.listeners == []
    plain = build_alerts(make_profile(notify={"enabled": True}), engine, store=store)
    assert plain.enabled and plain.commands is None
    private = make_profile(
        notify={"enabled": True, "telegram": {"commands": True, "allowed_user_ids": [7]}}
    )
    bot = build_alerts(private, engine, store=store).commands
    assert bot is not None and bot.users == {7} and bot.groups is None
    groups = make_profile(
        notify={
            "enabled": True,
            "telegram": {
                "commands": True,
                "allowed_user_ids": [7, 8],
                "allow_groups": True,
                "allowed_chat_ids": [-100],
            },
        }
    )
    bot = build_alerts(groups, engine, store=store).commands
    assert bot is not None and bot.users == {7, 8} and bot.groups == {OURS, -100}
    assert len(engine.bus.listeners) == 3  # one router per build
