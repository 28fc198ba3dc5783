"""The engine's in-memory view of live condors, and P&L derived from journaled fills."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from condordesk.domain.combo import closing_legs
from condordesk.domain.condor import CondorState, ExitReason, IronCondor
from condordesk.domain.fees import estimate_commission
from condordesk.domain.options import OptionContract, OptionQuote
from condordesk.domain.orders import ComboLeg, OrderAction, OrderRole, parse_order_ref
from condordesk.domain.prices import MULTIPLIER
from condordesk.engine.api import CondorView, TradeRecord
from condordesk.risk.rules import StopPlan
from condordesk.store.journal import CondorRecord, FillRecord, OrderRecord

_D0 = Decimal(0)
_BUY = OrderAction.BUY
SETTLEMENT_PENDING = "settlement pending"
"""What consoles see as the stop state of an expired condor whose settlement price is unknown."""


@dataclass
class LiveCondor:
    """A condor the engine is responsible for (working, open or closing)."""

    id: str
    day: date
    condor: IronCondor
    state: CondorState
    created: datetime
    target_credit: Decimal
    first_trade: bool
    credit: Decimal | None = None
    opened: datetime | None = None
    stop: StopPlan | None = None
    stop_generation: int = 0
    stop_state: str = "none"  # none | placed | verified | cancelled | triggered
    stop_order_ids: list[int] = field(default_factory=list)
    close_generation: int = 0
    close_reason: ExitReason | None = None
    mark: Decimal | None = None
    debit: Decimal | None = None
    unrealized: Decimal | None = None
    profit_target: Decimal | None = None
    exiting: bool = False  # an exit flow (a close chase or a fired stop) is running
    fired: list[tuple[OrderRole, str]] = field(default_factory=list)  # exit orders to settle
    exit_refs: set[str] = field(default_factory=set)  # exit orders seen filling
    closing: tuple[ComboLeg, ...] = field(init=False, repr=False)
    contracts: tuple[OptionContract, ...] = field(init=False, repr=False)
    """The condor's four contracts (asked for quotes every cycle)."""

    def __post_init__(self) -> None:
        self.closing = closing_legs(self.condor)
        self.contracts = self.condor.contracts

    def closing_prices(
        self, quotes: Mapping[OptionContract, OptionQuote]
    ) -> tuple[Decimal, Decimal] | None:
        """(mid, natural) cost of buying the condor back now; None without two-sided quotes for
        every leg. The natural price pays the asks of bought legs, gets the bids of sold ones."""
        mid = natural = _D0
        for leg in self.closing:
            q = quotes.get(leg.contract)
            if q is None:
                return None
            bid, ask = q.bid, q.ask
            if bid is None or ask is None:
                return None
            if leg.action is _BUY:
                mid, natural = mid + (bid + ask) / 2, natural + ask
            else:
                mid, natural = mid - (bid + ask) / 2, natural - bid
        return mid, natural

    @property
    def settlement_pending(self) -> bool:
        """Expired, but the settlement price is not known yet: the condor waits (closing, exit
        reason ``expired``) until it is, and is then booked on its expiry day."""
        return self.state is CondorState.CLOSING and self.close_reason is ExitReason.EXPIRED

    @property
    def oca_group(self) -> str:
        """The OCA group of the current stop pair (closing orders join it)."""
        return f"cd:{self.id}:oca.{self.stop_generation}"

    @classmethod
    def from_record(cls, rec: CondorRecord, orders: Iterable[OrderRecord] = ()) -> LiveCondor:
        """Rebuild from the journal (after a restart).

        Args:
            rec: The condor's journal row.
            orders: Its journaled orders: the stop and close generations go on from the
                highest ref of each role, so no ref is ever sent twice.
        """
        live = cls(
            id=rec.id,
            day=rec.day,
            condor=rec.condor,
            state=rec.state,
            created=rec.created_ts,
            target_credit=rec.target_credit,
            first_trade=rec.first_trade,
            credit=rec.credit,
            opened=rec.opened_ts,
            profit_target=rec.profit_target,
        )
        if (
            rec.stop_trigger is not None
            and rec.stop_limit is not None
            and rec.stop_backup is not None
        ):
            live.stop = StopPlan(rec.stop_trigger, rec.stop_limit, rec.stop_backup)
        live.stop_generation, live.close_generation = generations(o.order_ref for o in orders)
        return live

    def view(self) -> CondorView:
        """What consoles show."""
        stop = self.stop
        return _view(
            self.id,
            self.state,
            self.condor,
            credit=self.credit,
            mark=self.mark,
            debit=self.debit,
            unrealized_pnl=self.unrealized,
            realized_pnl=None,
            profit_target=self.profit_target,
            stop_trigger=stop.trigger if stop else None,
            stop_limit=stop.limit if stop else None,
            stop_backup=stop.backup_trigger if stop else None,
            stop_state=SETTLEMENT_PENDING if self.settlement_pending else self.stop_state,
            first_trade=self.first_trade,
            opened_ts=self.opened,
            exit_reason=ExitReason.EXPIRED.value if self.settlement_pending else None,
        )


_STOP_ROLES = (OrderRole.STOP_LIMIT, OrderRole.STOP_MARKET)


def generations(refs: Iterable[str]) -> tuple[int, int]:
    """(stop, close): the highest generation of a condor's stop and close refs (0 if none)."""
    stop = close = 0
    for ref in refs:
        parsed = parse_order_ref(ref)
        if parsed is None:
            continue
        _, role, gen = parsed
        if role in _STOP_ROLES:
            stop = max(stop, gen)
        elif role is OrderRole.CLOSE:
            close = max(close, gen)
    return stop, close


def record_view(rec: CondorRecord) -> CondorView:
    """A finished condor as consoles show it."""
    return _view(
        rec.id,
        rec.state,
        rec.condor,
        credit=rec.credit,
        mark=None,
        debit=None,
        unrealized_pnl=None,
        realized_pnl=rec.realized_pnl,
        profit_target=rec.profit_target,
        stop_trigger=rec.stop_trigger,
        stop_limit=rec.stop_limit,
        stop_backup=rec.stop_backup,
        stop_state="n/a",
        first_trade=rec.first_trade,
        opened_ts=rec.opened_ts,
        exit_reason=rec.exit_reason.value if rec.exit_reason else None,
    )


def _view(condor_id: str, state: CondorState, c: IronCondor, **rest: Any) -> CondorView:
    return CondorView(
        id=condor_id,
        state=state.value,
        label=c.label(),
        long_put=c.long_put,
        short_put=c.short_put,
        short_call=c.short_call,
        long_call=c.long_call,
        quantity=c.quantity,
        **rest,
    )


def net_position(fills: Iterable[FillRecord]) -> dict[OptionContract, int]:
    """Signed quantity per contract that a set of leg fills adds up to (zeros left out)."""
    net: dict[OptionContract, int] = {}
    for f in fills:
        sign = 1 if f.execution.side is OrderAction.BUY else -1
        net[f.execution.contract] = net.get(f.execution.contract, 0) + sign * f.execution.quantity
    return {c: q for c, q in net.items() if q}


def held_units(net: Mapping[OptionContract, int], condor: IronCondor) -> int:
    """Whole condor units a position holds: the smallest count over the four legs, each leg
    counted in its own direction (a leg held the other way round, or not at all, counts 0).

    Exits may fill in pieces, so a condor of ``quantity`` units can be left holding fewer:
    its stops and closing orders must cover exactly this many, never more."""
    return min(max(condor.position_sign(c) * net.get(c, 0), 0) for c in condor.contracts)


def signed_combo(fills: Iterable[FillRecord], quantity: int) -> Decimal:
    """Combo price per unit of a set of leg fills: BUY adds, SELL subtracts."""
    total = _D0
    for f in fills:
        sign = 1 if f.execution.side is OrderAction.BUY else -1
        total += sign * f.execution.price * f.execution.quantity
    return total / quantity


def role_of(fill: FillRecord) -> OrderRole | None:
    """The order role a fill belongs to, from its orderRef."""
    parsed = parse_order_ref(fill.order_ref)
    return None if parsed is None else parsed[1]


def entry_fills_complete(fills: Iterable[FillRecord], condor: IronCondor) -> tuple[bool, bool]:
    """(any entry fill, every leg fully filled) for the entry order of ``condor``."""
    held: dict[object, int] = {}
    for f in fills:
        if role_of(f) is OrderRole.ENTRY:
            held[f.execution.contract] = held.get(f.execution.contract, 0) + f.execution.quantity
    complete = all(held.get(c, 0) == condor.quantity for c in condor.contracts)
    return bool(held), complete


def realized(
    fills: Iterable[FillRecord], condor: IronCondor, settlement_value: Decimal | None
) -> tuple[Decimal, Decimal, Decimal]:
    """(exit debit per unit, commissions, realized P&L in dollars) from a condor's fills.

    ``settlement_value`` is what one unit was worth at cash settlement (None if the condor was
    closed by orders before expiry); it applies to the units the fills still hold, so a condor
    partly closed by orders and partly settled gets both."""
    fills = list(fills)
    qty = condor.quantity
    entry = [f for f in fills if role_of(f) is OrderRole.ENTRY]
    exits = [f for f in fills if role_of(f) is not OrderRole.ENTRY]
    received = -signed_combo(entry, 1) if entry else _D0  # the credit of every unit
    paid = signed_combo(exits, 1) if exits else _D0  # every exit piece's debit
    if settlement_value is not None:
        paid += settlement_value * held_units(net_position(fills), condor)
    commissions, _estimated = commissions_of(fills)
    pnl = (received - paid) * MULTIPLIER - commissions
    return paid / qty, commissions, pnl


def commissions_of(fills: Iterable[FillRecord]) -> tuple[Decimal, bool]:
    """(commissions in dollars, whether any is estimated) of a condor's fills: the broker's
    report where it came, the schedule's estimate where it has not (yet), never zero."""
    total, estimated = _D0, False
    for f in fills:
        if f.commission is None:
            total += estimate_commission(f.execution.price, f.execution.quantity)
            estimated = True
        else:
            total += f.commission
    return total, estimated


def record_trade(rec: CondorRecord, commissions_estimated: bool = False) -> TradeRecord:
    """A finished condor as a console's history shows it (``commissions_estimated``: some of
    its commission reports have not come yet, the schedule's estimate stands in)."""
    return TradeRecord(
        id=rec.id,
        day=rec.day,
        label=rec.condor.label(),
        quantity=rec.condor.quantity,
        state=rec.state.value,
        credit=rec.credit,
        exit_debit=rec.exit_debit,
        commissions=rec.commissions,
        realized_pnl=rec.realized_pnl,
        exit_reason=rec.exit_reason.value if rec.exit_reason else None,
        opened_ts=rec.opened_ts,
        closed_ts=rec.closed_ts,
        commissions_estimated=commissions_estimated,
    )
