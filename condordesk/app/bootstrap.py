"""Composition root: builds the clock, journal, broker, calendar and engine for a profile.

The CLI (and, later, the consoles) call these; nothing else wires adapters to the engine.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from loguru import logger

from condordesk.broker.base import Broker
from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.config import paths
from condordesk.config.profile import Profile
from condordesk.engine.live import account_mode
from condordesk.engine.service import Engine
from condordesk.errors import ConfigError
from condordesk.market.calendar import TradingCalendar
from condordesk.market.clock import ET, BrokerClock, Clock, LiveClock, SimClock
from condordesk.ops import fsafe
from condordesk.ops.alerts import Alerts, build_alerts
from condordesk.store.identity import check_replaceable, claim
from condordesk.store.journal import Journal


@dataclass
class Runtime:
    """Everything one run of the engine needs, wired."""

    profile: Profile
    clock: Clock
    calendar: TradingCalendar
    journal: Journal
    broker: Broker
    engine: Engine
    virtual_time: bool
    alerts: Alerts = field(default_factory=Alerts.off)
    """The run's alerts: entered beside ``engine.run()``, left after it."""


def load_calendar(first: date, sessions: int) -> TradingCalendar:
    """The trading calendar from a year before ``first`` to past the last session needed."""
    years = max(2, math.ceil(sessions / 250) + 1)
    return TradingCalendar.load(paths.ensure(paths.cache_dir()), first.year - 1, first.year + years)


def sim_start(profile: Profile, calendar: TradingCalendar, today: date) -> datetime:
    """Where the simulated clock starts: ``simulator.start_time`` ET on the first session on
    or after ``simulator.start_date`` (default: today)."""
    day = profile.simulator.start_date or today
    session = next(calendar.sessions_from(day))
    return datetime.combine(session.day, profile.simulator.start_time, ET)


def fresh_sim_journal(path: Path, profile: str) -> Path:
    """The simulator's broker lives in this process, so each sim run starts a new journal;
    the previous run's is kept beside it as ``*.prev.sqlite3``.

    Only a condordesk journal of this very profile is ever moved aside (and only such a
    ``.prev`` replaced); anything else is refused and left exactly as it is.

    Raises:
        ForeignJournal: the path or its ``.prev`` is not this profile's journal.
        UnsafePath: the directory, or a ``-wal``/``-shm`` beside it, is not this user's.
    """
    if not os.path.lexists(path):
        return path
    fsafe.check_dir(path.parent)
    prev = path.with_suffix(".prev.sqlite3")
    check_replaceable(path, profile)
    if os.path.lexists(prev):
        check_replaceable(prev, profile)
    for suffix in ("-wal", "-shm"):
        fsafe.check_existing(Path(f"{path}{suffix}"))
        fsafe.check_existing(Path(f"{prev}{suffix}"))
        Path(f"{prev}{suffix}").unlink(missing_ok=True)  # never paired with the new .prev
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            os.replace(src, Path(f"{prev}{suffix}"))
    return path


def build_sim(
    profile: Profile, *, today: date | None = None, journal_path: Path | None = None
) -> Runtime:
    """Wire an engine on the embedded simulator."""
    if profile.broker.kind != "sim":
        raise ConfigError(
            f"profile {profile.name}: broker.kind is {profile.broker.kind!r}, not 'sim'"
        )
    sim = profile.simulator
    start_day = sim.start_date or today or LiveClock().now_et().date()
    calendar = load_calendar(start_day, sim.sessions or 250)
    start = sim_start(profile, calendar, start_day)
    virtual = sim.speed == "max"
    clock = SimClock(start, speed=1.0 if virtual else float(sim.speed))
    path = journal_path or fresh_sim_journal(paths.journal_path(profile), profile.name)
    journal = _open_journal(path, profile)
    market = SimMarket(sim)

    def session_bounds(day: date) -> tuple[datetime, datetime] | None:
        s = calendar.session(day)
        return None if s is None else (s.open, s.close)

    broker = SimBroker(clock, market, session_bounds)
    engine = Engine(profile, broker, journal, clock, calendar, max_sessions=sim.sessions or None)
    if virtual and profile.notify.enabled:
        logger.warning("alerts off: simulator.speed = 'max' runs in virtual time")
        alerts = Alerts.off()
    else:
        alerts = _alerts(profile, engine, journal)
    return Runtime(profile, clock, calendar, journal, broker, engine, virtual, alerts)


def build_ib_broker(
    profile: Profile, clock: Clock, *, client_id_offset: int = 0, reconnect: bool = True
) -> Broker:
    """The Interactive Brokers adapter for a profile (imported only when an ib profile runs)."""
    from condordesk.broker.ib import IBBroker, route_ib_logging

    route_ib_logging()
    b = profile.broker
    return IBBroker(
        clock,
        host=b.host,
        port=b.port,
        client_id=b.client_id + client_id_offset,
        account=b.account,
        connect_timeout_s=b.connect_timeout_s,
        greeks_timeout_s=profile.strategy.greeks_timeout_s,
        connect_attempts=3 if reconnect else 1,
        auto_reconnect=reconnect,
    )


def build_ib(profile: Profile, *, live_confirmed: bool) -> Runtime:
    """Wire an engine on Interactive Brokers (or the loopback gateway) on the wall clock.

    Raises:
        ConfigError: a live profile without the explicit confirmation, or an unsupported clock.
    """
    if profile.broker.kind != "ib":
        raise ConfigError(
            f"profile {profile.name}: broker.kind is {profile.broker.kind!r}, not 'ib'"
        )
    real = account_mode("ib", profile.broker.account) == "live"
    if (profile.mode == "live" or real) and not live_confirmed:
        raise ConfigError(
            f"profile {profile.name} trades a LIVE account ({profile.broker.account}): "
            "add --live to confirm"
        )
    if profile.clock == "sim":
        raise ConfigError(
            f"profile {profile.name}: clock = 'sim' is for the embedded simulator; with broker "
            "'ib' use 'live' (the wall clock) or 'broker' (the broker's time, e.g. the gateway's)"
        )
    clock: Clock = (
        BrokerClock(profile.broker.clock_speed) if profile.clock == "broker" else LiveClock()
    )
    calendar = load_calendar(clock.now_et().date(), 250)
    journal = _open_journal(paths.journal_path(profile), profile)
    broker = build_ib_broker(profile, clock)
    engine = Engine(
        profile, broker, journal, clock, calendar, max_sessions=None, live_confirmed=live_confirmed
    )
    alerts = _alerts(profile, engine, journal)
    return Runtime(profile, clock, calendar, journal, broker, engine, False, alerts)


def _open_journal(path: Path, profile: Profile) -> Journal:
    """The profile's journal, refused if it belongs to another profile."""
    journal = Journal(path)
    try:
        claim(journal, path, profile.name)
    except BaseException:
        journal.close()
        raise
    return journal


def _alerts(profile: Profile, engine: Engine, journal: Journal) -> Alerts:
    """The profile's alerts on a live clock (Telegram's limits are real seconds, whatever
    the engine's clock); a missing secret stops the run before it starts."""
    try:
        return build_alerts(profile, engine)
    except BaseException:
        journal.close()
        raise


def build_reconcile_client(profile: Profile, clock: Clock, *, repair: bool = False) -> Broker:
    """A broker session of its own for ``condordesk reconcile``.

    Looking (``repair`` False) uses the profile's client id + 1, so it can look while the
    engine trades. Repairing uses the profile's OWN client id: IB lets only the client that
    placed an order modify or cancel it (error 10147 otherwise), so stops that a repair
    places must be the engine's; a repair refuses to run while the engine runs, so the id is
    free.

    Raises:
        ConfigError: the profile's broker cannot be reached from another process.
    """
    if profile.broker.kind == "sim":
        raise ConfigError(
            f"profile {profile.name}: the embedded simulator's broker lives inside the engine "
            "process, so no other process can look at it; a sim engine reconciles by itself (on "
            "start, after every reconnect and every few minutes) and its findings are in the log "
            "and the journal. Reconcile on demand needs a broker of its own: an ib profile"
        )
    return build_ib_broker(profile, clock, client_id_offset=0 if repair else 1, reconnect=False)
