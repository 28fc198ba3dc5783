"""Telegram commands (optional, off by default): ask the engine from a phone.

``/status`` and ``/pnl`` answer read-only from the engine's snapshot. ``/pause [reason]``,
``/resume``, ``/close ID`` and ``/flatten`` change what the engine does, so each needs a
``/confirm CODE`` reply within ``notify.telegram.confirm_timeout_s``; it is then submitted as an
engine Command with origin ``telegram`` (journaled like any other).

Who may command is decided by the sender's Telegram *user id*
(``notify.telegram.allowed_user_ids``), never by the chat: in a private chat with the bot, and
in group chats only when ``allow_groups`` is on (the alert chat and ``allowed_chat_ids``), and
there still only from the listed users. Anything else is ignored and logged with masked ids. A
confirmation belongs to the user (and chat) who asked: a code of :data:`CODE_LENGTH` characters
from a CSPRNG, single use, expiring on the clock; ``confirm_attempts`` wrong codes void the
command and raise a critical alert. Updates come by ``getUpdates`` long polling; any failing or
hostile Bot API answer is logged once and retried with a capped backoff, and never stops the
bot nor affects trading.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets as _random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from loguru import logger

from condordesk.config.profile import Profile
from condordesk.engine import api
from condordesk.market.clock import Clock
from condordesk.notify import Message, RateLimited, TelegramNotifier, mask_id
from condordesk.notify.text import money

HELP = (
    "/status: engine state and condors\n/pnl: today's P&L\n"
    "/pause [reason], /resume, /close ID, /flatten: need /confirm CODE"
)
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a phone
CODE_LENGTH = 10  # 31**10 (about 8e14) codes
MAX_HANDLING = 32  # messages being answered at once; more are ignored (a flood)


class Engineish(Protocol):
    """What the bot needs of the engine (an EngineHandle has it)."""

    def snapshot(self) -> api.Snapshot: ...

    async def submit(self, command: api.Command) -> api.Ack: ...


@dataclass(slots=True)
class _Pending:
    code: str
    command: api.Command
    what: str
    expires: datetime
    tries_left: int


def new_code() -> str:
    """A confirmation code: :data:`CODE_LENGTH` characters of :data:`CODE_ALPHABET`, from the
    operating system's CSPRNG."""
    return "".join(_random.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True, slots=True)
class _From:
    """Who wrote a message, and where."""

    chat: int
    user: int
    private: bool

    @classmethod
    def of(cls, message: dict[str, Any]) -> _From | None:
        chat, sender = message.get("chat"), message.get("from")
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        user_id = sender.get("id") if isinstance(sender, dict) else None
        kind = chat.get("type") if isinstance(chat, dict) else None
        if type(chat_id) is not int or type(user_id) is not int:
            return None  # a channel post, an anonymous group admin, or a broken update
        return cls(chat_id, user_id, chat_id == user_id and kind in ("private", None))


class CommandBot:
    """Answers the allowed users from the engine; see the module docstring.

    Args:
        notifier: The Telegram notifier (its Bot API client; replies go within its budget
            for replies, after its alerts; a voided command raises an alert through it).
        engine: Snapshot and submit.
        users: Telegram user ids who may command.
        clock: Expires confirmations and paces retries.
        groups: Group chat ids where the users may command too; None: private chats only.
        poll_s: Long-polling timeout of ``getUpdates``.
        confirm_s: Seconds a confirmation code stays valid.
        max_tries: Wrong codes before the command is void (and an alert goes out).
        max_backoff_s: Longest wait between two polls after failures (and the cap on a
            server's ``retry_after``).
    """

    def __init__(
        self,
        notifier: TelegramNotifier,
        engine: Engineish,
        users: Iterable[int],
        clock: Clock,
        *,
        groups: Iterable[int] | None = None,
        poll_s: int = 30,
        confirm_s: float = 60.0,
        max_tries: int = 3,
        max_backoff_s: float = 300.0,
    ) -> None:
        self._notifier = notifier
        self._engine = engine
        self.users = frozenset(users)
        self.groups = None if groups is None else frozenset(groups)
        self._clock = clock
        self._poll_s = poll_s
        self._confirm_s = confirm_s
        self._max_tries = max_tries
        self._max_backoff_s = max_backoff_s
        self._pending: dict[tuple[int, int], _Pending] = {}
        self._offset = 0
        self._task: asyncio.Task[None] | None = None
        self._handling: set[asyncio.Task[None]] = set()
        self._ignored: set[tuple[int, int]] = set()  # logged once each (bounded)
        self._flooded = False

    @classmethod
    def for_notifier(
        cls, notifier: TelegramNotifier, engine: Engineish, profile: Profile, clock: Clock
    ) -> CommandBot:
        """The bot of a profile: ``allowed_user_ids`` may command, in private chats, and with
        ``allow_groups`` in the alert chat and ``allowed_chat_ids`` too."""
        t = profile.notify.telegram
        groups: set[int] | None = None
        if t.allow_groups:
            groups = set(t.allowed_chat_ids)
            with contextlib.suppress(ValueError):
                groups.add(int(notifier.chat.reveal()))
        return cls(
            notifier,
            engine,
            t.allowed_user_ids,
            clock,
            groups=groups,
            poll_s=t.poll_timeout_s,
            confirm_s=t.confirm_timeout_s,
            max_tries=t.confirm_attempts,
            max_backoff_s=profile.notify.max_backoff_s,
        )

    def __repr__(self) -> str:
        groups = "no groups" if self.groups is None else f"{len(self.groups)} group(s)"
        return f"CommandBot({len(self.users)} user(s), {groups})"

    @property
    def notifier(self) -> TelegramNotifier:
        """The notifier the bot answers through."""
        return self._notifier

    async def start(self) -> None:
        """Start long polling in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="telegram-commands")
            self._task.add_done_callback(_never_silently)

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
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # anything a broken or hostile server causes
                failures += 1
                if failures == 1:
                    logger.warning(
                        "telegram commands: {}: {}; retrying with a capped backoff",
                        type(exc).__name__,
                        self._notifier.api.scrub(str(exc))[:200],
                    )
                await self._clock.sleep(self._backoff(exc, failures))
                continue
            if failures:
                logger.info("telegram commands: polling again after {} failure(s)", failures)
                failures = 0
            try:
                self._dispatch(updates)
            except Exception as exc:  # a bug must not end the polling
                logger.error("telegram commands: could not handle updates: {!r}", exc)

    def _backoff(self, exc: Exception, failures: int) -> float:
        if isinstance(exc, RateLimited):
            return min(exc.retry_after, self._max_backoff_s)
        return min(self._max_backoff_s, 2.0 ** min(failures, 9))

    def _dispatch(self, updates: list[dict[str, Any]]) -> None:
        for update in updates:
            uid = update.get("update_id")
            if type(uid) is int:  # before the next poll: each update is seen once
                self._offset = max(self._offset, uid + 1)
            if len(self._handling) >= MAX_HANDLING:
                if not self._flooded:
                    self._flooded = True
                    logger.warning("telegram commands: flooded; ignoring messages meanwhile")
                continue
            self._flooded = False
            # each in a task of its own: a /confirm of /flatten may chase for minutes,
            # and /status must still answer meanwhile (tasks start in arrival order)
            task = asyncio.create_task(self._on_update(update))
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)

    def allowed(self, sender: _From) -> bool:
        """Whether ``sender`` may talk to the bot there."""
        if sender.user not in self.users:
            return False
        return sender.private or (self.groups is not None and sender.chat in self.groups)

    async def _on_update(self, update: dict[str, Any]) -> None:
        message = update.get("message")
        if not isinstance(message, dict):
            return
        sender = _From.of(message)
        text = message.get("text")
        if sender is None or not isinstance(text, str):
            return
        if not self.allowed(sender):
            self._ignore(sender)
            return
        try:
            reply = await self.answer(sender.chat, sender.user, text)
            await self._notifier.reply(sender.chat, reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # no traceback: a frame could show the bot's URL
            logger.warning(
                "telegram commands: answering user {} failed: {}: {}",
                mask_id(sender.user),
                type(exc).__name__,
                self._notifier.api.scrub(str(exc))[:200],
            )

    def _ignore(self, sender: _From) -> None:
        key = (sender.chat, sender.user)
        if key in self._ignored:
            return
        if len(self._ignored) < 1000:
            self._ignored.add(key)
        logger.warning(
            "telegram commands: ignored a message from user {} in {} chat {} (not allowed)",
            mask_id(sender.user),
            "a private" if sender.private else "a group",
            mask_id(sender.chat),
        )

    async def answer(self, chat_id: int, user_id: int, text: str) -> str:
        """The reply to one message of an allowed user (carrying out a confirmed command)."""
        words = text.strip().split()
        if not words:
            return HELP
        verb = words[0].split("@")[0].lower()
        args = words[1:]
        key = (chat_id, user_id)
        if verb == "/status":
            return render_status(self._engine.snapshot())
        if verb == "/pnl":
            return render_pnl(self._engine.snapshot())
        if verb == "/confirm":
            return await self._confirm(key, args[0] if args else "")
        if verb == "/cancel":
            return "nothing to cancel" if self._pending.pop(key, None) is None else "cancelled"
        proposal = _propose(verb, args)
        if proposal is None:
            return HELP
        if isinstance(proposal, str):
            return proposal
        command, what = proposal
        code = new_code()
        expires = self._clock.now() + timedelta(seconds=self._confirm_s)
        self._pending[key] = _Pending(code, command, what, expires, self._max_tries)
        return (
            f"{what}?\nReply /confirm {code} within {self._confirm_s:g} s (or /cancel). "
            f"Only you can confirm it; {self._max_tries} wrong codes void it."
        )

    async def _confirm(self, key: tuple[int, int], code: str) -> str:
        pending = self._pending.get(key)
        if pending is None:
            return "nothing to confirm"
        if self._clock.now() > pending.expires:
            del self._pending[key]
            return "too late: the confirmation expired; send the command again"
        if not _random.compare_digest(code.upper().encode(), pending.code.encode()):
            pending.tries_left -= 1
            if pending.tries_left > 0:
                left = pending.tries_left
                return f"wrong code; nothing done ({left} {'try' if left == 1 else 'tries'} left)"
            del self._pending[key]
            self._voided(key, pending)
            return f"wrong code {self._max_tries} times: {pending.what} is void; nothing done"
        del self._pending[key]
        ack = await self._engine.submit(pending.command)
        logger.info(
            "telegram command {} from user {} in chat {}: {}",
            pending.what,
            mask_id(key[1]),
            mask_id(key[0]),
            "accepted" if ack.accepted else f"rejected ({ack.reason})",
        )
        if ack.accepted:
            return f"✅ {pending.what}: accepted"
        return f"❌ {pending.what}: {ack.reason}"

    def _voided(self, key: tuple[int, int], pending: _Pending) -> None:
        who = f"user {mask_id(key[1])} in chat {mask_id(key[0])}"
        logger.warning(
            "telegram commands: {} voided after {} wrong codes ({})",
            pending.what,
            self._max_tries,
            who,
        )
        self._notifier.notify(
            Message(
                "critical",
                f"🚨 telegram: {self._max_tries} wrong confirmation codes for "
                f"{pending.what} ({who}); the command was voided. If that was not you, "
                "someone has your Telegram account or the bot.",
            )
        )


def _never_silently(task: asyncio.Task[None]) -> None:
    """The polling task only ends when stopped; anything else is logged loudly."""
    if not task.cancelled() and task.exception() is not None:
        logger.critical("telegram commands stopped: {!r}", task.exception())


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
