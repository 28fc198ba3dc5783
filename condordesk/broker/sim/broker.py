"""SimBroker: the Broker port over the simulated market, with a combo matching engine.

State (orders, positions, executions) lives in the SimBroker object and survives
``disconnect()``/``connect()``, so a test can restart the engine against the same broker.

Matching (rules in :mod:`condordesk.broker.sim.matching`) happens on the market's ticks
(``tick_seconds``). While connected, a background ticker task makes sure every trigger and
fill happens at the first tick where its condition holds and that its events go out at that
clock time. The ticker does not wake on every tick: the day's path is known in advance, so
it scans ahead and sleeps (``clock.sleep``) until the next tick where something happens, the
session close, or a state change (a new order, a gap). Every method also brings matching up
to the current tick before answering, so what it returns is never stale. While disconnected
the exchange side is frozen; on reconnect, triggers and fills that fell due meanwhile are
applied at once, stamped with the tick they belong to.

Events go to every :meth:`events` stream, but only while the link is up (connected and not
dropped): like IB, what happens while the link is down is learnt by asking (positions,
open orders, executions), not from events.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from condordesk.broker.base import (
    Broker,
    BrokerEvent,
    BrokerMessage,
    CommissionReceived,
    ConnectionChanged,
    ExecutionReceived,
    OrderUpdated,
    PositionsSettled,
)
from condordesk.broker.sim.faults import FaultsMixin
from condordesk.broker.sim.fees import CommissionSchedule
from condordesk.broker.sim.ledger import Ledger, LegFill
from condordesk.broker.sim.market import SimMarket
from condordesk.broker.sim.matching import (
    IMMEDIATE,
    ComboSeries,
    SimOrder,
    effective_legs,
    evaluate,
    first_event,
    from_cents,
    immediate_fill,
    limit_leg_prices,
    modify_rejection,
    natural_leg_prices,
    rejection,
    to_cents,
)
from condordesk.broker.sim.paths import DayPath
from condordesk.broker.sim.sessions import SessionHours, SessionTracker, in_listing
from condordesk.broker.sim.ticker import Ticker
from condordesk.broker.stream import EventHub, EventStream
from condordesk.domain.options import OptionContract, OptionQuote
from condordesk.domain.orders import (
    CommissionReport,
    Execution,
    OrderAction,
    OrderReport,
    OrderRequest,
    OrderStatus,
    Position,
    TimeInForce,
)
from condordesk.domain.prices import to_decimal
from condordesk.errors import NotConnected, OrderRejected
from condordesk.market.clock import ET, Clock

MAX_IDLE_S = 3600.0
"""The ticker re-checks at least this often (clock seconds), whatever it expects."""
LOOKAHEAD_TICKS = 180
_MIN_DELAY_S = 1e-6
_PERM_BASE = 1_000_000_000


class SimBroker(FaultsMixin, Broker):
    """The in-process simulated broker.

    Args:
        clock: the injected clock (all waiting goes through it).
        market: the simulated market (its config also gives the greeks latency and the
            probability that a quote's greeks are missing).
        sessions: the options session of a day as aware (open, close), or None.
        account: the account id reported.
        commissions: the commission schedule (IBKR Pro defaults).
        greeks_latency_s: overrides ``market.config.greeks_latency_s``.
        greeks_missing_prob: overrides ``market.config.greeks_missing_prob``.
        replay_executions_on_connect: emit today's executions (and commissions) again on each
            ``connect()``, as IB does on a new connection.
    """

    def __init__(
        self,
        clock: Clock,
        market: SimMarket,
        sessions: SessionHours,
        account: str = "SIM0001",
        *,
        commissions: CommissionSchedule | None = None,
        greeks_latency_s: float | None = None,
        greeks_missing_prob: float | None = None,
        replay_executions_on_connect: bool = False,
    ) -> None:
        cfg = market.config
        self._clock = clock
        self._market = market
        self._account = account
        self._ledger = Ledger(commissions or CommissionSchedule())
        self._latency = cfg.greeks_latency_s if greeks_latency_s is None else greeks_latency_s
        self._replay = replay_executions_on_connect
        self._init_faults(
            cfg.greeks_missing_prob if greeks_missing_prob is None else greeks_missing_prob
        )
        self._greeks_rng = random.Random(f"condordesk-sim:{cfg.seed}:greeks")
        self._hub = EventHub()
        self._connected = False
        self._closed = False
        self._ticker = Ticker(clock, self._tick, self._ticker_crashed)
        self._orders: dict[int, SimOrder] = {}
        self._working: dict[int, SimOrder] = {}
        self._next_order_id = 1
        self._next_perm = _PERM_BASE + (cfg.seed % 1000) * 1_000_000
        self._days = SessionTracker(market, sessions)
        self._combos: dict[tuple[tuple[OptionContract, int], ...], ComboSeries] = {}
        self._combo_day: date | None = None
        self._spot: tuple[float, Decimal] = (math.nan, Decimal(0))  # the last index converted

    # -- connection -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected and not self._dropped and not self._closed

    async def connect(self) -> None:
        """Open the session and start the ticker. Raises NotConnected while dropped/closed."""
        if self._closed:
            raise NotConnected("the simulated broker is closed")
        if self._dropped:
            raise NotConnected("the simulated broker is unreachable (connection dropped)")
        if self._connected:
            return
        self._connected = True
        self._emit(ConnectionChanged(True, "connected"))
        self._sync(self._clock.now())  # what fell due while away: closes, fills
        self._ticker.start()
        if self._replay:
            for execution, report in self._ledger.executions_on(self._clock.now_et().date()):
                self._emit(ExecutionReceived(execution))
                self._emit(CommissionReceived(report))

    async def disconnect(self) -> None:
        """Close the session and stop the ticker; orders stay working in the broker."""
        if not self._connected:
            return
        self._emit(ConnectionChanged(False, "disconnected"))
        self._connected = False
        await self._ticker.stop()

    async def close(self) -> None:
        """Disconnect for good and end every event stream."""
        await self.disconnect()
        self._closed = True
        self._hub.close()

    def events(self) -> EventStream:
        """A new stream of broker events from now on; it ends at :meth:`close`."""
        return self._hub.subscribe()

    def _require_link(self) -> None:
        if not self.connected:
            reason = "dropped" if self._dropped else "not connected"
            raise NotConnected(f"simulated broker: {reason}")

    def _emit(self, event: BrokerEvent) -> None:
        if self.connected:
            self._hub.publish(event)

    # -- queries --------------------------------------------------------------------------

    async def account(self) -> str:
        self._require_link()
        return self._account

    async def underlying_price(self) -> Decimal:
        self._require_link()
        now = self._clock.now()
        self._sync(now)
        spot = self._market.spot(now)
        if spot != self._spot[0]:  # the index holds between ticks: convert it once
            self._spot = (spot, to_decimal(spot))
        return self._spot[1]

    async def option_strikes(self, expiry: date) -> list[Decimal]:
        self._require_link()
        now = self._clock.now()
        self._sync(now)
        if self._days.hours(expiry) is None or expiry < now.astimezone(ET).date():
            return []
        return self._market.strikes(expiry, around=self._market.spot(now))

    async def option_quotes(
        self,
        contracts: Sequence[OptionContract],
        *,
        timeout: float,  # noqa: ASYNC109 - the port's signature
    ) -> dict[OptionContract, OptionQuote]:
        """Quotes after the greeks latency (capped at ``timeout``); see the port."""
        self._require_link()
        wait = min(self._latency, max(timeout, 0.0))
        if wait > 0:
            await self._clock.sleep(wait)
        self._require_link()
        now = self._clock.now()
        self._sync(now)
        arrived = self._latency <= timeout
        market = self._market
        path = market.path_at(now)
        out: dict[OptionContract, OptionQuote] = {}
        if path is None:
            return out
        idx = path.index(now)
        listings: dict[date, tuple[int, int] | None] = {}
        draw = self._greeks_rng.random
        clean = arrived and not self._nan_greeks  # else every quote goes through the faults
        for contract in dict.fromkeys(contracts):
            expiry = contract.expiry
            if expiry not in listings:
                listings[expiry] = self._days.listing(expiry, now)
            if in_listing(contract, listings[expiry]):
                quote = market.quote_at(contract, path, idx, now)
                p = draw()
                out[contract] = (
                    quote
                    if clean and p >= self._missing_prob
                    else self._degrade_greeks(quote, arrived, p)
                )
        return out

    async def open_orders(self) -> list[OrderReport]:
        self._require_link()
        self._sync(self._clock.now())
        return [order.report() for order in self._working.values()]

    async def order_status(self, order_id: int) -> OrderReport | None:
        self._require_link()
        self._sync(self._clock.now())
        order = self._orders.get(order_id)
        return None if order is None else order.report()

    async def positions(self) -> list[Position]:
        self._require_link()
        self._sync(self._clock.now())
        return self._ledger.positions()

    async def executions(self) -> list[tuple[Execution, CommissionReport | None]]:
        self._require_link()
        now = self._clock.now()
        self._sync(now)
        held = self._held_reports or {}
        return [
            (execution, None if execution.exec_id in held else report)
            for execution, report in self._ledger.executions_on(now.astimezone(ET).date())
        ]

    # -- orders -----------------------------------------------------------------------------

    async def server_time(self) -> datetime:
        """The simulated clock's time."""
        self._require_link()
        return self._clock.now()

    async def settlement_price(
        self, expiry: date, cutoff: datetime | None = None
    ) -> Decimal | None:
        """The simulated settlement level of ``expiry``, once that session has closed (the
        simulator knows its sessions: ``cutoff`` is not needed)."""
        self._require_link()
        now = self._clock.now()
        self._sync(now)
        hours = self._days.hours(expiry)
        if hours is None or now < hours[1] or self._settlement_withheld:
            return None
        try:
            return self._market.settlement_price(expiry)
        except KeyError:
            return None

    async def place_order(self, request: OrderRequest) -> OrderReport:
        """Accept, reject (raises OrderRejected), fill or rest an order; returns its report now.

        FOK/IOC orders are filled or cancelled before this returns (their events are already
        out); resting orders come back WORKING (or FILLED if they crossed at once).
        """
        self._require_link()
        now = self._clock.now()
        self._sync(now)
        order = self._new_order(request, now)
        problem = (
            self._fault_rejection() or rejection(request) or self._market_rejection(request, now)
        )
        path = self._today(now)
        if problem is not None or path is None:
            code, reason = problem or (201, "no session")
            self._set_status(order, OrderStatus.REJECTED, reason, now)
            raise OrderRejected(request.order_ref, reason, code)
        order.combo = self._combo_for(order.legs, path)
        if request.tif in IMMEDIATE:
            self._execute_now(order, path, now)
        else:
            self._rest(order, path, now)
        return order.report()

    async def modify_order(self, order_id: int, request: OrderRequest) -> OrderReport:
        """Change a working order's prices in place (see the port): same ids, same OCA group;
        a stop whose new trigger is already through the market triggers (and may fill) now.

        Raises OrderRejected: 104 for a filled or cancelled order, 10147 for an unknown one,
        321 for a change of anything but prices and quantity, 110 for an off-tick price."""
        self._require_link()
        now = self._clock.now()
        self._sync(now)
        order = self._orders.get(order_id)
        problem = modify_rejection(order_id, order, request) or self._fault_rejection()
        path = self._today(now)
        if problem is None:
            problem = rejection(request) or self._market_rejection(request, now)
        if problem is not None or order is None or path is None:
            code, reason = problem or (201, "no session")
            raise OrderRejected(request.order_ref, reason, code)
        order.request = request
        order.limit_c = (
            None if request.limit_price is None else order.sign * to_cents(request.limit_price)
        )
        order.stop_c = (
            None if request.stop_price is None else order.sign * to_cents(request.stop_price)
        )
        idx = self._live_index(path, now)
        order.scan_path, order.scan_version = path, path.version
        order.clear_to, order.event_at = idx, None
        self._set_status(order, OrderStatus.WORKING, "modified", now)
        self._run_events(path, idx, now)  # a trigger now through the market fires at once
        self._wake_ticker()
        return order.report()

    async def cancel_order(self, order_id: int) -> None:
        self._require_link()
        now = self._clock.now()
        self._sync(now)
        order = self._working.get(order_id)
        if order is not None:
            self._set_status(order, OrderStatus.CANCELLED, "cancelled", now)
        elif order_id in self._orders:
            text = f"order {order_id} is {self._orders[order_id].status.value}: cannot cancel"
            self._emit(BrokerMessage(161, text, order_id))
        else:
            self._emit(BrokerMessage(10147, f"order {order_id} to cancel was not found", order_id))

    def _new_order(self, request: OrderRequest, now: datetime) -> SimOrder:
        sign = 1 if request.action is OrderAction.BUY else -1
        order = SimOrder(
            order_id=self._next_order_id,
            perm_id=self._new_perm(),
            request=request,
            sign=sign,
            legs=effective_legs(request),
            limit_c=None if request.limit_price is None else sign * to_cents(request.limit_price),
            stop_c=None if request.stop_price is None else sign * to_cents(request.stop_price),
            updated=now,
        )
        self._next_order_id += 1
        self._orders[order.order_id] = order
        return order

    def _new_perm(self) -> int:
        self._next_perm += 7
        return self._next_perm

    def _market_rejection(self, request: OrderRequest, now: datetime) -> tuple[int, str] | None:
        path = self._today(now)
        if path is not None and now >= path.close_utc:
            expiring = [leg.contract for leg in request.legs if leg.contract.expiry <= path.day]
            if expiring:  # the day's session runs to the cut-off of expiring options
                return (201, _after_cutoff(expiring[0], path.close))
        if path is None or not path.trading(now):
            return (201, "outside trading hours: the options session is closed")
        for leg in request.legs:
            if not self._days.listed(leg.contract, now):
                return (200, f"no security definition has been found for {leg.contract.symbol}")
        return None

    def _combo_for(
        self, legs: tuple[tuple[OptionContract, int], ...], path: DayPath
    ) -> ComboSeries:
        if self._combo_day != path.day:
            self._combos.clear()
            self._combo_day = path.day
        combo = self._combos.get(legs)
        if combo is None:
            series = [(self._market.leg_series(c, path), sign) for c, sign in legs]
            combo = self._combos[legs] = ComboSeries(series)
        return combo

    def _execute_now(self, order: SimOrder, path: DayPath, now: datetime) -> None:
        assert order.combo is not None
        assert order.limit_c is not None
        idx = self._live_index(path, now)
        order.combo.ensure(path, idx, idx + 1)
        bid, ask = order.combo.at(idx)
        price = immediate_fill(order.limit_c, bid, ask)
        if self._take_fok_kill(order):
            self._set_status(order, OrderStatus.CANCELLED, "FOK killed (fault injection)", now)
        elif price is None:
            tif = order.request.tif.value
            self._set_status(order, OrderStatus.CANCELLED, f"{tif} not marketable", now)
        else:
            self._fill(order, path, idx, price, natural=False, ts=now)

    def _rest(self, order: SimOrder, path: DayPath, now: datetime) -> None:
        idx = self._live_index(path, now)
        order.scan_path, order.scan_version = path, path.version
        order.clear_to, order.event_at = idx, None
        self._working[order.order_id] = order
        self._set_status(order, OrderStatus.WORKING, "", now)
        self._run_events(path, idx, now)
        self._wake_ticker()

    def _set_status(self, order: SimOrder, status: OrderStatus, reason: str, ts: datetime) -> None:
        order.status, order.reason, order.updated = status, reason, ts
        if status.is_done:
            self._working.pop(order.order_id, None)
        self._emit(OrderUpdated(order.report()))

    # -- matching -----------------------------------------------------------------------------

    def _sync(self, now: datetime) -> None:
        """Apply session closes and every trigger or fill due up to ``now``."""
        days = self._days
        for day in days.due(now):
            self._close_session(day, now)
        path = days.today(now)
        if path is None or not self._working or not path.trading(now):
            return
        self._run_events(path, self._live_index(path, now), now)

    @staticmethod
    def _live_index(path: DayPath, now: datetime) -> int:
        return min(path.index(now), path.last - 1)

    def _run_events(self, path: DayPath, idx: int, now: datetime) -> None:
        """Apply, earliest first, every event at or before tick ``idx``."""
        stop = idx + 1
        while True:
            best: tuple[int, SimOrder] | None = None
            for order in self._working.values():
                if _clear_before(order, path, stop):
                    continue  # what _event_before answers at once, without the call
                tick = self._event_before(order, path, stop)
                if tick is not None and (best is None or tick < best[0]):
                    best = (tick, order)
            if best is None:
                return
            tick, order = best
            self._apply(order, path, tick, now if tick == idx else path.time_of(tick))

    def _event_before(self, order: SimOrder, path: DayPath, stop: int) -> int | None:
        """The order's next event tick if it is before ``stop`` (scans and caches)."""
        if order.scan_path is not path or order.scan_version != path.version:
            start = 0
            if order.scan_path is path:  # re-scan from the earliest tick a gap changed
                start = min(order.clear_to, *path.gap_starts[order.scan_version :])
            order.scan_path, order.scan_version = path, path.version
            order.clear_to, order.event_at = start, None
        if order.hold is not None and order.hold[0] is path and order.clear_to < order.hold[1]:
            order.clear_to, order.event_at = order.hold[1], None  # the next piece waits
        if order.event_at is not None:
            return order.event_at if order.event_at < stop else None
        if order.clear_to >= stop:
            return None
        assert order.combo is not None
        order.combo.ensure(path, order.clear_to, stop)
        tick = first_event(order, order.combo, order.clear_to, stop)
        if tick is None:
            order.clear_to = stop
        else:
            order.event_at = tick
        return tick

    def _apply(self, order: SimOrder, path: DayPath, tick: int, ts: datetime) -> None:
        assert order.combo is not None
        order.combo.ensure(path, tick, tick + 1)
        outcome = evaluate(order, *order.combo.at(tick))
        order.event_at, order.clear_to = None, tick + 1
        if outcome.triggers:
            order.triggered = True
            self._set_status(order, OrderStatus.WORKING, "triggered", ts)
        if outcome.fill_c is not None:
            self._fill(order, path, tick, outcome.fill_c, natural=outcome.natural, ts=ts)

    def _fill(
        self,
        order: SimOrder,
        path: DayPath,
        tick: int,
        price_c: int,
        *,
        natural: bool,
        ts: datetime,
    ) -> None:
        """Fill the order at ``price_c`` (effective cents) on ``tick``: whole, or its next
        piece under the partial-fill fault (the rest waits for a later tick)."""
        assert order.combo is not None
        self._take_partial(order)
        quotes = order.combo.leg_quotes(path, tick)
        prices = natural_leg_prices(quotes) if natural else limit_leg_prices(quotes, price_c)
        qty = order.next_piece()
        legs: list[LegFill] = [
            (contract, OrderAction.BUY if sign > 0 else OrderAction.SELL, qty, from_cents(p))
            for (contract, sign), p in zip(order.legs, prices, strict=True)
        ]
        first = order.filled == 0
        records = self._book(
            order.order_id,
            order.perm_id,
            order.request.order_ref,
            legs,
            ts,
            already_charged=order.commission_paid,
        )
        fees = self._ledger.commissions
        for execution, report in records:
            order.commission_paid += fees.commission_part(report.commission, execution.quantity)
        order.filled += qty
        order.filled_c += price_c * qty
        order.avg_fill_price = order.average_price()
        if order.remaining:
            done = f"partially filled {order.filled}/{order.request.quantity}"
            self._set_status(order, OrderStatus.WORKING, done, ts)
            after = _first_tick_from(path, ts + timedelta(seconds=order.piece_gap_s), tick + 1)
            order.hold = (path, after)
            order.event_at, order.clear_to = None, max(order.clear_to, after)
        else:
            self._set_status(order, OrderStatus.FILLED, "", ts)
        if first and order.oca_group:  # OCA type 1: the first fill cancels the siblings
            self._cancel_oca(order.oca_group, ts, keep=order)

    def _book(
        self,
        order_id: int,
        perm_id: int,
        ref: str,
        legs: list[LegFill],
        ts: datetime,
        already_charged: Decimal = Decimal(0),
    ) -> list[tuple[Execution, CommissionReport]]:
        """Record a fill in the ledger and emit its executions and commissions."""
        records = self._ledger.record(
            order_id=order_id,
            perm_id=perm_id,
            order_ref=ref,
            legs=legs,
            ts=ts,
            already_charged=already_charged,
        )
        for execution, report in records:
            self._emit(ExecutionReceived(execution))
            if not self._late(report):
                self._emit(CommissionReceived(report))
        for contract, *_ in legs:
            self._days.watch(contract.expiry)
        return records

    def _cancel_oca(self, group: str, ts: datetime, keep: SimOrder) -> None:
        siblings = [o for o in self._working.values() if o.oca_group == group and o is not keep]
        for sibling in siblings:
            self._set_status(sibling, OrderStatus.CANCELLED, f"OCA group {group} filled", ts)

    # -- sessions ------------------------------------------------------------------------------

    def _today(self, now: datetime) -> DayPath | None:
        return self._days.today(now)

    def _close_session(self, day: date, now: datetime) -> None:
        """At the close of ``day``: cancel DAY orders and orders on expired legs, settle."""
        for order in list(self._working.values()):
            expired = any(c.expiry <= day for c, _ in order.legs)
            if expired or order.request.tif is TimeInForce.DAY:
                self._set_status(order, OrderStatus.CANCELLED, "session closed", now)
        settled = self._ledger.settle(day)
        if settled and not self._settlement_withheld:
            if not self._market.known(day):
                self._days.path(day)
            price = self._market.settlement_price(day)
            self._emit(PositionsSettled(day, price, settled, now))
        self._ledger.forget_before(day)
        for order_id in [k for k, o in self._orders.items() if o.status.is_done and _older(o, day)]:
            del self._orders[order_id]

    # -- ticker -------------------------------------------------------------------------------

    def _tick(self, now: datetime) -> float:
        """The ticker's step: bring matching up to ``now``; clock seconds until the next due."""
        self._sync(now)
        target = now + timedelta(seconds=MAX_IDLE_S)
        next_close = self._days.next_close()
        if next_close is not None:
            target = min(target, next_close)
        path = self._today(now)
        if path is not None and now < path.open_utc:
            target = min(target, path.open_utc)
        elif path is not None and now < path.close_utc and self._working:
            target = min(target, path.time_of(self._lookahead(path, now)))
        return max((target - now).total_seconds(), _MIN_DELAY_S)

    def _lookahead(self, path: DayPath, now: datetime) -> int:
        """The next tick with an event, or how far ahead it is safe to sleep."""
        stop = min(self._live_index(path, now) + 1 + LOOKAHEAD_TICKS, path.last)
        ticks = [self._event_before(o, path, stop) for o in self._working.values()]
        return min([t for t in ticks if t is not None], default=stop)

    def _ticker_crashed(self, exc: Exception) -> None:
        self._emit(BrokerMessage(-1, f"simulated broker ticker crashed: {exc!r}"))

    def _wake_ticker(self) -> None:
        self._ticker.wake()


def _clear_before(order: SimOrder, path: DayPath, stop: int) -> bool:
    """True if ``order``'s scan of ``path`` already shows no event before tick ``stop``."""
    return (
        order.clear_to >= stop
        and order.event_at is None
        and order.hold is None
        and order.scan_path is path
        and order.scan_version == path.version
    )


def _first_tick_from(path: DayPath, when: datetime, at_least: int) -> int:
    """The first tick (not before ``at_least``) that starts at or after ``when``."""
    idx = path.index(when)
    if path.time_of(idx) < when:
        idx += 1
    return max(idx, at_least)


def _after_cutoff(contract: OptionContract, cutoff: datetime) -> str:
    """IB's wording for an order in an option past its last trading time."""
    return (
        f"outside trading hours: {contract.symbol} has expired (options expiring "
        f"{contract.expiry:%Y%m%d} stopped trading at {cutoff.astimezone(ET):%H:%M} ET)"
    )


def _older(order: SimOrder, day: date) -> bool:
    return order.updated is not None and order.updated.astimezone(ET).date() < day
