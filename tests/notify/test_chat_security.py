"""Telegram commands on a real-money account, attacked: strangers in a group, another member
confirming my command, guessed codes, a hostile Bot API, a flood of commands against a
critical alert, and ids in the logs. Against the fake Bot API on 127.0.0.1."""

from __future__ import annotations

import re
import string
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import pytest
from loguru import logger
from pydantic import ValidationError

from condordesk.config.profile import Profile
from condordesk.engine import api
from condordesk.market.clock import ET, SimClock
from condordesk.notify import BotApi, Message, Policy, TelegramNotifier
from condordesk.ops.chatops import CommandBot
from condordesk.ops.credentials import Secret
from tests.notify.support import FakeBotApi, Raw
from tests.notify.test_commands import FakeEngine
from tests.support.waiting import eventually

ME, MATE, STRANGER = 918273645, 827364519, 736451928  # user ids (private chat id = user id)
GROUP = -1001234567890  # a supergroup with all three in it
START = datetime(2026, 11, 30, 11, 0, tzinfo=ET)
CODE = re.compile(r"/confirm (\S+)")


@pytest.fixture
async def clock() -> SimClock:
    return SimClock(START, speed=100.0)


@pytest.fixture
async def server(clock: SimClock) -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(clock) as fake:
        yield fake


@pytest.fixture
def logs() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lines.append, level="DEBUG", format="{message}")
    yield lines
    logger.remove(sink)


def notifier_for(url: str, clock: SimClock, **options: object) -> TelegramNotifier:
    bot_api = BotApi(url, Secret("1:tok"), clock, timeout_s=1000.0)
    return TelegramNotifier(bot_api, Secret(str(GROUP)), Policy(), clock, **options)  # type: ignore[arg-type]


def make_bot(
    server: FakeBotApi,
    engine: FakeEngine,
    clock: SimClock,
    *,
    users: frozenset[int] = frozenset({ME, MATE}),
    groups: frozenset[int] | None = None,
    **options: object,
) -> CommandBot:
    notifier = notifier_for(server.url, clock, max_backoff_s=30.0)
    return CommandBot(
        notifier,
        engine,
        set(users),
        clock,
        groups=groups,
        poll_s=1,
        confirm_s=60,
        max_backoff_s=30.0,
        **options,  # type: ignore[arg-type]
    )


def said(server: FakeBotApi, chat: int) -> list[str]:
    return [r.body["text"] for r in server.sent() if r.body["chat_id"] == str(chat)]


async def test_a_group_member_not_in_the_list_can_neither_command_nor_confirm(
    server: FakeBotApi, clock: SimClock
) -> None:
    engine = FakeEngine()
    bot = make_bot(server, engine, clock, groups=frozenset({GROUP}))
    await bot.start()
    try:
        server.push_message(GROUP, "/pause", user_id=STRANGER)
        server.push_message(GROUP, "/status", user_id=STRANGER)
        server.push_message(STRANGER, "/flatten")  # nor in a private chat
        server.push_message(GROUP, "/flatten", user_id=ME)
        await eventually(lambda: len(said(server, GROUP)) == 1)
        code = CODE.search(said(server, GROUP)[0])
        assert code is not None
        server.push_message(GROUP, f"/confirm {code[1]}", user_id=STRANGER)
        server.push_message(GROUP, "/status", user_id=ME)  # answered after the stranger's
        await eventually(lambda: len(said(server, GROUP)) == 2)
    finally:
        await bot.stop()

    assert engine.commands == []
    assert "FLATTEN" in said(server, GROUP)[0]
    assert "armed" in said(server, GROUP)[1]
    assert said(server, STRANGER) == []


async def test_group_chats_are_refused_unless_the_profile_allows_them(
    server: FakeBotApi, clock: SimClock
) -> None:
    engine = FakeEngine()
    bot = make_bot(server, engine, clock)  # private chats only (the default)
    await bot.start()
    try:
        server.push_message(GROUP, "/status", user_id=ME)
        server.push_message(GROUP, "/pause", user_id=ME)
        server.push_message(-42, "/status", user_id=ME, chat_type="group")
        server.push_message(ME, "/status")
        await eventually(lambda: len(said(server, ME)) == 1)
    finally:
        await bot.stop()

    assert said(server, GROUP) == [] and said(server, -42) == []
    assert engine.commands == []


async def test_another_allowed_user_cannot_confirm_my_command(
    server: FakeBotApi, clock: SimClock
) -> None:
    engine = FakeEngine()
    bot = make_bot(server, engine, clock, groups=frozenset({GROUP}))
    await bot.start()
    try:
        server.push_message(GROUP, "/flatten", user_id=ME)
        await eventually(lambda: len(said(server, GROUP)) == 1)
        code = CODE.search(said(server, GROUP)[0])
        assert code is not None
        server.push_message(GROUP, f"/confirm {code[1]}", user_id=MATE)
        await eventually(lambda: len(said(server, GROUP)) == 2)
        assert engine.commands == []
        server.push_message(GROUP, f"/confirm {code[1]}", user_id=ME)
        await eventually(lambda: len(said(server, GROUP)) == 3)
        server.push_message(GROUP, f"/confirm {code[1]}", user_id=ME)  # single use
        await eventually(lambda: len(said(server, GROUP)) == 4)
    finally:
        await bot.stop()

    _, mate, done, again = said(server, GROUP)
    assert "nothing to confirm" in mate
    assert "accepted" in done
    assert "nothing to confirm" in again
    assert engine.commands == [api.FlattenAll(origin="telegram")]


async def test_three_wrong_codes_void_the_command_and_raise_an_alert(clock: SimClock) -> None:
    engine = FakeEngine()
    notifier = notifier_for("http://127.0.0.1:9", clock)
    bot = CommandBot(notifier, engine, {ME}, clock, confirm_s=60)
    asked = await bot.answer(ME, ME, "/flatten")
    code = CODE.search(asked)
    assert code is not None
    wrong = "A" * len(code[1]) if code[1] != "A" * len(code[1]) else "B" * len(code[1])
    first = await bot.answer(ME, ME, f"/confirm {wrong}")
    second = await bot.answer(ME, ME, f"/confirm {wrong}")
    assert "wrong code" in first and "2 tries left" in first and "1 try left" in second
    assert notifier.pending == 0
    third = await bot.answer(ME, ME, f"/confirm {wrong}")
    assert "void" in third
    assert "nothing to confirm" in await bot.answer(ME, ME, f"/confirm {code[1]}")
    assert engine.commands == []
    assert notifier.stats.levels == {"critical": 1}
    assert notifier.pending == 1  # the alert is queued for the alert chat


async def test_the_code_is_strong_and_expires(clock: SimClock) -> None:
    engine = FakeEngine()
    notifier = notifier_for("http://127.0.0.1:9", clock)
    bot = CommandBot(notifier, engine, {ME}, clock, confirm_s=60)
    codes = set()
    for _ in range(50):
        code = CODE.search(await bot.answer(ME, ME, "/pause"))
        assert code is not None
        codes.add(code[1])
    assert len(codes) == 50
    alphabet = set(string.ascii_letters + string.digits)
    assert all(len(c) >= 8 and set(c) <= alphabet for c in codes)
    assert len({ch for c in codes for ch in c}) > 20  # not digits only

    last = CODE.search(await bot.answer(ME, ME, "/close 20261130-01"))
    assert last is not None
    await clock.hibernate_until(clock.now() + timedelta(seconds=61))
    assert "expired" in await bot.answer(ME, ME, f"/confirm {last[1]}")
    assert "nothing to confirm" in await bot.answer(ME, ME, f"/confirm {last[1]}")
    assert engine.commands == []


async def test_a_hostile_bot_api_never_stops_the_command_bot(
    server: FakeBotApi, clock: SimClock, logs: list[str]
) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    server.poll_script.extend(
        [
            Raw(200, nested),
            Raw(429, b'{"ok":false,"error_code":429,"parameters":{"retry_after":1e12}}'),
            Raw(429, b'{"ok":false,"error_code":429,"parameters":{"retry_after":NaN}}'),
            Raw(200, b"<html>gateway</html>"),
            Raw(200, b'{"ok":true,"result":[{"update_id":"x","message":[]},5,null]}'),
            Raw(200, b'{"ok":true,"result":{"update_id":1}}'),
        ]
    )
    engine = FakeEngine()
    bot = make_bot(server, engine, clock)
    await bot.start()
    try:
        server.push_message(ME, "/status")
        await eventually(lambda: len(said(server, ME)) == 1)  # within 10 real s: 1000 clock s
    finally:
        await bot.stop()

    assert "armed" in said(server, ME)[0]
    warnings = [line for line in logs if "telegram commands" in line and "again" not in line]
    assert len(warnings) == 1, warnings  # logged once, not once per broken answer


async def test_a_hostile_bot_api_never_stops_nor_stalls_the_alerts(
    server: FakeBotApi, clock: SimClock
) -> None:
    server.script.extend(
        [
            Raw(200, b"[" * 100_000 + b"]" * 100_000),
            Raw(429, b'{"ok":false,"error_code":429,"parameters":{"retry_after":1e12}}'),
            Raw(200, b'{"ok":"yes","result":[[[]]]}'),
        ]
    )
    notifier = notifier_for(server.url, clock, max_backoff_s=30.0)
    await notifier.start()
    try:
        notifier.notify(Message("critical", "broker connection LOST"))
        notifier.notify(Message("info", "engine started"))
        await eventually(lambda: len(server.texts()) >= 4 and notifier.pending == 0)
    finally:
        await notifier.close(0)

    assert [r.body["text"] for r in server.sent()][-2:] == [
        "broker connection LOST",
        "engine started",
    ]
    assert notifier.stats.sent == 2 and notifier.stats.failed == 0


async def test_a_flood_of_commands_never_delays_a_critical_alert(
    server: FakeBotApi, clock: SimClock
) -> None:
    engine = FakeEngine()
    bot = make_bot(server, engine, clock)
    notifier = bot.notifier
    await notifier.start()
    await bot.start()
    try:
        for _ in range(25):
            server.push_message(ME, "/status")
        await eventually(lambda: len(said(server, ME)) == 25)
        raised = clock.now()
        notifier.notify(Message("critical", "STOP TRIGGERED"))
        await eventually(lambda: "STOP TRIGGERED" in server.texts())
    finally:
        await bot.stop()
        await notifier.close(0)

    alert = next(r for r in server.sent() if r.body["text"] == "STOP TRIGGERED")
    assert (alert.at - raised).total_seconds() < 3.0


async def test_chat_and_user_ids_are_masked_in_the_logs(
    server: FakeBotApi, clock: SimClock, logs: list[str]
) -> None:
    engine = FakeEngine()
    bot = make_bot(server, engine, clock, groups=frozenset({GROUP}))
    await bot.start()
    try:
        server.push_message(GROUP, "/pause", user_id=STRANGER)
        server.push_message(STRANGER, "/pause")
        server.push_message(-555444333222, "/status", user_id=ME)
        server.push_message(ME, "/pause lunch")
        await eventually(lambda: len(said(server, ME)) == 1)
        code = CODE.search(said(server, ME)[0])
        assert code is not None
        server.push_message(ME, f"/confirm {code[1]}")
        await eventually(lambda: len(said(server, ME)) == 2)
    finally:
        await bot.stop()

    assert engine.commands == [api.PauseEntries(origin="telegram", reason="lunch")]
    text = "\n".join(logs)
    assert "ignored" in text and "PAUSE" in text  # the refusals and the command are logged
    for secret in (ME, STRANGER, GROUP, -555444333222):
        assert str(abs(secret)) not in text
        assert str(abs(secret))[:-2] not in text
    assert str(GROUP) not in repr(bot) and str(ME) not in repr(bot)


def test_the_profile_lists_the_users_who_may_command() -> None:
    def telegram(**keys: object) -> Profile:
        return Profile.model_validate({"notify": {"telegram": keys}})

    t = telegram(commands=True, allowed_user_ids=[ME]).notify.telegram
    assert t.allowed_user_ids == (ME,) and t.allow_groups is False and t.confirm_attempts == 3
    with pytest.raises(ValidationError, match="allowed_user_ids"):
        telegram(commands=True)  # commands, but nobody may send them
    with pytest.raises(ValidationError, match="allowed_user_ids"):
        telegram(allowed_user_ids=[-5])  # a group's id is not a user
    with pytest.raises(ValidationError, match="allowed_user_ids"):
        telegram(allowed_user_ids=[True])
    with pytest.raises(ValidationError, match="confirm_attempts"):
        telegram(confirm_attempts=0)
    with pytest.raises(ValidationError, match="confirm_timeout_s"):
        telegram(confirm_timeout_s=3600)


async def test_an_error_that_names_the_alert_chat_is_logged_masked(
    server: FakeBotApi, clock: SimClock, logs: list[str]
) -> None:
    refusal = b'{"ok":false,"error_code":400,"description":"Bad Request: chat %d not found"}'
    server.script.append(Raw(400, refusal % GROUP))
    notifier = notifier_for(server.url, clock)
    await notifier.start()
    try:
        notifier.notify(Message("warning", "order rejected"))
        await eventually(lambda: notifier.stats.failed == 1)
    finally:
        await notifier.close(0)

    text = "\n".join(logs)
    assert "not found" in text and "***90" in text
    assert str(abs(GROUP)) not in text and str(abs(GROUP)) not in notifier.stats.last_error
