"""Stale closes: a closing order of a condor that still works at the broker although no exit
flow of the engine tracks it any more (its cancel was lost with a dropped link, the broker
never said what became of it, a restart found it).

Such an order takes up the condor's exit budget (:mod:`condordesk.engine.budget`): while it
works, every re-arm of the stops and every new close is refused as one that "could reverse a
position", and the condor would be held without protection. So when the budget refuses a
stop or a close, the condor's stale closes are cancelled first and the broker's answer
(cancelled, or filled: the normal exit flow takes a fill) is awaited before the budget is
asked again.

A close is stale when the condor is open (a close flow holds it in ``closing`` until its
close ended), or when the order asked for is itself a close (a flow settles each close before
it sends the next, so any other close still working is no longer followed).
"""

from __future__ import annotations

from collections.abc import Sequence

from condordesk.domain.condor import CondorState
from condordesk.domain.orders import (
    REF_PREFIX,
    OrderReport,
    OrderRequest,
    OrderRole,
    parse_order_ref,
)
from condordesk.engine.book import LiveCondor
from condordesk.engine.ports import DeskForOrders


def stale_closes(
    live: LiveCondor, request: OrderRequest, working: Sequence[OrderReport]
) -> list[OrderReport]:
    """The closes of ``live`` among the broker's ``working`` orders that no exit flow follows
    while ``request`` is about to go (empty when there are none, or the condor is closing and
    ``request`` is a stop: the flow's own close may be working then)."""
    asked = parse_order_ref(request.order_ref)
    if live.state is not CondorState.OPEN and (asked is None or asked[1] is not OrderRole.CLOSE):
        return []
    owner = f"{REF_PREFIX}:{live.id}:"
    return [
        o
        for o in working
        if o.order_ref.startswith(owner)
        and o.order_ref != request.order_ref
        and not o.status.is_done
        and (parsed := parse_order_ref(o.order_ref)) is not None
        and parsed[1] is OrderRole.CLOSE
    ]


async def resolve_stale_closes(
    desk: DeskForOrders, live: LiveCondor, request: OrderRequest, working: Sequence[OrderReport]
) -> bool:
    """Cancel the stale closes of ``live`` (see the module) and wait, at most the fill timeout
    each, until the broker says they ended. True if there were any (ask the budget again)."""
    stale = stale_closes(live, request, working)
    if not stale:
        return False
    refs = ", ".join(o.order_ref for o in stale)
    desk.alert(
        "warning",
        "stale_close",
        f"condor {live.id}: {refs} still works at the broker but is no longer followed; "
        f"cancelling it before {request.order_ref}",
    )
    for order in stale:
        await desk.cancel(order.order_id)
    for order in stale:
        await desk.tracker.wait_done(order.order_ref, desk.fill_timeout_s)
    return True
