"""Combo order matching of the simulated broker, in integer cents.

Every order is normalised to a *BUY* of its effective legs: a SELL combo order becomes a BUY
of the inverted legs at the negated price, so one set of rules serves both sides. For the
effective legs (``+1`` bought, ``-1`` sold) at one tick:

* combo bid = sum(bid of bought legs) - sum(ask of sold legs); combo ask (the *natural*
  price of buying) = sum(ask of bought legs) - sum(bid of sold legs); mark = their mid;
* fill reference = mid + 0.35 * (ask - mid), i.e. ``(13*bid + 27*ask) / 40``.

Rules (``P`` the limit, ``S`` the stop):

* LMT FOK/IOC fills at once when ``P >= reference``, at ``min(P, ask)``; else cancelled.
* LMT DAY/GTC fills on the first tick where ``P >= reference``, at
  ``min(P, reference rounded up to 0.05)``.
* STP LMT triggers on the first tick where ``mark >= S``, then behaves as a resting LMT at
  ``P`` (it may fill on the trigger tick).
* STP triggers where ``mark >= S`` and fills at once at the natural price (each bought leg at
  its ask, each sold leg at its bid).

An order normally fills whole. Under the ``partial_fills`` fault a resting order fills in
pieces (:attr:`SimOrder.pieces`): each piece on the first tick, at or after the order's
``hold_to`` tick, where the rules above hold again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from condordesk.broker.sim.market import LegSeries
from condordesk.broker.sim.paths import DayPath, TickSeries
from condordesk.domain.options import OptionContract
from condordesk.domain.orders import (
    OrderAction,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    TimeInForce,
)

IMMEDIATE = (TimeInForce.FOK, TimeInForce.IOC)
COMBO_TICK_CENTS = 5
_AVG_PLACES = Decimal("0.0001")


class ComboSeries(TickSeries):
    """Combo bid/ask (cents, effective BUY side) along a session, computed lazily."""

    __slots__ = ("legs",)

    def __init__(self, legs: Sequence[tuple[LegSeries, int]]) -> None:
        super().__init__()
        self.legs = tuple(legs)

    def compute(self, path: DayPath, lo: int, hi: int) -> tuple[list[int], list[int]]:
        """The combo's quotes (cents, BUY side) at ticks ``[lo, hi)``, from its legs'."""
        n = hi - lo
        bids = [0] * n
        asks = [0] * n
        for leg, sign in self.legs:
            leg.ensure(path, lo, hi)
            lb, la, off = leg.bids, leg.asks, lo - leg.start
            if sign > 0:
                for j in range(n):
                    bids[j] += lb[off + j]
                    asks[j] += la[off + j]
            else:
                for j in range(n):
                    bids[j] -= la[off + j]
                    asks[j] -= lb[off + j]
        return bids, asks

    def at(self, i: int) -> tuple[int, int]:
        """Combo (bid, ask) at tick ``i`` (must be covered)."""
        return self.bids[i - self.start], self.asks[i - self.start]

    def leg_quotes(self, path: DayPath, i: int) -> list[tuple[int, int, int]]:
        """``(sign, bid, ask)`` of each leg at tick ``i`` of ``path``."""
        out = []
        for leg, sign in self.legs:
            leg.ensure(path, i, i + 1)  # legs are shared: another combo may have moved them
            out.append((sign, leg.bids[i - leg.start], leg.asks[i - leg.start]))
        return out


@dataclass(eq=False)
class SimOrder:
    """The broker's state of one order (prices in effective-BUY cents)."""

    order_id: int
    perm_id: int
    request: OrderRequest
    sign: int
    legs: tuple[tuple[OptionContract, int], ...]
    limit_c: int | None
    stop_c: int | None
    status: OrderStatus = OrderStatus.PENDING
    filled: int = 0
    avg_fill_price: Decimal | None = None
    reason: str = ""
    updated: datetime | None = None
    triggered: bool = False
    combo: ComboSeries | None = None
    commission_paid: Decimal = field(default_factory=Decimal)  # without fees, for the minimum
    filled_c: int = 0  # sum of piece price (effective cents) x piece quantity
    pieces: list[int] | None = None  # sizes of the pieces still to fill (partial-fill fault)
    piece_gap_s: float = 0.0  # least clock seconds between two pieces
    hold: tuple[DayPath, int] | None = None  # no event before this tick of this path
    # scan cache: no event in [.., clear_to) for (scan_path, scan_version); event_at if known
    scan_path: DayPath | None = None
    scan_version: int = -1
    clear_to: int = 0
    event_at: int | None = None

    @property
    def remaining(self) -> int:
        """Combo units still to fill."""
        return self.request.quantity - self.filled

    def next_piece(self) -> int:
        """The size of the next fill: the next planned piece, else all that remains."""
        if self.pieces:
            return min(self.pieces.pop(0), self.remaining)
        return self.remaining

    def average_price(self) -> Decimal | None:
        """Average fill price (the order's own sign) over the pieces filled so far."""
        if not self.filled:
            return None
        avg = (Decimal(self.sign * self.filled_c) / self.filled).scaleb(-2)
        exponent = avg.as_tuple().exponent
        return avg.quantize(_AVG_PLACES) if isinstance(exponent, int) and exponent < -4 else avg

    @property
    def oca_group(self) -> str:
        """The order's one-cancels-all group ("" for none)."""
        return self.request.oca_group

    def report(self) -> OrderReport:
        """The broker's report of this order now."""
        return OrderReport(
            order_id=self.order_id,
            perm_id=self.perm_id,
            order_ref=self.request.order_ref,
            status=self.status,
            filled=self.filled,
            remaining=self.request.quantity - self.filled,
            avg_fill_price=self.avg_fill_price,
            request=self.request,
            reason=self.reason,
            ts=self.updated,
        )


def split(quantity: int, pieces: int) -> list[int]:
    """``quantity`` in ``pieces`` sizes as even as possible, larger first (all >= 1)."""
    pieces = max(1, min(pieces, quantity))
    share, extra = divmod(quantity, pieces)
    return [share + (1 if i < extra else 0) for i in range(pieces)]


def effective_legs(request: OrderRequest) -> tuple[tuple[OptionContract, int], ...]:
    """Legs as ``(contract, +1 bought / -1 sold)`` once the order is seen as a BUY."""
    flip = 1 if request.action is OrderAction.BUY else -1
    return tuple(
        (leg.contract, flip * (1 if leg.action is OrderAction.BUY else -1)) for leg in request.legs
    )


def to_cents(price: Decimal) -> int:
    """A combo price in cents (the caller has checked it is whole cents)."""
    return int(price * 100)


def from_cents(cents: int) -> Decimal:
    """Cents as a Decimal price with two places."""
    return Decimal(cents).scaleb(-2)


def immediate_fill(limit_c: int, bid: int, ask: int) -> int | None:
    """Fill price of a FOK/IOC limit, or None when it is not marketable."""
    if 40 * limit_c < 13 * bid + 27 * ask:
        return None
    return min(limit_c, ask)


def resting_fill(limit_c: int, bid: int, ask: int) -> int | None:
    """Fill price of a resting limit on this tick, or None."""
    weighted = 13 * bid + 27 * ask
    if 40 * limit_c < weighted:
        return None
    reference_up = -(-weighted // (40 * COMBO_TICK_CENTS)) * COMBO_TICK_CENTS
    return min(limit_c, reference_up)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one tick does to a working order."""

    triggers: bool
    fill_c: int | None
    natural: bool


def evaluate(order: SimOrder, bid: int, ask: int) -> Outcome:
    """Apply the order's rules to one tick's combo quote."""
    triggers = False
    if order.stop_c is not None and not order.triggered:
        if bid + ask < 2 * order.stop_c:
            return Outcome(False, None, False)
        triggers = True
    if order.limit_c is None:
        return Outcome(triggers, ask, True)
    return Outcome(triggers, resting_fill(order.limit_c, bid, ask), False)


def first_event(order: SimOrder, combo: ComboSeries, lo: int, hi: int) -> int | None:
    """First tick in ``[lo, hi)`` where a resting order triggers or fills (covered ticks)."""
    bids, asks, off = combo.bids, combo.asks, combo.start
    if order.stop_c is not None and not order.triggered:
        two_stop = 2 * order.stop_c
        for i in range(lo, hi):
            if bids[i - off] + asks[i - off] >= two_stop:
                return i
        return None
    if order.limit_c is None:  # a triggered stop-market fills on its trigger tick
        return lo
    lim40 = 40 * order.limit_c
    for i in range(lo, hi):
        if 13 * bids[i - off] + 27 * asks[i - off] <= lim40:
            return i
    return None


def natural_leg_prices(quotes: Sequence[tuple[int, int, int]]) -> list[int]:
    """Per-leg prices of a fill at the natural price: bought legs at the ask, sold at the bid."""
    return [ask if sign > 0 else bid for sign, bid, ask in quotes]


def limit_leg_prices(quotes: Sequence[tuple[int, int, int]], total: int) -> list[int]:
    """Per-leg prices (cents, >= 0) whose signed sum is exactly ``total``.

    Starts from each leg's mid (rounded down to a cent) and spreads the difference evenly:
    raising bought legs when the total must rise, raising sold legs when it must fall. Only
    when no leg can move that way are legs lowered instead, never below zero.
    """
    prices = [(bid + ask) // 2 for _, bid, ask in quotes]
    diff = total - sum(sign * p for (sign, _, _), p in zip(quotes, prices, strict=True))
    if diff == 0:
        return prices
    want = 1 if diff > 0 else -1
    raise_idx = [i for i, (sign, _, _) in enumerate(quotes) if sign == want]
    if raise_idx:
        share, extra = divmod(abs(diff), len(raise_idx))
        for n, i in enumerate(raise_idx):
            prices[i] += share + (1 if n < extra else 0)
        return prices
    left = abs(diff)
    for i in range(len(prices)):
        cut = min(prices[i], left)
        prices[i] -= cut
        left -= cut
    return prices


def rejection(request: OrderRequest) -> tuple[int, str] | None:
    """Static checks of an order request: ``(code, reason)`` or None when acceptable."""
    if not request.legs:
        return (321, "a BAG order needs at least one leg")
    if any(leg.ratio != 1 for leg in request.legs):
        return (10058, "the simulator supports leg ratio 1 only")
    if len({leg.contract for leg in request.legs}) != len(request.legs):
        return (321, "a contract appears twice in the combo")
    if request.quantity < 1:
        return (321, f"quantity must be at least 1, got {request.quantity}")
    return _price_rejection(request)


def _price_rejection(request: OrderRequest) -> tuple[int, str] | None:
    kind = request.order_type
    needs_limit = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = kind in (OrderType.STOP, OrderType.STOP_LIMIT)
    if needs_limit != (request.limit_price is not None):
        return (321, f"{kind.value} order {'needs' if needs_limit else 'takes no'} limit price")
    if needs_stop != (request.stop_price is not None):
        return (321, f"{kind.value} order {'needs' if needs_stop else 'takes no'} stop price")
    if kind is not OrderType.LIMIT and request.tif in IMMEDIATE:
        return (321, f"{kind.value} orders cannot be {request.tif.value}")
    for price in (request.limit_price, request.stop_price):
        if price is not None and (price * 100) % COMBO_TICK_CENTS != 0:
            return (110, f"price {price} does not conform to the 0.05 combo increment")
    return None


def modify_rejection(
    order_id: int, order: SimOrder | None, request: OrderRequest
) -> tuple[int, str] | None:
    """Why a modification of ``order`` to ``request`` is refused: ``(code, reason)``, or None.

    IB answers 104 to a modification of an order that is no longer working (filled or
    cancelled), and keeps the order's identity: its ref, legs, side, type, time in force and
    OCA group cannot change (only prices and quantity, and never below what has filled)."""
    if order is None:
        return (10147, f"order {order_id} to modify was not found")
    if order.status is OrderStatus.FILLED:
        return (104, f"Can't modify a filled order (order {order_id})")
    if order.status.is_done:
        return (104, f"Can't modify a {order.status.value} order (order {order_id})")
    before = order.request
    for name in ("order_ref", "legs", "action", "order_type", "tif", "oca_group"):
        if getattr(before, name) != getattr(request, name):
            return (321, f"a modification cannot change the order's {name}")
    if request.quantity < max(order.filled + 1, 1):
        return (321, f"quantity {request.quantity} is not above the {order.filled} filled")
    return None
