"""Fault injection for tests: the public knobs of :class:`~condordesk.broker.sim.SimBroker`.

Every knob acts on broker-side state, so it works whether or not a client is connected
(events it causes are delivered only while the link is up).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from condordesk.broker.base import BrokerEvent, CommissionReceived, ConnectionChanged
from condordesk.broker.sim.ledger import Ledger, LegFill
from condordesk.broker.sim.market import SimMarket
from condordesk.broker.sim.matching import IMMEDIATE, SimOrder, split
from condordesk.broker.sim.paths import DayPath
from condordesk.domain.options import Greeks, OptionContract, OptionQuote
from condordesk.domain.orders import (
    CommissionReport,
    Execution,
    OrderAction,
    OrderStatus,
    TimeInForce,
)
from condordesk.market.clock import Clock

_NAN_GREEKS = Greeks(delta=math.nan, gamma=math.nan, theta=math.nan, vega=math.nan, iv=math.nan)


class FaultsMixin:
    """Fault-injection methods; the broker provides the state and hooks declared here."""

    _clock: Clock
    _market: SimMarket
    _ledger: Ledger
    _working: dict[int, SimOrder]

    def _init_faults(self, greeks_missing_prob: float) -> None:
        self._dropped = False
        self._rejects: list[str] = []
        self._fok_kills = 0
        self._partials: list[tuple[int, float]] = []  # (pieces, gap_s) for the next orders
        self._missing_prob = greeks_missing_prob
        self._nan_greeks = False
        self._settlement_withheld = False
        self._held_reports: dict[str, CommissionReport] | None = None  # None: not holding

    # hooks the broker implements
    def _emit(self, event: BrokerEvent) -> None:
        raise NotImplementedError

    def _sync(self, now: datetime) -> None:
        raise NotImplementedError

    def _today(self, now: datetime) -> DayPath | None:
        raise NotImplementedError

    def _set_status(self, order: SimOrder, status: OrderStatus, reason: str, ts: datetime) -> None:
        raise NotImplementedError

    def _book(
        self,
        order_id: int,
        perm_id: int,
        ref: str,
        legs: list[LegFill],
        ts: datetime,
        already_charged: Decimal = Decimal(0),
    ) -> list[tuple[Execution, CommissionReport]]:
        raise NotImplementedError

    def _new_perm(self) -> int:
        raise NotImplementedError

    def _wake_ticker(self) -> None:
        raise NotImplementedError

    # -- orders ---------------------------------------------------------------------------------

    def reject_next(self, reason: str = "rejected by the simulator", count: int = 1) -> None:
        """Reject the next ``count`` orders with ``reason`` (code 201)."""
        self._rejects.extend([reason] * count)

    def withhold_settlement(self, withheld: bool = True) -> None:
        """While withheld, the settlement price is unknown, as on IB before the official close
        is published: :meth:`settlement_price` answers None and expiring positions leave the
        account at the cut-off without a ``PositionsSettled`` event."""
        self._settlement_withheld = withheld

    def hold_commissions(self, held: bool = True) -> None:
        """While held, commission reports come late: none is emitted and :meth:`executions`
        lists the executions without them. Releasing emits every report held back."""
        if held:
            self._held_reports = self._held_reports or {}
            return
        reports, self._held_reports = self._held_reports or {}, None
        for report in reports.values():
            self._emit(CommissionReceived(report))

    def _late(self, report: CommissionReport) -> bool:
        """True (and ``report`` kept for later) while commission reports are held."""
        if self._held_reports is None:
            return False
        self._held_reports[report.exec_id] = report
        return True

    def kill_next_fok(self, count: int = 1) -> None:
        """Cancel the next ``count`` FOK orders unfilled, even if they are marketable."""
        self._fok_kills += count

    def partial_fills(self, count: int = 1, pieces: int = 2, interval_s: float = 0.0) -> None:
        """Fill the next ``count`` multi-contract resting orders in ``pieces`` pieces.

        Applies to orders of 2 contracts or more that rest (DAY/GTC limits, stop-limits,
        stop-markets), counted when they first fill; FOK and IOC orders stay whole (a FOK is
        all or nothing). The first piece fills where the order would have filled whole; each
        further piece on the first tick at least ``interval_s`` clock seconds (and one tick)
        later where the order's price condition still holds, so a limit the market leaves
        behind stays partly filled. Each piece is a fill of its own (one execution and one
        commission report per leg, new exec ids); in between the order is WORKING with
        ``filled``/``remaining`` updated, and FILLED after the last piece. The first piece
        cancels the order's OCA siblings (IB's OCA type 1). Cancelling the order (or the
        session close) leaves the filled part held and reports CANCELLED with ``filled`` below
        the quantity.
        """
        if count < 0 or pieces < 2 or interval_s < 0:
            raise ValueError(
                f"need count >= 0, pieces >= 2, interval_s >= 0; got {count}, "
                f"{pieces}, {interval_s}"
            )
        self._partials.extend([(pieces, interval_s)] * count)

    def cancel_order_by_hand(self, order_id: int) -> bool:
        """Cancel a working order as if from TWS; False if it was not working."""
        now = self._clock.now()
        self._sync(now)
        order = self._working.get(order_id)
        if order is None:
            return False
        self._set_status(order, OrderStatus.CANCELLED, "cancelled by hand (TWS)", now)
        return True

    def close_position_by_hand(
        self, contract: OptionContract, quantity: int | None = None
    ) -> list[Execution]:
        """Trade ``quantity`` (default: all) of a position away at the market, as from TWS.

        The execution has order id 0 and an empty order ref (not the engine's). Raises
        ValueError when there is no such position or the session is not open.
        """
        now = self._clock.now()
        self._sync(now)
        held = self._ledger.quantity(contract)
        path = self._today(now)
        if held == 0:
            raise ValueError(f"no position in {contract.symbol}")
        if path is None or not path.trading(now):
            raise ValueError("the options session is not open")
        qty = abs(held) if quantity is None else min(abs(quantity), abs(held))
        quote = self._market.quote(contract, now)
        side = OrderAction.SELL if held > 0 else OrderAction.BUY
        price = quote.bid if side is OrderAction.SELL else quote.ask
        assert price is not None
        legs: list[LegFill] = [(contract, side, qty, price)]
        return [e for e, _ in self._book(0, self._new_perm(), "", legs, now)]

    def trade_by_hand(
        self, contract: OptionContract, side: OrderAction, quantity: int
    ) -> list[Execution]:
        """Buy or sell ``quantity`` of ``contract`` at the market with no order ref, as a person
        would in TWS (opens a position the engine never opened). Raises ValueError outside the
        session."""
        now = self._clock.now()
        self._sync(now)
        path = self._today(now)
        if path is None or not path.trading(now):
            raise ValueError("the options session is not open")
        quote = self._market.quote(contract, now)
        price = quote.ask if side is OrderAction.BUY else quote.bid
        assert price is not None
        legs: list[LegFill] = [(contract, side, quantity, price)]
        return [e for e, _ in self._book(0, self._new_perm(), "", legs, now)]

    def _fault_rejection(self) -> tuple[int, str] | None:
        return (201, self._rejects.pop(0)) if self._rejects else None

    def _take_partial(self, order: SimOrder) -> None:
        """Plan the pieces of ``order`` at its first fill if a partial-fill fault is pending."""
        if order.pieces is not None or order.filled or not self._partials:
            return
        if order.request.tif in IMMEDIATE or order.request.quantity < 2:
            return
        pieces, gap = self._partials.pop(0)
        order.pieces, order.piece_gap_s = split(order.request.quantity, pieces), gap

    def _take_fok_kill(self, order: SimOrder) -> bool:
        if self._fok_kills <= 0 or order.request.tif is not TimeInForce.FOK:
            return False
        self._fok_kills -= 1
        return True

    # -- market -----------------------------------------------------------------------------------

    def gap(self, points: float) -> None:
        """Shift SPX by ``points`` from now to the close; stops react on this very tick."""
        now = self._clock.now()
        self._sync(now)
        self._market.gap(points, now)
        self._sync(now)
        self._wake_ticker()

    def set_greeks_missing(self, prob: float) -> None:
        """Probability that a quote comes without greeks (``greeks=None``)."""
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {prob}")
        self._missing_prob = prob

    def set_nan_greeks(self, enabled: bool) -> None:
        """When enabled, greeks that do arrive are all NaN."""
        self._nan_greeks = enabled

    def _degrade_greeks(self, quote: OptionQuote, arrived: bool, draw: float) -> OptionQuote:
        if not arrived or draw < self._missing_prob:
            return replace(quote, greeks=None, greeks_ts=None)
        if self._nan_greeks:
            return replace(quote, greeks=_NAN_GREEKS)
        return quote

    # -- connection -------------------------------------------------------------------------------

    def drop_connection(self, reason: str = "connectivity between IB and TWS lost (1100)") -> None:
        """Lose the link: ConnectionChanged(False) goes out, then every call raises NotConnected.

        The exchange side keeps matching; events meanwhile are not delivered.
        """
        if self._dropped:
            return
        self._emit(ConnectionChanged(False, reason))
        self._dropped = True

    def restore_connection(self, reason: str = "connectivity restored, data kept (1102)") -> None:
        """Bring the link back and emit ConnectionChanged(True)."""
        if not self._dropped:
            return
        self._dropped = False
        self._emit(ConnectionChanged(True, reason))
