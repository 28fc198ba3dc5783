"""Telegram commands (optional, off by default): ask the engine from a phone.

``/status`` and ``/pnl`` answer read-only from the engine's snapshot. ``/pause [reason]``,
``/resume``, ``/close ID`` and ``/flatten`` change what the engine does, so each needs a
``/confirm CODE`` reply from the same chat within ``notify.telegram.confirm_timeout_s``; it
is then submitted as an engine Command with origin ``telegram`` (journaled like any other).
Only the alert chat and ``notify.telegram.allowed_chat_ids`` are answered; any other chat
is ignored and logged. Updates come by ``getUpdates`` long polling; a failing Bot API is
retried with backoff on the clock and never affects trading.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets as _random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from loguru import logger

from condordesk.alerts import money
from condordesk.config.profile import Profile
from condordesk.engine import api
from condordesk.market.clock import Clock
from condordesk.notify import NotifyError, RateLimited, TelegramNotifier

HELP = (
    "/status: engine state and condors\n/pnl: today's P&L\n"
    "/pause [reason], /resume, /close ID, /flatten: need /confirm CODE"
)


class Engineish(Protocol):
    """What the bot needs of the engine (an EngineHandle has it)."""

    def snapshot(self) -> api.Snapshot: ...

    async def submit(self, command: api.Command) -> api.Ack: ...


@dataclass(frozen=True, slots=True)
class _Pending:
    code: str
    command: api.Command
    what: str
    expires: datetime


class CommandBot:
    """Answers allowed chats from the engine; see the module docstring.

    Args:
        notifier: The Telegram notifier (its Bot API client and rate limits are shared).
        engine: Snapshot and submit.
        allowed: Chat ids answered.
        clock: Expires confirmations and paces retries.
        poll_s: Long-polling timeout of ``getUpdates``.
        confirm_s: Seconds a confirmation code stays valid.
    """

    def __init__(
        self,
        notifier: TelegramNotifier,
        engine: Engineish,
        allowed: set[int],
        clock: Clock,
        *,
        poll_s: int = 30,
        confirm_s: float = 60.0,
    ) -> None:
        self._notifier = notifier
        self._engine = engine
        self.allowed = allowed
        self._clock = clock
        self._poll_s = poll_s
        self._confirm_s = confirm_s
        self._pending: dict[int, _Pending] = {}
        self._offset = 0
        self._task: asyncio.Task[None] | None = None
        self._handling: set[asyncio.Task[None]] = set()

    @classmethod
    def for_notifier(
        cls, notifier: TelegramNotifier, engine: Engineish, profile: Profile, clock: Clock
    ) -> CommandBot:
        """The bot of a profile: the alert chat plus ``allowed_chat_ids`` may command."""
        t = profile.notify.telegram
        allowed = set(t.allowed_chat_ids)
        with contextlib.suppress(ValueError):
            allowed.add(int(notifier.chat.reveal()))
        return cls(
            notifier, engine, allowed, clock, poll_s=t.poll_timeout_s, confirm_s=t.confirm_timeout_s
        )

    def __repr__(self) -> str:
        return f"CommandBot(allowed={len(self.allowed)} chat(s))"

    async def start(self) -> None:
        """Start long polling in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="telegram-commands")

    async def stop(self) -> None:
        """Stop polling."""
        task, self._task = self._task, None
        for t in [*self._handling, *([task] if task else [])]:
            t.cancel()
        for t in [*self._handling, *([task] if task else [])]:
            with contextlib.suppress(asyncio.CancelledError):
                await t

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                updates = await self._notifier.api.get_updates(self._offset, self._poll_s)
            except RateLimited as exc:
                await self._clock.sleep(exc.retry_after)
                continue
            except NotifyError as exc:
                failures += 1
                if failures == 1:
                    logger.warning("telegram commands: {}; polling again with backoff", exc)
                await self._clock.sleep(min(300.0, 2.0 ** min(failures, 9)))
                continue
            failures = 0
            for update in updates:
                uid = update.get("update_id")
                if isinstance(uid, int):  # before the next poll: each update is seen once
                    self._offset = max(self._offset, uid + 1)
                # each in a task of its own: a /confirm of /flatten may chase for minutes,
                # and /status must still answer meanwhile (tasks start in arrival order)
                task = asyncio.create_task(self._on_update(update))
                self._handling.add(task)
                task.add_done_callback(self._handling.discard)

    async def _on_update(self, update: dict[str, Any]) -> None:
        message = update.get("message")
        if not isinstance(message, dict):
            return
        chat = message.get("chat")
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        text = message.get("text")
        if not isinstance(chat_id, int) or not isinstance(text, str):
            return
        if chat_id not in self.allowed:
            logger.warning("telegram commands: ignored a message from chat {}", chat_id)
            return
        try:
            reply = await self.answer(chat_id, text)
            await self._notifier.reply(chat_id, reply)
        except NotifyError as exc:
            logger.warning("telegram commands: could not answer: {}", exc)
        except Exception as exc:  # no traceback: a frame could show the bot's URL
            logger.error("telegram commands: {!r} failed: {}", text[:40], type(exc).__name__)

    async def answer(self, chat_id: int, text: str) -> str:
        """The reply to one message from an allowed chat (carrying out a confirmed command)."""
        words = text.strip().split()
        if not words:
            return HELP
        verb = words[0].split("@")[0].lower()
        args = words[1:]
        if verb == "/status":
            return render_status(self._engine.snapshot())
        if verb == "/pnl":
            return render_pnl(self._engine.snapshot())
        if verb == "/confirm":
            return await self._confirm(chat_id, args[0] if args else "")
        if verb == "/cancel":
            return "nothing to cancel" if self._pending.pop(chat_id, None) is None else "cancelled"
        proposal = _propose(verb, args)
        if proposal is None:
            return HELP
        if isinstance(proposal, str):
            return proposal
        command, what = proposal
        code = f"{_random.randbelow(10_000):04d}"
        expires = self._clock.now() + timedelta(seconds=self._confirm_s)
        self._pending[chat_id] = _Pending(code, command, what, expires)
        return f"{what}?\nReply /confirm {code} within {self._confirm_s:g} s (or /cancel)."

    async def _confirm(self, chat_id: int, code: str) -> str:
        pending = self._pending.get(chat_id)
        if pending is None:
            return "nothing to confirm"
        if self._clock.now() > pending.expires:
            del self._pending[chat_id]
            return "too late: the confirmation expired; send the command again"
        if code != pending.code:
            return "wrong code; nothing done"
        del self._pending[chat_id]
        ack = await self._engine.submit(pending.command)
        logger.info("telegram command {} from chat {}: {}", pending.what, chat_id, ack)
        if ack.accepted:
            return f"✅ {pending.what}: accepted"
        return f"❌ {pending.what}: {ack.reason}"


Proposal = tuple[api.Command, str] | str | None
_MAKERS: dict[str, Callable[[list[str]], Proposal]] = {
    "/pause": lambda a: (
        api.PauseEntries(origin="telegram", reason=" ".join(a) or "telegram"),
        "PAUSE new entries",
    ),
    "/resume": lambda a: (api.ResumeEntries(origin="telegram"), "RESUME entries"),
    "/flatten": lambda a: (api.FlattenAll(origin="telegram"), "FLATTEN: close every condor"),
    "/close": lambda a: (
        (api.CloseCondor(origin="telegram", condor_id=a[0]), f"CLOSE {a[0]} at market")
        if a
        else "usage: /close CONDOR_ID"
    ),
}


def _propose(verb: str, args: list[str]) -> Proposal:
    maker = _MAKERS.get(verb)
    return maker(args) if maker else None


def render_status(snap: api.Snapshot) -> str:
    """``/status``: state, link, SPX, open condors, alerts (short, for a phone)."""
    link = "connected" if snap.connected else "DISCONNECTED"
    spx = f"SPX {snap.spot:.2f}" if snap.spot is not None else "SPX -"
    lines = [f"{snap.profile} ({snap.mode}): {snap.state}, {link}, {spx}"]
    if snap.paused_reason:
        lines.append(f"paused: {snap.paused_reason}")
    live = [c for c in snap.condors if c.state not in ("closed", "cancelled")]
    for c in live:
        pnl = money(c.unrealized_pnl) if c.unrealized_pnl is not None else "-"
        stop = f"stop {c.stop_trigger:.2f}" if c.stop_trigger is not None else c.stop_state
        lines.append(f"• {c.id} {c.label} ×{c.quantity} {pnl} ({stop})")
    if not live:
        lines.append("no open condor")
    if snap.open_alerts:
        lines.append(f"{len(snap.open_alerts)} open alert(s): {snap.open_alerts[-1]}")
    return "\n".join(lines)


def render_pnl(snap: api.Snapshot) -> str:
    """``/pnl``: today's realized and open P&L."""
    total: Decimal = snap.realized_pnl + snap.unrealized_pnl
    return (
        f"{snap.profile} {snap.day or ''}: P&L {money(total)}\n"
        f"realized {money(snap.realized_pnl)}, open {money(snap.unrealized_pnl)}"
    )
