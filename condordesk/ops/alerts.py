"""Composition root of the alerts: engine events in, short phone messages out.

The notifier (``condordesk.notify``) is an adapter and never sees the engine; this module,
beside ``bootstrap``, knows both. :class:`AlertRouter` is a synchronous listener on the
engine's event bus: it turns the events a trader wants on the phone into
:class:`~condordesk.notify.Message` s and hands them to the notifier, which queues them and
returns at once. :func:`build_alerts` wires a profile's alerts (and, if enabled, the Telegram
commands); :class:`Alerts` starts them beside the engine and drains them when it stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any

from loguru import logger

from condordesk.config.profile import Profile
from condordesk.engine import api
from condordesk.market.clock import Clock, LiveClock
from condordesk.notify import BotApi, Message, Notifier, Policy, TelegramNotifier
from condordesk.notify.text import money  # also chatops' (neither imports the other)
from condordesk.ops.credentials import TELEGRAM_CHAT, TELEGRAM_TOKEN, SecretStore, store_for

if TYPE_CHECKING:
    from condordesk.ops.chatops import CommandBot

ICON = {"info": "ℹ️", "warning": "⚠️", "critical": "🚨"}
_CLOSE_WORDS = {
    "profit_target": "profit target",
    "first_trade_target": "first-trade target",
    "stop_limit": "stop (limit)",
    "stop_market": "stop (backup)",
    "expiry_safety": "expiry safety",
    "expired": "expired (cash settled)",
    "manual": "closed by hand",
    "flatten": "flatten",
    "protection_failed": "protection failed",
}


def policy_of(profile: Profile) -> Policy:
    """The notifier policy of a profile's ``[notify]`` section."""
    n = profile.notify
    start, end = n.quiet_hours if n.quiet_hours else (None, None)
    return Policy(n.level, start, end, n.quiet_level, n.quiet_action)


@dataclass
class _Condor:
    label: str
    quantity: int
    credit: Decimal
    stop: str = "none"  # none | working | moving | cancelled | closed


@dataclass
class AlertRouter:
    """Maps engine events to messages (a bus listener: synchronous, never raises).

    Args:
        notifier: Where the messages go.
        profile: The profile's name tags each message (several accounts, one phone).
        daily_summary: Send the day's P&L after the close.
    """

    notifier: Notifier
    profile: str
    daily_summary: bool = True
    _condors: dict[str, _Condor] = field(default_factory=dict)
    _closed_today: list[api.CondorClosed] = field(default_factory=list)
    _connected: bool = True

    def __call__(self, event: api.Event) -> None:
        """Handle one published event."""
        try:
            message = self.message_for(event)
        except Exception as exc:  # an alert bug must never reach the engine
            logger.opt(exception=exc).error("alerts: could not render {}", type(event).__name__)
            return
        if message is not None:
            self.notifier.notify(message)

    def message_for(self, event: api.Event) -> Message | None:
        """The message for ``event``, or None if it is not worth a phone alert."""
        handler = self._handlers().get(type(event))
        if handler is None:
            return None
        out = handler(event)
        if out is None:
            return None
        level, text = out
        return Message(level, f"{ICON[level]} {self.profile} · {text}")

    def _handlers(self) -> dict[type[api.Event], Callable[[Any], tuple[Any, str] | None]]:
        return {
            api.EngineStarted: self._started,
            api.EngineStopped: self._stopped,
            api.CondorOpened: self._opened,
            api.StopPlaced: self._stop_placed,
            api.StopCancelled: self._stop_cancelled,
            api.StopTriggered: self._stop_triggered,
            api.CondorClosed: self._closed,
            api.SessionClosed: self._session_closed,
            api.AlertRaised: self._alert,
            api.BrokerConnectionChanged: self._connection,
            api.ReconcileCompleted: self._reconciled,
            api.OrderRejected: self._rejected,
            api.EntriesPaused: self._paused,
        }

    # --- lifecycle -------------------------------------------------------------------------

    def _started(self, e: api.EngineStarted) -> tuple[str, str]:
        account = f" {e.account}" if e.account else ""
        return "info", f"engine started ({e.mode}{account})"

    def _stopped(self, e: api.EngineStopped) -> tuple[str, str]:
        live = sum(1 for c in self._condors.values() if c.stop != "closed")
        tail = f"; {live} condor(s) open, stops stay at the broker" if live else ""
        return "info", f"engine stopped ({e.reason}){tail}"

    def _connection(self, e: api.BrokerConnectionChanged) -> tuple[str, str] | None:
        if e.connected == self._connected:
            return None
        self._connected = e.connected
        if e.connected:
            return "info", f"broker connection restored ({e.reason})"
        return "critical", f"broker connection LOST ({e.reason}); stops stay at the broker"

    # --- trades ---------------------------------------------------------------------------

    def _opened(self, e: api.CondorOpened) -> tuple[str, str]:
        self._condors[e.condor_id] = _Condor(e.label, e.quantity, e.credit)
        dollars = e.credit * 100 * e.quantity
        first = " (first trade)" if e.first_trade else ""
        return "info", (
            f"OPENED {e.condor_id}{first}\n{e.label} ×{e.quantity}\n"
            f"credit {e.credit:.2f} ({money(dollars)})"
        )

    def _stop_placed(self, e: api.StopPlaced) -> tuple[str, str]:
        condor = self._condors.setdefault(e.condor_id, _Condor("", 0, Decimal(0)))
        verb = {"working": "moved", "moving": "moved", "cancelled": "re-armed"}.get(
            condor.stop, "placed"
        )
        condor.stop = "working"
        return "info", (
            f"stop {verb} {e.condor_id}: trigger {e.trigger:.2f}, limit {e.limit:.2f}, "
            f"backup {e.backup_trigger:.2f}"
        )

    def _stop_cancelled(self, e: api.StopCancelled) -> tuple[str, str] | None:
        condor = self._condors.get(e.condor_id)
        if condor is not None and condor.stop == "working":
            condor.stop = "moving" if e.reason.startswith("moved") else "cancelled"
        if e.reason.startswith("cancelled by"):  # an operator left the condor unprotected
            return "warning", f"stop CANCELLED {e.condor_id} ({e.reason}): no protection"
        return None  # moved / re-armed / closing: the next event says what happened

    def _stop_triggered(self, e: api.StopTriggered) -> tuple[str, str]:
        kind = e.role.replace("_", "-")
        return "warning", f"STOP TRIGGERED {e.condor_id} ({kind}) at {e.price:.2f}"

    def _closed(self, e: api.CondorClosed) -> tuple[str, str] | None:
        if e.reason == "not_filled":
            return None
        self._closed_today.append(e)
        condor = self._condors.get(e.condor_id)
        if condor is not None:
            condor.stop = "closed"
        why = _CLOSE_WORDS.get(e.reason, e.reason.replace("_", " "))
        level = "warning" if e.realized_pnl < 0 else "info"
        return level, (
            f"CLOSED {e.condor_id}: {why}\nexit {e.exit_debit:.2f}, P&L {money(e.realized_pnl)}"
        )

    def _session_closed(self, e: api.SessionClosed) -> tuple[str, str] | None:
        closed, self._closed_today = self._closed_today, []
        self._condors = {k: c for k, c in self._condors.items() if c.stop != "closed"}
        if not self.daily_summary:
            return None
        lines = [
            f"DAY {e.day:%a %d %b}: P&L {money(e.realized_pnl)}",
            f"{e.condors_opened} opened, {e.condors_closed} closed, "
            f"commissions ${e.commissions:,.2f}",
        ]
        lines += [
            f"• {c.condor_id} {_CLOSE_WORDS.get(c.reason, c.reason)} {money(c.realized_pnl)}"
            for c in closed[:10]
        ]
        return "info", "\n".join(lines)

    # --- problems -------------------------------------------------------------------------

    def _alert(self, e: api.AlertRaised) -> tuple[str, str]:
        return e.level, f"{e.code}: {e.message}"

    def _rejected(self, e: api.OrderRejected) -> tuple[str, str]:
        return "warning", f"order rejected {e.order_ref}: {e.reason}"

    def _paused(self, e: api.EntriesPaused) -> tuple[str, str] | None:
        if e.origin != "engine":
            return "info", f"entries paused by {e.origin} ({e.reason})"
        return None  # the engine's own pauses come with an alert saying why

    def _reconciled(self, e: api.ReconcileCompleted) -> tuple[str, str] | None:
        if not e.findings and not e.unexplained:
            return None
        level = "critical" if e.unexplained else "info"
        head = (
            f"reconcile ({e.reason}): {e.open_condors} open, {e.stops_ok} stop(s) OK, "
            f"{e.unexplained} unexplained"
        )
        return level, "\n".join([head, *(f"• {f}" for f in e.findings[:8])])


class Alerts:
    """A run's alerts: entered beside the engine (starts the notifier and the optional
    command bot), left after it (drains the queue for at most ``drain_s`` seconds)."""

    def __init__(
        self,
        notifier: Notifier | None = None,
        router: AlertRouter | None = None,
        commands: CommandBot | None = None,
        drain_s: float = 10.0,
    ) -> None:
        self.notifier = notifier
        self.router = router
        self.commands = commands
        self.drain_s = drain_s

    @classmethod
    def off(cls) -> Alerts:
        """No alerts (``notify.enabled = false``)."""
        return cls()

    @property
    def enabled(self) -> bool:
        """Whether anything is sent."""
        return self.notifier is not None

    def __repr__(self) -> str:
        return f"Alerts(notifier={self.notifier!r}, commands={self.commands is not None})"

    async def __aenter__(self) -> Alerts:
        if self.notifier is not None:
            await self.notifier.start()
        if self.commands is not None:
            await self.commands.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.commands is not None:
            await self.commands.stop()
        if self.notifier is not None:
            await self.notifier.close(self.drain_s)


def telegram_notifier(
    profile: Profile, clock: Clock, store: SecretStore | None = None
) -> TelegramNotifier:
    """The profile's Telegram notifier (token and chat id resolved from its secrets).

    Raises:
        CredentialError: a secret is missing (the message says how to set it).
    """
    store = store or store_for(profile.secrets_namespace, profile.secrets.env, profile.name)
    n = profile.notify
    bot = BotApi(n.telegram.api_url, store.get(TELEGRAM_TOKEN), clock, n.telegram.request_timeout_s)
    return TelegramNotifier(
        bot,
        store.get(TELEGRAM_CHAT),
        policy_of(profile),
        clock,
        queue_size=n.queue_size,
        min_interval_s=n.min_interval_s,
        max_per_minute=n.max_per_minute,
        max_attempts=n.max_attempts,
        max_backoff_s=n.max_backoff_s,
    )


def build_alerts(
    profile: Profile,
    engine: Any,
    *,
    clock: Clock | None = None,
    store: SecretStore | None = None,
) -> Alerts:
    """Wire a profile's alerts onto ``engine``'s bus (nothing when ``notify.enabled`` is off).

    Args:
        profile: The profile (its ``[notify]`` and ``[secrets]`` sections).
        engine: The engine (its ``bus``; and its ``snapshot``/``submit`` for the commands).
        clock: Paces the notifier; a live clock by default (Telegram's limits are in real
            seconds whatever speed a simulated engine runs at).
        store: Where the secrets come from (the profile's namespace by default).

    Raises:
        CredentialError: alerts are on but the bot token or chat id is missing.
    """
    if not profile.notify.enabled:
        return Alerts.off()
    clock = clock or LiveClock()
    notifier = telegram_notifier(profile, clock, store)
    router = AlertRouter(notifier, profile.name, profile.notify.daily_summary)
    engine.bus.add_listener(router)
    commands = None
    if profile.notify.telegram.commands:
        from condordesk.ops.chatops import CommandBot

        commands = CommandBot.for_notifier(notifier, engine, profile, clock)
    logger.info(
        "alerts: Telegram via {} (level {}{}{})",
        profile.notify.telegram.api_url,
        profile.notify.level,
        ", quiet hours" if profile.notify.quiet_hours else "",
        ", commands on" if commands else "",
    )
    return Alerts(notifier, router, commands)
