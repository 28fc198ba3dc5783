"""Entries: when a new condor may be opened, which one, and opening it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from loguru import logger

from condordesk.broker.base import Broker
from condordesk.config.profile import Profile
from condordesk.domain.condor import CondorState, IronCondor
from condordesk.domain.options import OptionContract, Right
from condordesk.engine import api
from condordesk.engine.book import LiveCondor
from condordesk.engine.bus import EventBus
from condordesk.engine.desk import Desk
from condordesk.market.calendar import Session
from condordesk.market.clock import ET, Clock
from condordesk.market.pricing import SECONDS_PER_YEAR
from condordesk.risk.rules import EntryContext, entry_blocker
from condordesk.store.journal import CondorRecord, Journal
from condordesk.strategy.selection import (
    CondorCandidate,
    NoTrade,
    SelectionRules,
    choose_condor,
    screen_contracts,
)

_REGULAR_CLOSE = time(16, 0)
ENTRY_RETRY_S = 60.0
"""Clock seconds between entry attempts that found nothing to trade."""
IV_REUSE = timedelta(minutes=5)
"""How long an ATM implied vol is reused for screening."""


class Entries:
    """Decides and carries out new entries; the engine calls :meth:`maybe_enter` each cycle."""

    def __init__(
        self,
        profile: Profile,
        selection: SelectionRules,
        broker: Broker,
        journal: Journal,
        clock: Clock,
        desk: Desk,
        bus: EventBus,
    ) -> None:
        self.profile = profile
        self.selection = selection
        self.broker = broker
        self.journal = journal
        self.clock = clock
        self.desk = desk
        self.bus = bus
        self.last_entry: datetime | None = None
        self._next_try: datetime | None = None
        self._last_skip: str | None = None
        self._strikes: dict[date, list[Decimal]] = {}
        self._iv: tuple[datetime, float] | None = None  # (when, ATM implied vol) for screening
        # (session, strategy, entry end, close in ET): what context() computes once a session
        self._session_times: tuple[Session, object, time, datetime] | None = None

    @property
    def atm_iv(self) -> float | None:
        """The at-the-money implied vol last measured today, if any (for the expected move)."""
        return self._iv[1] if self._iv is not None else None

    def new_day(self, today: list[CondorRecord]) -> None:
        """The daily reset: the re-entry clock starts from the day's journaled entries."""
        opened = [r.opened_ts for r in today if r.opened_ts is not None]
        self.last_entry = max(opened) if opened else None
        self._next_try = None
        self._iv = None

    def context(self, session: Session, paused_reason: str | None) -> EntryContext:
        """What the entry gate looks at now."""
        strat = self.profile.strategy
        fixed = self._session_times
        if fixed is None or fixed[0] is not session or fixed[1] is not strat:  # once a session
            entry_end = strat.entry_end
            if session.early_close:  # keep the same distance from the close
                lead = datetime.combine(session.day, _REGULAR_CLOSE) - datetime.combine(
                    session.day, entry_end
                )
                entry_end = min(entry_end, (session.close.astimezone(ET) - lead).time())
            fixed = self._session_times = (session, strat, entry_end, session.close.astimezone(ET))
        _, _, entry_end, close_et = fixed
        return EntryContext(
            now_et=self.clock.now_et(),
            entry_start=strat.entry_start,
            entry_end=entry_end,
            session_close_et=close_et,
            paused_reason=paused_reason,
            connected=self.desk.connected,
            live_condors=sum(1 for lc in self.desk.live.values() if lc.state.is_live),
            max_concurrent=strat.max_concurrent,
            last_entry=self.last_entry,
            reentry_interval=timedelta(minutes=strat.reentry_interval_min),
        )

    async def maybe_enter(self, session: Session, spot: Decimal, paused_reason: str | None) -> None:
        """Open a condor if the gate allows one and the market offers one."""
        now = self.clock.now()
        ctx = self.context(session, paused_reason)
        blocker = entry_blocker(ctx)
        if blocker is not None or (self._next_try is not None and now < self._next_try):
            await self._warm_up(session, spot, ctx, blocker)
            return
        self._next_try = now + timedelta(seconds=ENTRY_RETRY_S)
        choice = await self._choose(session, spot)
        if isinstance(choice, NoTrade):
            if choice.reason != self._last_skip:
                self.bus.publish(api.EntrySkipped(reason=choice.reason, detail=choice.detail))
                logger.info("no entry: {} ({})", choice.reason, choice.detail)
            self._last_skip = choice.reason
            return
        self._last_skip = None
        await self._enter(session, choice.condor, choice.credit, spot)

    async def _choose(self, session: Session, spot_d: Decimal) -> NoTrade | CondorCandidate:
        now = self.clock.now()
        strikes = await self._chain(session)
        if not strikes:
            return NoTrade("no_chain", f"no SPXW strikes expire {session.day}")
        years = max((session.close - now).total_seconds(), 60.0) / SECONDS_PER_YEAR
        spot = float(spot_d)
        atm = min(strikes, key=lambda k: abs(float(k) - spot))
        timeout = self.profile.strategy.greeks_timeout_s
        iv = await self._atm_iv(session, atm, timeout)
        if iv is None:
            return NoTrade("stale_greeks", "no implied volatility at the money")
        candidates = screen_contracts(strikes, session.day, spot, years, iv, self.selection)
        quotes = await self.broker.option_quotes(candidates, timeout=timeout)
        return choose_condor(quotes, session.day, spot, self.clock.now(), self.selection)

    def _next_chance(
        self, session: Session, ctx: EntryContext, blocker: str | None
    ) -> datetime | None:
        """When the next entry attempt may come, if only time stands in its way."""
        if blocker is None:
            at = self.clock.now()
        elif blocker == "outside entry window" and ctx.now_et.time() < ctx.entry_start:
            at = datetime.combine(session.day, ctx.entry_start, ET)
        elif blocker == "re-entry interval not elapsed" and ctx.last_entry is not None:
            at = ctx.last_entry + ctx.reentry_interval
        else:
            return None
        if self._next_try is not None:
            at = max(at, self._next_try)
        return at

    async def _warm_up(
        self, session: Session, spot: Decimal, ctx: EntryContext, blocker: str | None
    ) -> None:
        """Measure the at-the-money vol ahead of an entry attempt that is due within two
        cycles, when the vol in hand would be too old by then: the attempt itself then needs
        one round of quotes instead of two."""
        at = self._next_chance(session, ctx, blocker)
        if at is None:
            return
        now = self.clock.now()
        if at - now > timedelta(seconds=2 * self.profile.strategy.cycle_seconds):
            return
        if self._iv is not None and at - self._iv[0] < IV_REUSE:
            return
        strikes = await self._chain(session)
        if strikes:
            atm = min(strikes, key=lambda k: abs(k - spot))
            await self._atm_iv(session, atm, self.profile.strategy.greeks_timeout_s)

    async def _chain(self, session: Session) -> list[Decimal]:
        """Today's SPXW strikes (asked for once a day)."""
        strikes = self._strikes.get(session.day)
        if strikes is None:
            strikes = await self.broker.option_strikes(session.day)
            self._strikes = {session.day: strikes}  # today's chain only
        return strikes

    async def _atm_iv(self, session: Session, atm: Decimal, wait_s: float) -> float | None:
        """The at-the-money implied vol used to screen strikes: reused for a few minutes (it
        only picks which contracts to ask live greeks for), so most attempts need one round
        of quotes instead of two."""
        now = self.clock.now()
        if self._iv is not None and now - self._iv[0] < IV_REUSE:
            return self._iv[1]
        pair = [
            OptionContract(session.day, atm, Right.PUT),
            OptionContract(session.day, atm, Right.CALL),
        ]
        quotes = await self.broker.option_quotes(pair, timeout=wait_s)
        ivs = [
            q.greeks.iv for q in quotes.values() if q.greeks is not None and q.greeks.is_finite()
        ]
        if not ivs:
            return None
        self._iv = (now, sum(ivs) / len(ivs))
        return self._iv[1]

    async def _enter(
        self, session: Session, condor: IronCondor, credit: Decimal, spot: Decimal
    ) -> None:
        today = self.journal.condors(day=session.day)
        condor_id = f"{session.day:%Y%m%d}-{len(today) + 1:02d}"
        first = not any(r.opened_ts is not None for r in today)
        now = self.clock.now()
        self.journal.insert_condor(
            CondorRecord(
                id=condor_id,
                day=session.day,
                condor=condor,
                state=CondorState.WORKING,
                created_ts=now,
                target_credit=credit,
                first_trade=first,
            )
        )
        live = LiveCondor(
            id=condor_id,
            day=session.day,
            condor=condor,
            state=CondorState.WORKING,
            created=now,
            target_credit=credit,
            first_trade=first,
        )
        self.desk.live[condor_id] = live
        logger.info("entering {} {} for {} (SPX {})", condor_id, condor.label(), credit, spot)
        await self.desk.open_condor(live, credit)
        if live.opened is not None:
            self.last_entry = live.opened
