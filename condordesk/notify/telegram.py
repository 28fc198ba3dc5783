"""The Telegram adapter: the Bot API client and the :class:`TelegramNotifier`.

The API base URL is configurable (``notify.telegram.api_url``), so tests talk to a fake Bot
API server on 127.0.0.1. The bot token only ever appears in a request path: every error is
rendered without it, and a description the server sends back is scrubbed of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from loguru import logger

from condordesk.market.clock import Clock
from condordesk.notify.base import (
    LEVELS,
    Message,
    Notifier,
    NotifyError,
    RateLimited,
    Rejected,
    ServerError,
    Unreachable,
)
from condordesk.notify.http import post_json
from condordesk.notify.policy import Policy
from condordesk.ops.credentials import MASK, Secret

MAX_TEXT = 4096  # Telegram's limit for one message
MAX_RETRY_AFTER_S = 3600.0
"""The longest ``retry_after`` a Bot API answer can make anyone wait (callers cap it lower)."""


def mask_id(value: object) -> str:
    """A Telegram chat or user id for a log line: only its last two digits (``***42``)."""
    text = str(value)
    return f"***{text[-2:]}" if len(text) > 2 else "***"


def sane_wait(value: Any, cap: float, default: float = 1.0) -> float:
    """A server-given wait in seconds, made safe: a number in ``[0, cap]`` (``default`` if it
    is not a finite number; a huge one is ``cap``)."""
    try:
        wait = float(value)
    except (TypeError, ValueError, OverflowError):
        return min(default, cap)
    if not math.isfinite(wait):
        return cap if wait == math.inf else min(default, cap)
    return min(max(wait, 0.0), cap)


class BotApi:
    """The few Telegram Bot API methods condordesk uses.

    Args:
        base_url: ``https://api.telegram.org`` or a fake server's URL.
        token: The bot token (a :class:`~condordesk.ops.credentials.Secret`).
        clock: Converts timeouts (clock seconds) into loop time.
        timeout_s: Seconds allowed for one request.
    """

    def __init__(self, base_url: str, token: Secret, clock: Clock, timeout_s: float = 15.0):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._clock = clock
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"BotApi({self.base_url!r}, token={self._token!r})"

    async def call(self, method: str, payload: dict[str, Any], timeout_s: float = 0) -> Any:
        """Call a Bot API method and return its ``result``.

        Raises:
            RateLimited: 429, with Telegram's ``retry_after``.
            ServerError: a 5xx answer, or one that is not the Bot API's JSON.
            Rejected: any other refusal (401 bad token, 400 chat not found, ...).
            Unreachable: no connection or no answer in time.
        """
        loop_s = self._clock.loop_seconds(timeout_s or self.timeout_s)
        # the URL (it holds the token) is never bound to a name in this frame, and inner
        # frames are cut from the traceback, so a logged traceback cannot show it
        try:
            response = await post_json(self._endpoint(method), payload, loop_s)
        except NotifyError as exc:
            raise exc.with_traceback(None) from None
        except Exception as exc:
            raise Unreachable(f"{method}: {type(exc).__name__}") from None
        data = response.json()
        ok = isinstance(data, dict) and data.get("ok") is True
        if response.status == 200 and ok:
            return data.get("result")
        info = data if isinstance(data, dict) else {}
        text = info.get("description")
        description = self._scrub(
            text[:300] if isinstance(text, str) else f"HTTP {response.status}"
        )
        if response.status == 429 or info.get("error_code") == 429:
            params = info.get("parameters")
            retry: Any = params.get("retry_after") if isinstance(params, dict) else None
            retry = retry if retry is not None else response.headers.get("retry-after", 1)
            raise RateLimited(sane_wait(retry, MAX_RETRY_AFTER_S))
        if response.status >= 500 or (response.status == 200 and not ok):
            raise ServerError(f"{method}: {description}")
        raise Rejected(response.status, description)

    def _endpoint(self, method: str) -> str:
        return f"{self.base_url}/bot{self._token.reveal()}/{method}"

    def scrub(self, text: str) -> str:
        """``text`` with the token masked."""
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        token = self._token.reveal()
        return text.replace(token, MASK) if token else text

    async def send_message(self, chat_id: Secret, text: str, *, silent: bool = False) -> None:
        """Send ``text`` (plain text, cut to 4096 characters) to a chat."""
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 1] + "…"
        await self.call(
            "sendMessage",
            {
                "chat_id": chat_id.reveal(),
                "text": text,
                "disable_notification": silent,
                "link_preview_options": {"is_disabled": True},
            },
        )

    async def get_updates(self, offset: int, poll_s: int) -> list[dict[str, Any]]:
        """Long-poll for new messages (``offset`` = last update id + 1)."""
        result = await self.call(
            "getUpdates",
            {"offset": offset, "timeout": poll_s, "allowed_updates": ["message"]},
            timeout_s=poll_s + self.timeout_s,
        )
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []


class RateLimiter:
    """At most one message per ``min_interval_s`` and ``max_per_minute`` in any 60 s (the
    clock's seconds): within Telegram's limits for one chat and for a group. Intervals count
    from the end of the previous request, so network jitter cannot bunch messages up at the
    server; requests go one at a time, so many waiters cannot burst through together."""

    def __init__(self, clock: Clock, min_interval_s: float = 1.0, max_per_minute: int = 20):
        self._clock = clock
        self.min_interval_s = min_interval_s
        self.max_per_minute = max_per_minute
        self._sent: deque[float] = deque()
        self._turn = asyncio.Lock()

    def delay(self) -> float:
        """Seconds to wait before the next message may go."""
        now = self._clock.now().timestamp()
        while self._sent and now - self._sent[0] >= 60.0:
            self._sent.popleft()
        wait = 0.0
        if self._sent:
            wait = self._sent[-1] + self.min_interval_s - now
        if len(self._sent) >= self.max_per_minute:
            wait = max(wait, self._sent[0] + 60.0 - now)
        return wait

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait (on the clock) until a request may go; it counts from when it ends."""
        async with self._turn:
            while (wait := self.delay()) > 1e-6:
                await self._clock.sleep(wait)
            try:
                yield
            finally:
                self._sent.append(self._clock.now().timestamp())


class TelegramNotifier(Notifier):
    """Delivers alerts to one Telegram chat from a bounded queue, in the background.

    Alerts and the command bot's replies have rate budgets of their own (two
    :class:`RateLimiter`), and a reply waits while alerts are queued: a flood of commands
    never delays an alert. A wait a server asks for (``retry_after``) is capped at
    ``max_backoff_s``, so a hostile answer cannot stall the alerts.

    Args:
        api: The Bot API client.
        chat_id: The chat to write to (a secret).
        policy: Level and quiet hours.
        clock: Paces rate limits and retries (a live clock in production).
        queue_size: Messages waiting at most; when full the least important oldest goes.
        min_interval_s: See :class:`RateLimiter`.
        max_per_minute: See :class:`RateLimiter`.
        max_attempts: Tries per message before it is given up (logged).
        max_backoff_s: Longest wait between two tries (5xx, no connection).
    """

    def __init__(
        self,
        api: BotApi,
        chat_id: Secret,
        policy: Policy,
        clock: Clock,
        *,
        queue_size: int = 100,
        min_interval_s: float = 1.0,
        max_per_minute: int = 20,
        max_attempts: int = 6,
        max_backoff_s: float = 300.0,
    ) -> None:
        super().__init__(policy, clock)
        self.api = api
        self._chat = chat_id
        self._queue: deque[Message] = deque()
        self._queue_size = queue_size
        self._limiter = RateLimiter(clock, min_interval_s, max_per_minute)
        self._reply_limiter = RateLimiter(clock, min_interval_s, max_per_minute)
        self._max_attempts = max_attempts
        self._max_backoff_s = max_backoff_s
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._outage = False
        self._busy = False

    def __repr__(self) -> str:
        return f"TelegramNotifier({self.api!r}, chat_id={self._chat!r})"

    @property
    def pending(self) -> int:
        return len(self._queue) + int(self._busy)

    def _enqueue(self, message: Message) -> None:
        if len(self._queue) >= self._queue_size:
            self._drop_one()
        self._queue.append(message)
        self._idle.clear()
        self._wake.set()

    def _drop_one(self) -> None:
        lowest = min(LEVELS.index(m.level) for m in self._queue)
        for i, queued in enumerate(self._queue):
            if LEVELS.index(queued.level) == lowest:
                del self._queue[i]
                break
        self.stats.dropped += 1
        if self.stats.dropped % 50 != 1:  # the first, then one line per 50 (a long outage)
            return
        logger.warning(
            "telegram: alert queue full ({}): dropped the oldest {} alert ({} dropped so far)",
            self._queue_size,
            LEVELS[lowest],
            self.stats.dropped,
        )

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="telegram-notifier")

    async def close(self, drain_s: float = 10.0) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        try:
            async with asyncio.timeout(self.clock.loop_seconds(drain_s)):
                await self._idle.wait()
        except TimeoutError:
            left = self.pending
            logger.warning("telegram: {} alert(s) not delivered before shutdown", left)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def send_now(self, message: Message) -> None:
        async with self._limiter.slot():
            await self.api.send_message(self._chat, message.text, silent=message.silent)
        self.stats.sent += 1

    @property
    def chat(self) -> Secret:
        """The alert chat's id (a secret)."""
        return self._chat

    async def reply(self, chat_id: int, text: str) -> None:
        """Answer a chat directly (the command bot) within the replies' own rate budget,
        after the alerts queued now (for at most ``max_backoff_s``).

        Raises:
            NotifyError: the answer could not be delivered.
        """
        if self._task is not None and not self._idle.is_set():
            with contextlib.suppress(TimeoutError):  # alerts first
                async with asyncio.timeout(self.clock.loop_seconds(self._max_backoff_s)):
                    await self._idle.wait()
        async with self._reply_limiter.slot():
            await self.api.send_message(Secret(str(chat_id)), text)

    async def _run(self) -> None:
        while True:
            while not self._queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
            message = self._queue.popleft()
            self._busy = True
            try:
                await self._deliver(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug here must not stop later alerts
                self.stats.failed += 1
                # no traceback: its frames could show the request URL, which holds the token
                logger.error(
                    "telegram: delivering an alert failed: {}: {}",
                    type(exc).__name__,
                    self._safe(exc),
                )
            finally:
                self._busy = False
            if not self._queue:
                self._idle.set()

    async def _deliver(self, message: Message) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with self._limiter.slot():
                    await self.api.send_message(self._chat, message.text, silent=message.silent)
            except RateLimited as exc:
                wait = min(exc.retry_after, self._max_backoff_s)
                self._note_outage(exc)
            except (ServerError, Unreachable) as exc:
                wait = min(self._max_backoff_s, 2.0 ** (attempt - 1))
                self._note_outage(exc)
            except Rejected as exc:
                self.stats.failed += 1
                self.stats.last_error = self._safe(exc)
                logger.error("telegram: alert not delivered: {}", self.stats.last_error)
                return
            else:
                self.stats.sent += 1
                if self._outage:
                    self._outage = False
                    logger.info("telegram: delivering again ({} queued)", len(self._queue))
                return
            if attempt < self._max_attempts:
                await self.clock.sleep(wait)
        self.stats.failed += 1
        logger.warning(
            "telegram: gave up on a {} alert after {} tries ({})",
            message.level,
            self._max_attempts,
            self.stats.last_error,
        )

    def _note_outage(self, exc: NotifyError) -> None:
        self.stats.last_error = self._safe(exc)
        if not self._outage:
            self._outage = True
            logger.warning(
                "telegram: {}; alerts are queued and retried, trading goes on",
                self.stats.last_error,
            )

    def _safe(self, exc: Exception) -> str:
        """``exc`` for a log line: neither the token nor the chat id in it."""
        text = self.api.scrub(str(exc))
        chat = self._chat.reveal()
        return text.replace(chat, mask_id(chat)) if chat else text
