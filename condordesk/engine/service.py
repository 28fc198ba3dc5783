"""The autotrader: schedule, trading cycle, monitoring, commands.

One engine per profile. It hibernates outside the session, resets its day at the reset time
(09:27 ET), trades from the open to the close (early closes included), and hands
everything that touches orders to the :class:`~condordesk.engine.desk.Desk`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from loguru import logger

from condordesk.broker.base import Broker, BrokerEvent
from condordesk.config.profile import Profile
from condordesk.domain.condor import CondorState, ExitReason
from condordesk.engine import api
from condordesk.engine.book import LiveCondor, commissions_of, record_trade, record_view
from condordesk.engine.bus import EventBus
from condordesk.engine.clearing import VERIFIED_AGAIN, cleared_by_verified_stop
from condordesk.engine.commands import RECONCILE_PAUSE, accept, carry_out
from condordesk.engine.desk import Desk
from condordesk.engine.entries import Entries
from condordesk.engine.live import check_account
from condordesk.engine.money import book_day, settle_expired
from condordesk.engine.outage import keep_protected
from condordesk.engine.outlook import Outlook, recent_events, upcoming
from condordesk.engine.pauses import (
    DAILY_LOSS,
    ENTRY_UNRESOLVED,
    RECONCILE,
    Pause,
    Pauses,
)
from condordesk.engine.reconcile import PROTECTED, Plan
from condordesk.engine.repair import PlanMemo, repair
from condordesk.engine.safety import Safety
from condordesk.engine.summary import RunSummary
from condordesk.errors import BrokerError
from condordesk.market.calendar import Session, TradingCalendar
from condordesk.market.clock import ET, Clock
from condordesk.risk.rules import (
    RiskRules,
    daily_loss_breached,
    expiry_danger,
    profit_target,
)
from condordesk.store.journal import Journal
from condordesk.strategy.selection import (
    SelectionRules,
)

_D0 = Decimal(0)
SETTLEMENT_GRACE_S = 900.0
PROFIT_CHASE = Decimal("0.10")  # most a nearly worthless condor may cost over the 0.05 rule
RECENT_EVENTS = 150
CONSUMER_RESTART_S = 1.0
"""Clock seconds before a broken broker-event stream is opened again."""
"""Journaled events a snapshot carries for a console's lists and log."""


def risk_rules(profile: Profile) -> RiskRules:
    """Plain risk values from a profile."""
    r = profile.risk
    return RiskRules(
        stop_multiple=r.stop_multiple,
        stop_limit_offset=r.stop_limit_offset,
        stop_market_offset=r.stop_market_offset,
        profit_close_price=r.profit_close_price,
        first_trade_profit_pct=r.first_trade_profit_pct,
        first_trade_window=timedelta(minutes=r.first_trade_window_min),
        expiry_safety_time=r.expiry_safety_time,
        itm_buffer_points=r.itm_buffer_points,
        daily_max_loss=r.daily_max_loss,
    )


def selection_rules(profile: Profile) -> SelectionRules:
    """Plain selection values from a profile."""
    s = profile.strategy
    return SelectionRules(
        target_delta=s.target_delta,
        delta_tolerance=s.delta_tolerance,
        wing_widths=s.wing_widths,
        min_credit=s.min_credit,
        max_credit=s.max_credit,
        premium_balance=s.premium_balance,
        quantity=s.contracts,
        greeks_max_age_s=s.greeks_max_age_s,
        concession=s.entry_concession,
    )


class Engine:
    """The autotrader for one profile. Use :meth:`run`; stop with :meth:`request_stop`."""

    def __init__(
        self,
        profile: Profile,
        broker: Broker,
        journal: Journal,
        clock: Clock,
        calendar: TradingCalendar,
        *,
        max_sessions: int | None = None,
        live_confirmed: bool = False,
    ) -> None:
        self.profile = profile
        self.live_confirmed = live_confirmed
        self.mode: str = profile.mode  # until the broker names the account (then it decides)
        self.broker = broker
        self.journal = journal
        self.clock = clock
        self.calendar = calendar
        self.max_sessions = max_sessions
        self.rules = risk_rules(profile)
        self.selection = selection_rules(profile)
        self.bus = EventBus(clock, journal, self.snapshot)
        self.summary = RunSummary()
        self.bus.add_listener(self.summary.on_event)
        self.bus.add_listener(self._on_own_event)
        self._realized_today = _D0
        self.desk = Desk(
            broker,
            journal,
            self.bus,
            clock,
            self.rules,
            fill_timeout_s=profile.risk.fill_timeout_s,
            chase_ticks=profile.risk.close_chase_ticks,
            alert=self.alert,
            pause=lambda why: self.add_pause(ENTRY_UNRESOLVED, why, "engine"),
        )
        self.entries = Entries(profile, self.selection, broker, journal, clock, self.desk, self.bus)
        self.account = ""
        self.state = "starting"
        self.pauses = Pauses(journal)
        self.spot: Decimal | None = None
        self.day: date | None = None
        self.session: Session | None = None
        self.open_alerts: list[str] = []
        self._stopping = False
        self.flattening = False  # a FlattenAll runs (see engine.flatten)
        self._sleeper: asyncio.Future[None] | None = None
        self._last_reconcile: datetime | None = None
        self.plan_memo = PlanMemo()  # the last analysis, reused while nothing changed
        self.known_findings: set[str] = set()  # keys of the last reconciliation's findings
        self.acknowledged: set[str] = set()  # unexplained findings the operator accepted
        self.stop_lock = self.desk.stop_lock
        """Held by a reconciliation, by stop commands and by every stop placement of the desk
        (re-entrant for the task holding it), so none sees another half done."""
        self._daily_loss_hit = False
        self.outlook = Outlook()  # figures for consoles (expected move, greeks, P&L trail)
        # a supervisor's hook (systemd's watchdog), set by the composition root: called with
        # the status line from the main loop, at least every heartbeat_s seconds of the clock
        self.heartbeat: Callable[[str], None] | None = None
        self.heartbeat_s: float | None = None
        self.heartbeat_failed: Callable[[str], None] | None = None  # fails the watchdog
        self.safety = Safety(self)  # contained faults, and a journal that refuses writes
        self.desk.on_fault = self.safety.contain

    # -- EngineHandle ---------------------------------------------------------------------

    def snapshot(self) -> api.Snapshot:
        """The whole state a console needs."""
        views = [lc.view() for lc in self.desk.live.values()]
        realized = _D0
        if self.day is not None:
            done = [r for r in self.journal.condors(day=self.day) if not r.state.is_live]
            views = [record_view(r) for r in done] + views
            realized = sum((r.realized_pnl or _D0 for r in done), _D0)
        coming = self._next_event()
        return api.Snapshot(
            seq=self.bus.seq,
            ts=self.clock.now(),
            profile=self.profile.name,
            mode=self.mode,
            account=self.account,
            state=self.state,
            paused_reason=self.paused_reason,
            paused_reasons=self.pauses.reasons,
            connected=self.desk.connected,
            spot=self.spot,
            day=self.day,
            condors=views,
            realized_pnl=realized,
            unrealized_pnl=self.desk.unrealized_total(),
            open_alerts=list(self.open_alerts),
            expected_move=self.outlook.expected_move if self.day is not None else None,
            greeks=self._net_greeks(),
            next_event=coming[0] if coming else "",
            next_event_at=coming[1] if coming else None,
            pnl_history=list(self.outlook.trail.points),
            recent=recent_events(self.journal, self.bus.seq, RECENT_EVENTS),
        )

    def _net_greeks(self) -> api.PositionGreeks | None:
        held = (CondorState.OPEN, CondorState.CLOSING)
        return self.outlook.net(lc.id for lc in self.desk.live.values() if lc.state in held)

    def _next_event(self) -> tuple[str, datetime] | None:
        """What the schedule does next (for consoles)."""
        return upcoming(
            self.clock.now(),
            self.calendar,
            self.profile,
            lambda session: self.entries.context(session, None).entry_end,
        )

    def _publish_market(self, session: Session) -> None:
        """After a cycle: SPX, the day's expected move, net greeks, the next scheduled event
        and the live condors, for consoles (transient); one P&L sample a minute."""
        if self.spot is None:
            return
        self.outlook.note_atm_iv(session, self.spot, self.entries.atm_iv)
        now = self.clock.now()
        self.outlook.trail.sample(
            session.day, now, self._realized_today + self.desk.unrealized_total()
        )
        if not self.bus.watched:  # nobody looking: a console attaching gets a snapshot
            return
        coming = self._next_event()
        self.bus.publish(
            api.MarketUpdated(
                spot=self.spot,
                expected_move=self.outlook.expected_move,
                greeks=self._net_greeks(),
                next_event=coming[0] if coming else "",
                next_event_at=coming[1] if coming else None,
                condors=[lc.view() for lc in self.desk.live.values()],
            )
        )

    def events(self, since: int = 0) -> AsyncIterator[api.Event]:
        """Events after ``since``, then live ones."""
        return self.bus.subscribe(since)

    async def submit(self, command: api.Command) -> api.Ack:
        """Validate and carry out an operator command; journaled with its origin."""
        if self.state == "stopped":
            return api.Ack(False, "the engine has stopped: nothing was carried out")
        try:
            ack = self.safety.refusal(command) or accept(self, command)
        except Exception as exc:  # a validation bug refuses the command; it never kills
            self.safety.contain(f"validating {type(command).__name__}", exc)
            ack = api.Ack(False, f"could not be validated: {exc}")
        self.bus.publish(
            api.CommandReceived(
                command=type(command).__name__,
                origin=command.origin,
                detail=repr(command),
                accepted=ack.accepted,
            )
        )
        if ack.accepted:
            try:
                await carry_out(self, command)
            except Exception as exc:  # contained: the engine carries on in the safe state
                self.safety.contain(f"command {type(command).__name__}", exc)
                return api.Ack(False, f"failed while carried out: {exc}")
        return ack

    async def history(self, since: date | None = None) -> list[api.TradeRecord]:
        """The journal's finished condors from trading day ``since`` on, oldest first."""
        return [
            record_trade(r, r.state is CondorState.CLOSED and self._estimated(r.id))
            for r in self.journal.condors()
            if not r.state.is_live and (since is None or r.day >= since)
        ]

    def _estimated(self, condor_id: str) -> bool:
        """True while some commission of the condor is the schedule's estimate."""
        return commissions_of(self.journal.fills(condor_id))[1]

    def _on_own_event(self, event: api.Event) -> None:
        if isinstance(event, api.CondorClosed):
            self._book(event.condor_id, event.realized_pnl)
        elif isinstance(event, api.CondorAmended):
            self._book(event.condor_id, event.change)
        elif isinstance(event, api.StopVerified):
            self._clear_alerts(event.condor_id)

    def _clear_alerts(self, condor_id: str) -> None:
        """A condor protected again closes its "unprotected" alerts (see :mod:`.clearing`).
        Published once the StopVerified being delivered has reached every subscriber."""
        for code, text in cleared_by_verified_stop(condor_id, self.open_alerts):
            self.open_alerts.remove(text)
            logger.info("alert cleared: {} ({})", text, VERIFIED_AGAIN)
            cleared = api.AlertCleared(
                code=code, condor_id=condor_id, alert=text, reason=VERIFIED_AGAIN
            )
            asyncio.get_running_loop().call_soon(self.bus.publish, cleared)

    def _book(self, condor_id: str, pnl_change: Decimal) -> None:
        """Money of a condor lands on its own trading day: today's tally only if it is
        today's; a past day's row is rewritten (a settlement found the next morning, or a
        commission that came after the day was booked)."""
        rec = self.journal.condor(condor_id)
        day = rec.day if rec is not None else self.day
        if day is not None and day == self.day:
            self._realized_today += pnl_change
        if day is not None and (day != self.day or self.journal.daily(day) is not None):
            book_day(self.journal, day)

    # -- alerts and pauses ----------------------------------------------------------------

    def alert(self, level: str, code: str, message: str) -> None:
        """Raise an alert (event + log)."""
        log = {"critical": logger.critical, "warning": logger.warning}.get(level, logger.info)
        log("ALERT {}: {}", code, message)
        if level != "info":
            self.open_alerts.append(f"{code}: {message}")
        self.bus.publish(api.AlertRaised(level=level, code=code, message=message))  # type: ignore[arg-type]

    @property
    def paused_reason(self) -> str | None:
        """Every reason entries are paused, joined (None when entries are allowed)."""
        return self.pauses.text

    def add_pause(self, kind: str, text: str, origin: str) -> None:
        """Pause entries for one more reason (see :mod:`condordesk.engine.pauses`).

        Reasons stack: this one holds until :meth:`lift_pause` lifts its ``kind``. A
        ``daily_loss`` pause carries the trading day and lasts that session (also across a
        restart); the next daily reset lifts it. Journaled; never raises on a journal fault.

        Args:
            kind: ``operator``, ``daily_loss``, ``reconcile``, ``entry_unresolved``,
                ``flatten``, ``journal``, ``fault``.
            text: What the operator reads.
            origin: Who paused (``engine`` or a console's name).
        """
        if self._finished(f"pause '{text}'"):
            return
        day = (self.day or self.clock.now_et().date()) if kind == DAILY_LOSS else None
        if not self.pauses.add(Pause(kind, text, origin, day)):
            return
        logger.warning("entries paused: {} ({}, {})", text, kind, origin)
        self.bus.publish(api.EntriesPaused(reason=text, origin=origin))
        self._follow_pauses()

    def lift_pause(self, kind: str, origin: str) -> bool:
        """Lift the pause of ``kind`` (other reasons hold); True if there was one."""
        if self._finished(f"lifting the '{kind}' pause"):
            return False
        gone = self.pauses.lift(kind)
        if gone is None:
            return False
        if self.pauses:
            logger.info(
                "pause '{}' lifted by {}; entries stay paused: {}",
                gone.text,
                origin,
                self.paused_reason,
            )
            remaining = list(self.pauses.reasons)
            self.bus.publish(api.PauseLifted(reason=gone.text, origin=origin, remaining=remaining))
        else:
            logger.info("entries resumed ({})", origin)
            self.bus.publish(api.EntriesResumed(origin=origin))
        self._follow_pauses()
        return True

    def _finished(self, what: str) -> bool:
        """True once :meth:`run` has returned: a straggler (a command still running when the
        engine stopped) changes nothing, since another engine may own the journal by now."""
        if self.state != "stopped":
            return False
        logger.warning("{}: not recorded, the engine has stopped", what)
        return True

    def _follow_pauses(self) -> None:
        if self.state in ("armed", "paused"):
            self.state = "paused" if self.pauses else "armed"

    # -- life cycle -----------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        """True once a stop was requested (background work winds down)."""
        return self._stopping

    def request_stop(self) -> None:
        """Ask the engine to stop at the next safe point (signal handlers call this)."""
        self._stopping = True
        if self._sleeper is not None and not self._sleeper.done():
            self._sleeper.cancel()

    def status_line(self) -> str:
        """One line for a supervisor: the state, why entries are paused, live condors,
        open alerts and what the schedule does next."""
        parts = [self.state]
        if self.paused_reason and self.state != "hibernating":
            parts[0] += f" ({self.paused_reason})"
        if self.desk.live:
            parts.append(f"{len(self.desk.live)} condor(s) live")
        if self.open_alerts:
            parts.append(f"{len(self.open_alerts)} alert(s) open")
        if (coming := self._next_event()) is not None:
            parts.append(f"next: {coming[0]} at {coming[1].astimezone(ET):%a %H:%M} ET")
        return "; ".join([*self.safety.status(), *parts])

    def _beat(self) -> None:
        """Call the supervisor's hook with the status line (a failure is contained)."""
        if self.heartbeat is None:
            return
        try:
            self.heartbeat(self.status_line())
        except Exception as exc:
            self.safety.contain("the heartbeat", exc)

    async def _wait(self, seconds: float, *, hibernate_until: datetime | None = None) -> None:
        """Every wait of the main loop: with a heartbeat, in pieces of at most
        ``heartbeat_s``, calling it before each, so a hung loop stops calling it."""
        if self.heartbeat is None:
            await self._wait_once(seconds, hibernate_until)
            return
        self._beat()
        every = timedelta(seconds=self.heartbeat_s or 60.0)
        until = hibernate_until or self.clock.now() + timedelta(seconds=seconds)
        while not self._stopping and (left := until - self.clock.now()) > timedelta(0):
            piece = min(left, every)
            if hibernate_until is None:
                await self._wait_once(piece.total_seconds(), None)
            else:
                await self._wait_once(0, self.clock.now() + piece)
            if left > every:
                self._beat()

    async def _wait_once(self, seconds: float, hibernate_until: datetime | None) -> None:
        self._sleeper = (
            asyncio.ensure_future(self.clock.hibernate_until(hibernate_until))
            if hibernate_until
            else self.clock.sleeper(seconds)
        )
        try:
            await self._sleeper
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
        finally:
            self._sleeper = None

    async def run(self) -> RunSummary:
        """Connect, recover, trade sessions until stopped (or ``max_sessions`` done)."""
        # subscribed here, before any broker call: an event the start reconciliation causes
        # (a re-armed stop that fills at once) reaches the consumer even if its task has not
        # run yet when the broker publishes it
        first = self.broker.events()
        consumer = asyncio.create_task(self._consume(first), name="broker-events")
        try:
            await self.broker.connect()
            self.desk.connected = True
            await self.clock.sync(self.broker.server_time)
            self.account = await self.broker.account()
            self.mode = check_account(self.profile, self.account, self.live_confirmed, self.alert)
            self.bus.publish(
                api.EngineStarted(profile=self.profile.name, mode=self.mode, account=self.account)
            )
            logger.info(
                "engine started: profile {} ({}) account {}",
                self.profile.name,
                self.mode,
                self.account,
            )
            try:
                await self.reconcile("start")
            except Exception as exc:  # e.g. the link drops while it re-arms a stop
                self.safety.contain("the start reconciliation", exc)
            self.safety.started()
            await self._schedule()
        finally:
            await self.desk.drain()
            consumer.cancel()
            await self.safety.stop()
            self.state = "stopped"
            self.bus.publish(
                api.EngineStopped(reason="stop requested" if self._stopping else "done")
            )
            await self.broker.disconnect()
            logger.info(
                "engine stopped; {} condor(s) still live, {}",
                len(self.desk.live),
                "the simulator ends with this process, their stops with it"
                if self.profile.broker.kind == "sim"
                else "their stops stay at the broker",
            )
        return self.summary

    async def _consume(self, first: AsyncIterator[BrokerEvent] | None = None) -> None:
        """Apply the broker's events (``first``, the stream opened at the start, then new
        ones) while the engine runs. An event that cannot be applied, or a stream that breaks
        or ends (the broker closed it), is contained, and the stream is opened again, less
        often while it keeps failing (the containment's reconciliation catches up what was
        missed)."""
        delay = CONSUMER_RESTART_S
        while True:
            stream, first = (first if first is not None else self.broker.events()), None
            try:
                async for event in stream:
                    delay = CONSUMER_RESTART_S
                    try:
                        self.desk.on_broker_event(event)
                    except Exception as exc:
                        self.safety.contain(f"applying the broker's {type(event).__name__}", exc)
                if self._stopping:
                    return
                raise ConnectionError("the broker's event stream ended")
            except Exception as exc:
                self.safety.contain("the broker-event consumer", exc)
            await self.clock.sleep(delay)
            delay = min(delay * 2, 60.0)
            logger.warning("broker-event consumer restarted")

    async def reconcile(self, why: str) -> Plan:
        """Reconcile the journal with the broker and repair what is safe to repair; pause
        entries on anything unexplained until the operator acknowledges."""
        await self.clock.sync(self.broker.server_time)
        today = self.day or self.clock.now_et().date()
        watching = why in ("periodic", "stop event")  # not a start or a reconnect
        async with self.stop_lock:  # an operator's stop command is never half done here
            plan = await repair(
                self.desk, self.journal, self.broker, today, watching=watching, memo=self.plan_memo
            )
        self._last_reconcile = self.clock.now()
        self.desk.reconnected = False
        keys = {f"{f.code}:{f.message}": f for f in plan.findings}
        fresh = [f for k, f in keys.items() if k not in self.known_findings]
        self.known_findings = set(keys)
        for f in fresh:  # a finding that persists is alerted once, not every few minutes
            if f.severity == "info":
                logger.info("reconcile: {} ({})", f.message, f.action)
            else:
                self.alert(f.severity, f.code, f"{f.message}: {f.action}")
        quiet = why == "periodic" and not fresh
        if not quiet:
            self.bus.publish(
                api.ReconcileCompleted(
                    reason=why,
                    open_condors=len(plan.checks),
                    stops_ok=sum(1 for c in plan.checks if c.stop_ok),
                    findings=[f"{f.severity}: {f.message}" for f in plan.findings],
                    unexplained=len(plan.unexplained),
                )
            )
        pending = [f for f in plan.unexplained if f"{f.code}:{f.message}" not in self.acknowledged]
        if pending:
            self.add_pause(
                RECONCILE,
                f"{RECONCILE_PAUSE}: {len(pending)} unexplained finding(s); acknowledge to resume",
                "engine",
            )
        logger.log(
            "DEBUG" if quiet else "INFO",
            "reconcile ({}): {} open condor(s), {} finding(s), {} unexplained",
            why,
            len(plan.checks),
            len(plan.findings),
            len(plan.unexplained),
        )
        return plan

    async def _schedule(self) -> None:
        done = 0
        while not self._stopping:
            session = self.calendar.next_session(self.clock.now())
            if self.day != session.day:
                reset_at = datetime.combine(session.day, self.profile.schedule.reset_time, ET)
                if self.clock.now() < reset_at:
                    self.state = "hibernating"
                    self.bus.publish(api.Hibernating(until=reset_at))
                    logger.info("hibernating until {:%Y-%m-%d %H:%M} ET", reset_at)
                    await self._wait(0, hibernate_until=reset_at)
                    if self._stopping:
                        break
                await self.desk.checkpoint("reset")
                self._new_day(session)
            if self.clock.now() < session.open:
                await self._wait((session.open - self.clock.now()).total_seconds())
                if self._stopping:
                    break
            await self._trade_session(session)
            if self._stopping:
                break
            await self._after_session(session)
            done += 1
            if self.max_sessions and done >= self.max_sessions:
                break

    def _new_day(self, session: Session) -> None:
        """The daily reset, contained; a fault of the last session is lifted."""
        try:
            self._daily_reset(session)
        except Exception as exc:
            self.safety.contain("the daily reset", exc)
        self.safety.new_session()

    async def _after_session(self, session: Session) -> None:
        """The end of the session, contained."""
        try:
            await self._end_session(session)
        except Exception as exc:
            self.safety.contain("the end of the session", exc)

    def _daily_reset(self, session: Session) -> None:
        self.day, self.session = session.day, session
        today = self.journal.condors(day=session.day)
        self.entries.new_day(today)
        self._realized_today = sum((r.realized_pnl or _D0 for r in today), _D0)
        held = self.pauses.get(DAILY_LOSS)
        if held is not None and held.day != session.day:  # it lasts its own session only
            self.lift_pause(DAILY_LOSS, "engine")
        self._daily_loss_hit = held is not None and held.day == session.day
        self.open_alerts = [a for a in self.open_alerts if not a.startswith("daily_loss")]
        self.bus.publish(api.DailyReset(day=session.day))
        logger.info("daily reset for {}", session.day)
        cutoff = session.day - timedelta(days=self.profile.journal.retention_days)
        if removed := self.journal.purge_before(cutoff):
            logger.info("journal retention: removed {} rows older than {}", removed, cutoff)

    async def _trade_session(self, session: Session) -> None:
        self.state = "paused" if self.paused_reason else "armed"
        self.bus.publish(
            api.SessionOpened(day=session.day, close=session.close, early_close=session.early_close)
        )
        logger.info(
            "session {} open until {:%H:%M} ET{}",
            session.day,
            session.close.astimezone(ET),
            " (early close)" if session.early_close else "",
        )
        step = self.profile.strategy.cycle_seconds
        while not self._stopping and self.clock.now() < session.close:
            await self._cycle(session)
            await self._wait(step)

    async def _end_session(self, session: Session) -> None:
        """After the cut-off: settle what expired (asking the broker for the settlement price
        until the grace ends; a condor whose price is still unknown stays settlement pending
        and reconciliation keeps asking), then book the day."""
        deadline = session.close + timedelta(seconds=SETTLEMENT_GRACE_S)
        await self._last_executions(session)
        while await settle_expired(self.desk, session.day, session.close):
            if self.clock.now() >= deadline or self._stopping:
                self.alert(
                    "critical",
                    "unsettled",
                    "positions expiring today are still live after the close; "
                    "reconciliation keeps asking for their settlement",
                )
                break
            await self._wait(self.profile.simulator.tick_seconds)
        f = book_day(self.journal, session.day)
        self.bus.publish(
            api.SessionClosed(
                day=session.day,
                realized_pnl=f.realized_pnl,
                commissions=f.commissions,
                condors_opened=f.condors_opened,
                condors_closed=f.condors_closed,
            )
        )
        logger.info(
            "session {} closed: {} opened, {} closed, realized {} (commissions {})",
            session.day,
            f.condors_opened,
            f.condors_closed,
            f.realized_pnl,
            f.commissions,
        )

    async def _last_executions(self, session: Session) -> None:
        """Read the day's executions before the day is settled and booked: a broker reports
        only the day's, and a fill it made while the engine was not hearing it (the link down,
        the journal full) would otherwise be lost and its condor booked as expired at its
        settlement value. Waits for the link (up to the settlement grace)."""
        deadline = session.close + timedelta(seconds=SETTLEMENT_GRACE_S)
        while not self.desk.connected and not self._stopping and self.clock.now() < deadline:
            await self._wait(self.profile.simulator.tick_seconds)
        if not self.desk.connected:
            return
        try:  # not a reconciliation: past the cut-off the expiring positions are gone
            if new := await self.desk.sync_executions():
                logger.warning("{} execution(s) of the day found at the close", new)
        except BrokerError as exc:
            logger.warning("the day's executions could not be read at the close: {}", exc)

    # -- the trading cycle ----------------------------------------------------------------

    async def _cycle(self, session: Session) -> None:
        if not self.desk.connected:
            return
        try:
            await self._cycle_steps(session)
        except BrokerError as exc:
            self.alert("warning", "broker_error", f"trading cycle skipped: {exc}")
        except Exception as exc:  # contained: logged, alerted, entries paused, stops kept
            self.safety.contain("the trading cycle", exc)
        try:
            self._publish_market(session)
        except Exception as exc:
            self.safety.contain("the market update", exc)

    async def _cycle_steps(self, session: Session) -> None:
        self.spot = await self.broker.underlying_price()
        if self.journal.failing:  # fail closed: no exit or entry can be journaled; stops work
            self._check_daily_loss()
            await keep_protected(self.desk)  # a stop pair gone meanwhile is re-armed, queued
            return
        for live in [lc for lc in self.desk.live.values() if lc.state is CondorState.OPEN]:
            await self._monitor(live, session)
        self._check_daily_loss()
        await self._maybe_reconcile()
        if self.spot is not None:
            await self.entries.maybe_enter(session, self.spot, self.paused_reason)

    async def _monitor(self, live: LiveCondor, session: Session) -> None:
        if self.spot is None or live.credit is None or live.opened is None:
            return
        quotes = await self.broker.option_quotes(
            live.contracts, timeout=self.profile.strategy.greeks_timeout_s
        )
        self.desk.mark(live, quotes, self.spot)
        self.desk.stops.note_waiting(live)  # a fired stop the market quotes beyond its cap
        self.outlook.note_quotes(live.id, live.condor, quotes)
        now = self.clock.now()
        live.profit_target = profit_target(
            live.credit, first_trade=live.first_trade, opened=live.opened, now=now, rules=self.rules
        )
        danger = expiry_danger(
            live.condor, self.spot, self.clock.now_et(), session.close, self.rules
        )
        if danger:
            logger.warning("expiry safety for {}: {}", live.id, danger)
            await self.desk.close(live, ExitReason.EXPIRY_SAFETY)
        elif live.mark is not None and live.profit_target > 0 and live.mark <= live.profit_target:
            # take profits with a bounded chase: the first-trade rule never pays more than its
            # target; the nearly-worthless rule pays at most a few ticks over it
            first = live.profit_target > self.rules.profit_close_price
            reason = ExitReason.FIRST_TRADE_TARGET if first else ExitReason.PROFIT_TARGET
            cap = live.profit_target if first else live.profit_target + PROFIT_CHASE
            await self.desk.close(live, reason, cap=cap)

    def _check_daily_loss(self) -> None:
        if self._daily_loss_hit or self.day is None:
            return
        realized = self._realized_today
        if daily_loss_breached(realized, self.desk.unrealized_total(), self.rules):
            self._daily_loss_hit = True
            loss = realized + self.desk.unrealized_total()
            self.alert(
                "warning",
                "daily_loss",
                f"daily P&L {loss:.2f} reached the max loss "
                f"{self.rules.daily_max_loss}; entries paused for the day",
            )
            self.add_pause(DAILY_LOSS, f"daily max loss ({loss:.2f})", "engine")

    async def _maybe_reconcile(self) -> None:
        """Reconcile after a reconnect, when a stop went missing, and every few minutes."""
        now = self.clock.now()
        interval = timedelta(minutes=self.profile.schedule.reconcile_interval_min)
        degraded = any(
            lc.state is CondorState.OPEN and lc.stop_state not in PROTECTED
            for lc in self.desk.live.values()
        )
        due = self.safety.take_reconcile()  # after a contained fault or a journal outage
        if self.desk.reconnected:
            await self.reconcile("reconnected")
        elif due is not None:
            await self.reconcile(due)
        elif degraded or self._last_reconcile is None or now - self._last_reconcile >= interval:
            await self.reconcile("stop event" if degraded else "periodic")

    # -- entries --------------------------------------------------------------------------
