"""Live means live: the account the broker reports decides whether real money trades.

A profile's ``mode`` is only its author's word; a copy of a paper profile pointed at a real
account trades real money. So the engine reads the account after connecting and derives its
mode from it: an IB paper account id starts with ``DU`` (``DF`` for an advisor's paper
master); any other account of an IB connection is a real one and needs ``--live``.
"""

from __future__ import annotations

from collections.abc import Callable

from loguru import logger

from condordesk.config.profile import Profile
from condordesk.errors import ConfigError

PAPER_PREFIXES = ("DU", "DF")
"""How Interactive Brokers' paper (simulated trading) account ids start."""


class LiveAccountRefused(ConfigError):
    """The broker reports a real-money account and ``--live`` was not given."""


def account_mode(broker_kind: str, account: str) -> str:
    """The mode the account means: ``sim`` for the embedded simulator, ``paper`` for an IB
    paper account, ``live`` for anything else.

    Args:
        broker_kind: The profile's ``broker.kind`` (``sim`` is the in-process simulator,
            which holds no account at any broker).
        account: The account id the broker reports.
    """
    if broker_kind == "sim":
        return "sim"
    if account.strip().upper().startswith(PAPER_PREFIXES):
        return "paper"
    return "live"


def refusal(profile_name: str, profile_mode: str, account: str) -> str:
    """The message an engine stops with when a real account lacks ``--live``."""
    return (
        f"profile {profile_name} (mode {profile_mode!r}) is connected to account {account}, "
        "which is not a paper account: it trades REAL MONEY. Nothing was sent. Add --live "
        "to confirm, or point the profile at a paper account (DU...)"
    )


def check_account(
    profile: Profile, account: str, live_confirmed: bool, alert: Callable[[str, str, str], None]
) -> str:
    """The engine's mode for ``account`` (see :func:`account_mode`); a real-money account
    without ``--live`` raises before anything is sent (reconcile repairs included).

    Raises:
        LiveAccountRefused: the account is not a paper account and ``live_confirmed`` is False
            (alerted critically first).
    """
    mode = account_mode(profile.broker.kind, account)
    if mode == "live" and not live_confirmed:
        message = refusal(profile.name, profile.mode, account)
        alert("critical", "live_account", message)
        raise LiveAccountRefused(message)
    if mode != profile.mode:
        logger.warning(
            "profile {} says mode {!r}; account {} is {}: the account decides",
            profile.name,
            profile.mode,
            account,
            mode,
        )
    return mode
