"""Account-level requests: current time, ids, positions, account updates, completed orders."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from condordesk.domain.orders import Position
from condordesk.errors import BrokerError
from condordesk.gateway import funds
from condordesk.gateway.codec import FieldReader
from condordesk.gateway.orderwire import portfolio, position

if TYPE_CHECKING:
    from condordesk.gateway.ports import Client


async def current_time(s: Client, r: FieldReader) -> None:
    s.send([49, 1, int(s.gateway.clock.now().timestamp())])


async def req_ids(s: Client, r: FieldReader) -> None:
    assert s.client_id is not None
    s.send([9, 1, s.gateway.next_valid_id(s.client_id)])


async def positions(s: Client, r: FieldReader) -> None:
    s.positions_subscribed = True
    for pos in await s.gateway.broker.positions():
        s.send(position(s.gateway.account, pos))
    s.send([62, 1])


async def account_updates(s: Client, r: FieldReader) -> None:
    r.skip()  # version
    s.account_subscribed = r.read_bool()
    if not s.account_subscribed:
        return
    acct = s.gateway.account
    await _send_values(s)
    s.send([6, 2, "AccountCode", acct, "", acct])
    for pos, mark in await _marked_positions(s):
        s.send(portfolio(acct, pos, mark))
    s.send([8, 1, f"{s.gateway.clock.now_et():%H:%M}"])
    s.send([54, 1, acct])


async def _send_values(s: Client) -> None:
    for key, value, currency in (await funds.figures(s)).values():
        s.send([6, 2, key, value, currency, s.gateway.account])


async def push_values(sessions: Sequence[Client]) -> None:
    """The account's figures again to every client subscribed to account updates (after a
    fill or a commission, as TWS updates them)."""
    for s in sessions:
        if s.account_subscribed:
            await _send_values(s)


async def _marked_positions(s: Client) -> list[tuple[Position, Decimal | None]]:
    """Positions with their mid prices now (None when not quoted); empty while the link is down."""
    broker = s.gateway.broker
    try:
        held = await broker.positions()
        quotes = await broker.option_quotes([p.contract for p in held], timeout=0.0)
    except BrokerError:
        return []
    return [(p, quotes[p.contract].mid if p.contract in quotes else None) for p in held]


async def account_updates_multi(s: Client, r: FieldReader) -> None:
    r.skip()  # version
    req_id = r.read_int()
    s.current_req = req_id
    acct = s.gateway.account
    for key, value, currency in (await funds.figures(s)).values():
        s.send([73, 1, req_id, acct, "", key, value, currency])
    s.send([74, 1, req_id])


async def completed_orders(s: Client, r: FieldReader) -> None:
    s.send([102])


async def cancel_positions(s: Client, r: FieldReader) -> None:
    s.positions_subscribed = False


async def ignore(s: Client, r: FieldReader) -> None:
    """Requests that need no answer (reqAutoOpenOrders, cancel subscriptions, ...)."""
