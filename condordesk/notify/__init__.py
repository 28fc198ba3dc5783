"""Alerts to a phone: the :class:`Notifier` port and its Telegram adapter.

An adapter: it imports the domain, the clock, config and credentials, never the engine. The
mapping of engine events to messages lives in the composition root (``condordesk.ops.alerts``).
"""

from condordesk.notify.base import (
    LEVELS,
    Level,
    MemoryNotifier,
    Message,
    Notifier,
    NotifierStats,
    NotifyError,
    RateLimited,
    Rejected,
    ServerError,
    Unreachable,
)
from condordesk.notify.policy import Policy
from condordesk.notify.telegram import BotApi, RateLimiter, TelegramNotifier, mask_id, sane_wait

__all__ = [
    "LEVELS",
    "BotApi",
    "Level",
    "MemoryNotifier",
    "Message",
    "Notifier",
    "NotifierStats",
    "NotifyError",
    "Policy",
    "RateLimited",
    "RateLimiter",
    "Rejected",
    "ServerError",
    "TelegramNotifier",
    "Unreachable",
    "mask_id",
    "sane_wait",
]
