"""The Notifier port: alerts leave the engine without ever blocking or failing it.

Contract of every :class:`Notifier`:

* :meth:`Notifier.notify` is synchronous, returns at once and never raises: it applies the
  :class:`~condordesk.notify.policy.Policy` (level, quiet hours), then queues the message. A
  full queue drops the least important oldest message (counted in :attr:`Notifier.stats`).
* Delivery happens in the background between :meth:`Notifier.start` and
  :meth:`Notifier.close`; a failed delivery is retried, then logged and given up. Nothing a
  notifier does (an outage, a rejected token) ever reaches the caller as an exception.
* :meth:`Notifier.send_now` delivers one message right away and raises
  :class:`NotifyError` if it cannot (``condordesk notify test``).

Errors (:class:`NotifyError` tree)::

    NotifyError (CondordeskError)
    ├── Unreachable     no connection, a timeout, or a broken answer (retried)
    ├── RateLimited     429 Too Many Requests; ``retry_after`` seconds (retried after it)
    ├── ServerError     5xx (retried)
    └── Rejected        any other refusal (a bad token, an unknown chat): not retried
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Literal

from loguru import logger

from condordesk.errors import CondordeskError
from condordesk.market.clock import Clock
from condordesk.notify.policy import Policy

Level = Literal["info", "warning", "critical"]
LEVELS: tuple[Level, ...] = ("info", "warning", "critical")


class NotifyError(CondordeskError):
    """A message could not be delivered (never carries a secret)."""


class Unreachable(NotifyError):
    """The service could not be reached, or answered with something unreadable."""


class RateLimited(NotifyError):
    """The service asked us to slow down (HTTP 429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited: retry after {retry_after:g} s")
        self.retry_after = retry_after


class ServerError(NotifyError):
    """The service failed (HTTP 5xx)."""


class Rejected(NotifyError):
    """The service refused the request for good (bad token, unknown chat, bad request)."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"refused ({status}): {description}")
        self.status = status
        self.description = description


@dataclass(frozen=True, slots=True)
class Message:
    """One alert: ``text`` is what the phone shows; ``silent`` sends it without a sound."""

    level: Level
    text: str
    silent: bool = False


@dataclass(slots=True)
class NotifierStats:
    """What a notifier did so far."""

    queued: int = 0
    sent: int = 0
    dropped: int = 0  # filtered by quiet hours, or pushed out of a full queue
    failed: int = 0  # given up after retries, or rejected
    last_error: str = ""
    levels: dict[str, int] = field(default_factory=dict)


class Notifier(ABC):
    """Sends alerts somewhere (a phone); see the module docstring for the contract.

    Args:
        policy: Which messages go out, and when silently.
        clock: Gives the time for quiet hours and paces retries and rate limits.
    """

    def __init__(self, policy: Policy, clock: Clock) -> None:
        self.policy = policy
        self.clock = clock
        self.stats = NotifierStats()

    def notify(self, message: Message) -> None:
        """Queue ``message`` (after the policy) for delivery; never blocks, never raises."""
        try:
            decided = self.policy.decide(message.level, self.clock.now_et())
            if decided == "drop":
                self.stats.dropped += 1
                return
            if decided == "silent":
                message = replace(message, silent=True)
            self.stats.queued += 1
            self.stats.levels[message.level] = self.stats.levels.get(message.level, 0) + 1
            self._enqueue(message)
        except Exception as exc:  # a notifier must never take the engine down
            logger.opt(exception=exc).error("notifier: could not queue an alert")

    @abstractmethod
    def _enqueue(self, message: Message) -> None:
        """Put an accepted message in the delivery queue (must not block or raise)."""

    @abstractmethod
    async def start(self) -> None:
        """Start delivering in the background (in the running loop)."""

    @abstractmethod
    async def close(self, drain_s: float = 10.0) -> None:
        """Deliver what is queued for at most ``drain_s`` clock seconds, then stop."""

    @abstractmethod
    async def send_now(self, message: Message) -> None:
        """Deliver one message now, bypassing the queue and the policy.

        Raises:
            NotifyError: it could not be delivered (after the retries).
        """

    @property
    def pending(self) -> int:
        """Messages waiting to be delivered."""
        return 0


class MemoryNotifier(Notifier):
    """A notifier that keeps what it is given (a real, stateful fake for tests and for runs
    with alerts turned off)."""

    def __init__(self, policy: Policy | None = None, clock: Clock | None = None) -> None:
        from condordesk.market.clock import LiveClock

        super().__init__(policy or Policy(), clock or LiveClock())
        self.messages: list[Message] = []

    def _enqueue(self, message: Message) -> None:
        self.messages.append(message)
        self.stats.sent += 1

    async def start(self) -> None:
        return None

    async def close(self, drain_s: float = 10.0) -> None:
        return None

    async def send_now(self, message: Message) -> None:
        self.messages.append(message)
        self.stats.sent += 1
