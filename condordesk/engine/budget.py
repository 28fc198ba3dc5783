"""The exit budget: a closing or stop order may only go out if, for every leg, what the working
closing orders could still execute plus what it adds stays within what the account holds.

Pure arithmetic over the broker's own answers (positions and open orders, asked afresh before
each send): the engine's journal may be behind the broker, the broker cannot be.

* A leg of an order *closes* when it trades against the position held in that contract (buys
  a short, sells a long); a leg that would open or add is no exit and is not counted.
* Orders of one OCA group count once per contract: the most any one of them could still
  execute (the first fill cancels the rest), not their sum. Orders without a group add up.
* The new order joins its own OCA group in that count; a modification replaces the order it
  modifies. It is refused if a leg has no position to close, or if the count exceeds the
  quantity held: sending it could reverse a position.
* Per condor: two condors may share a strike, even in opposite directions (one's short put is
  the other's long put, and the account shows them netted). What the broker holds *for* a
  condor is then its position less what the other live condors hold (``others``), and only
  the condor's own working orders (``owner``: its order-ref prefix) count against it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from condordesk.domain.options import OptionContract
from condordesk.domain.orders import OrderAction, OrderReport, OrderRequest, Position


@dataclass(frozen=True, slots=True)
class Overrun:
    """One contract whose exits would exceed what is held.

    Attributes:
        contract: the option.
        held: contracts held that this order would close (0: none on that side).
        working: what working closing orders (OCA groups once) could still execute.
        adding: what the new order (within its OCA group) adds to that.
    """

    contract: OptionContract
    held: int
    working: int
    adding: int

    def __str__(self) -> str:
        return (
            f"{self.contract.symbol}: {self.held} held, working exits could take "
            f"{self.working}, this order {self.adding} more"
        )


def leg_flows(request: OrderRequest, quantity: int) -> dict[OptionContract, int]:
    """Signed contracts each leg trades for ``quantity`` combo units (+ bought, - sold)."""
    side = 1 if request.action is OrderAction.BUY else -1
    flows: dict[OptionContract, int] = defaultdict(int)
    for leg in request.legs:
        sign = 1 if leg.action is OrderAction.BUY else -1
        flows[leg.contract] += side * sign * leg.ratio * quantity
    return dict(flows)


def _closing(flow: int, held: int) -> int:
    """How much of ``flow`` closes a position of ``held`` (0 when it opens or adds)."""
    return abs(flow) if flow * held < 0 else 0


def _working_exits(
    orders: Sequence[OrderReport],
    contracts: set[OptionContract],
    held: Mapping[OptionContract, int],
) -> tuple[dict[OptionContract, dict[str, int]], dict[OptionContract, int]]:
    """Per contract, what working orders could still close: by OCA group (the most one
    member could execute) and, for orders in no group, summed."""
    grouped: dict[OptionContract, dict[str, int]] = defaultdict(dict)
    lone: dict[OptionContract, int] = defaultdict(int)
    for rep in orders:
        if rep.request is None:
            continue
        for contract, flow in leg_flows(rep.request, max(rep.remaining, 0)).items():
            if contract not in contracts:
                continue
            closing = _closing(flow, held.get(contract, 0))
            group = rep.request.oca_group
            if group:
                grouped[contract][group] = max(grouped[contract].get(group, 0), closing)
            else:
                lone[contract] += closing
    return grouped, lone


def overruns(
    positions: Iterable[Position],
    open_orders: Sequence[OrderReport],
    request: OrderRequest,
    *,
    replacing: int | None = None,
    owner: str = "",
    others: Mapping[OptionContract, int] | None = None,
) -> list[Overrun]:
    """Where sending ``request`` would let exits exceed the position (empty: it may go).

    Args:
        positions: the broker's positions now.
        open_orders: the broker's working orders now (their ``remaining`` counts).
        request: the closing or stop order about to be sent, at its full quantity.
        replacing: the order id ``request`` modifies (left out of the working orders).
        owner: if given, only working orders whose ref starts with it count (the condor's).
        others: signed quantities other condors hold, taken off the broker's positions.
    """
    held: dict[OptionContract, int] = defaultdict(int)
    for pos in positions:
        held[pos.contract] += pos.quantity
    for contract, quantity in (others or {}).items():
        held[contract] -= quantity
    new_flows = leg_flows(request, request.quantity)
    counted = [
        rep
        for rep in open_orders
        if rep.order_id != replacing
        and rep.request is not None
        and not rep.status.is_done
        and rep.order_ref.startswith(owner)
    ]
    grouped, lone = _working_exits(counted, set(new_flows), held)
    out: list[Overrun] = []
    for contract, flow in new_flows.items():
        have = held[contract]
        adding = abs(flow)
        groups = grouped[contract]
        own = groups.get(request.oca_group, 0) if request.oca_group else 0
        rest = lone[contract] + sum(v for g, v in groups.items() if g != request.oca_group)
        working = rest + own
        total = rest + max(own, adding)
        closes = _closing(flow, have) == adding
        if not closes or total > abs(have):
            out.append(Overrun(contract, abs(have) if closes else 0, working, total - working))
    return out
