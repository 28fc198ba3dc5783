"""A planted bot token must show up nowhere but in the requests to the Bot API: not in the
logs, the journal (events and the SQLite file itself), exceptions or any repr."""

from __future__ import annotations

import json
import traceback
from pathlib import Path

import pytest
from loguru import logger

from condordesk.app.bootstrap import build_sim
from condordesk.config.loader import effective_toml
from condordesk.market.vtime import run_virtual
from condordesk.notify import Message, NotifyError, TelegramNotifier
from condordesk.ops.alerts import build_alerts
from condordesk.ops.credentials import SecretMissing, SecretStore
from condordesk.store.journal import Journal
from tests.engine.harness import make_profile
from tests.notify.support import FakeBotApi

pytestmark = pytest.mark.usefixtures("warm_calendar")

PLANTED = "778899:PLANTED-bot-token-do-not-leak"


def test_a_planted_token_appears_in_no_log_event_exception_or_repr(tmp_path: Path) -> None:
    lines: list[str] = []
    sink = logger.add(
        lines.append, level="TRACE", backtrace=True, diagnose=True, format="{message}"
    )
    journal_path = tmp_path / "journal.sqlite3"
    profile = make_profile()
    rt = build_sim(profile, journal_path=journal_path)
    texts: list[str] = []
    seen_tokens: list[str] = []

    async def main() -> None:
        store = SecretStore("sim", environ={})
        store.set("telegram_bot_token", PLANTED)
        store.set("telegram_chat_id", "4242")
        # a leaky server: refusals repeat the URL (with the token); 5xx; then it works
        async with FakeBotApi(rt.clock, echo_path=True) as fake:
            fake.script.extend([401, 500, 503, 401])
            alerts_profile = make_profile(
                notify={"enabled": True, "telegram": {"api_url": fake.url}}
            )
            alerts = build_alerts(alerts_profile, rt.engine, clock=rt.clock, store=store)
            async with alerts:
                await rt.engine.run()
            notifier = alerts.notifier
            assert isinstance(notifier, TelegramNotifier)
            texts.extend(
                [
                    repr(alerts_profile),
                    str(alerts_profile),
                    effective_toml(alerts_profile),
                    repr(alerts),
                    repr(notifier),
                    repr(notifier.api),
                    repr(notifier.chat),
                    repr(store),
                    repr(store.resolve("telegram_bot_token")),
                    f"{store.get('telegram_bot_token')}",
                    repr(rt),
                    str(notifier.stats),
                ]
            )
            fake.default = 401
            errors: list[BaseException] = []
            try:
                await notifier.send_now(Message("info", "refused"))
            except NotifyError as exc:
                errors.append(exc)
            try:
                SecretStore("other", environ={}).get("telegram_bot_token")
            except SecretMissing as exc:
                errors.append(exc)
            for exc in errors:
                texts.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])
                logger.opt(exception=exc).error("logged with a traceback")
            seen_tokens.extend(r.token for r in fake.requests)

    try:
        run_virtual(main())
    finally:
        rt.journal.close()
        logger.remove(sink)

    assert PLANTED in seen_tokens, "the token was used (so the scan below can fail)"
    assert len(texts) > 12 and len(lines) > 50
    journal = Journal(journal_path)
    try:
        events = [json.dumps(p) for _, _, _, p in journal.events(since=0, limit=1_000_000)]
    finally:
        journal.close()
    assert any("StopPlaced" in e for e in events)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("journal.sqlite3*"))

    assert PLANTED.encode() not in raw
    for where, haystack in (("log", lines), ("journal", events), ("repr/exception", texts)):
        leaks = [text for text in haystack if PLANTED in text]
        assert not leaks, f"the token leaked into the {where}: {leaks[0][:200]}"
    assert any("********" in line for line in lines), "the refusal was logged, masked"
