"""IBBroker: the Broker port over ib_async (TWS / IB Gateway), asyncio-native.

Only ib_async's ``*Async`` requests are awaited (plus its non-blocking senders such as
``placeOrder``, ``cancelOrder``, ``reqMktData``): the engine runs inside a running loop.
Request/response calls are bounded by ``request_timeout_s`` clock seconds (mapped to
:class:`BrokerTimeout`); a socket lost mid-call becomes :class:`NotConnected`.

Connection handling lives in :mod:`condordesk.broker.ib.session`; market-data lines in
:mod:`condordesk.broker.ib.quotes`; event translation in :mod:`condordesk.broker.ib.events`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal

from ib_async import IB, Contract, Fill, Order, Trade
from ib_async import OrderStatus as IBOrderStatus

from condordesk.broker.base import Broker
from condordesk.broker.ib import translate
from condordesk.broker.ib.quotes import POLL_S
from condordesk.broker.ib.session import IBSession
from condordesk.broker.stream import EventStream
from condordesk.domain.options import OptionContract, OptionQuote
from condordesk.domain.orders import (
    CommissionReport,
    Execution,
    OrderReport,
    OrderRequest,
    OrderStatus,
    Position,
)
from condordesk.errors import BrokerTimeout, NotConnected, OrderRejected
from condordesk.market.clock import ET, Clock

_UNACKED = frozenset(
    {IBOrderStatus.PendingSubmit, IBOrderStatus.ApiPending, IBOrderStatus.ValidationError, ""}
)
"""IB statuses of an order not acknowledged yet (a validation warning may turn into a reject)."""
SETTLEMENT_TIME_ET = time(16, 0)
"""PM-settled SPXW options settle on the 16:00 ET index value of their expiry day."""


class IBBroker(IBSession, Broker):
    """The Interactive Brokers adapter.

    Args:
        clock: the injected clock (every wait goes through it).
        host: TWS / IB Gateway host.
        port: its API port.
        client_id: the API client id (error 326 if another connection uses it).
        account: the account id the profile expects; ``connect()`` fails unless the login
            manages it, and orders are sent for it.
        connect_timeout_s: per-step timeout of the API handshake and initial sync.
        greeks_timeout_s: the most ``option_quotes`` ever waits for quotes and greeks,
            whatever timeout the caller passes (a profile-level cap).
        ib: an ``ib_async.IB`` to use (tests); a fresh one by default.
        request_timeout_s: bound on each request/response call (BrokerTimeout after).
        connect_attempts: attempts of ``connect()`` before NotConnected (backoff 1, 5, 15 s).
        max_lines: market-data lines held at once (IB's default limit is 100).
        ack_wait_s: how long ``place_order`` waits for IB to acknowledge or reject.
        auto_reconnect: reconnect in the background (same backoff) after the socket drops.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        host: str,
        port: int,
        client_id: int,
        account: str,
        connect_timeout_s: float = 10.0,
        greeks_timeout_s: float = 5.0,
        ib: IB | None = None,
        request_timeout_s: float = 10.0,
        connect_attempts: int = 3,
        max_lines: int = 60,
        ack_wait_s: float = 2.0,
        auto_reconnect: bool = True,
    ) -> None:
        super().__init__(
            clock,
            host=host,
            port=port,
            client_id=client_id,
            account=account,
            connect_timeout_s=connect_timeout_s,
            ib=ib if ib is not None else IB(),
            request_timeout_s=request_timeout_s,
            connect_attempts=connect_attempts,
            max_lines=max_lines,
            auto_reconnect=auto_reconnect,
        )
        self._greeks_timeout = greeks_timeout_s
        self._ack_wait = ack_wait_s
        # ib_async keeps one pending answer per kind of these requests ("positions",
        # "openOrders"): a second request while one is out would orphan the first caller
        self._one_at_a_time = {"positions": asyncio.Lock(), "open orders": asyncio.Lock()}
        self._chain: tuple[date, frozenset[str], tuple[Decimal, ...]] | None = None

    def events(self) -> EventStream:
        """A new stream of broker events from now on; it ends at :meth:`close`."""
        return self._hub.subscribe()

    # -- market data ------------------------------------------------------------------------

    async def account(self) -> str:
        self._require_link()
        return self._account

    async def underlying_price(self) -> Decimal:
        """The SPX index value (last, else close). Raises BrokerTimeout if none arrives."""
        self._require_link()
        level = await self._md.index(self._index_contract(), self._request_timeout)
        if level is None:
            raise BrokerTimeout(f"no SPX index value within {self._request_timeout:g} s")
        return level

    async def option_strikes(self, expiry: date) -> list[Decimal]:
        """SPXW strikes of the chain (secdef, cached per ET day) if ``expiry`` is listed.

        IB's option parameters give the union of strikes over the chain's expirations, not
        per expiry; a strike not listed for ``expiry`` simply does not qualify later (and is
        missing from :meth:`option_quotes`).
        """
        self._require_link()
        expirations, strikes = await self._option_chain()
        if translate.expiry_text(expiry) not in expirations:
            return []
        return list(strikes)

    async def _option_chain(self) -> tuple[frozenset[str], tuple[Decimal, ...]]:
        today = self._clock.now_et().date()
        if self._chain is not None and self._chain[0] == today:
            return self._chain[1], self._chain[2]
        index = self._index_contract()
        await self._pacer.take()
        chains = await self._call(
            self._ib.reqSecDefOptParamsAsync(translate.SYMBOL, "", "IND", index.conId),
            "option chain",
        )
        spxw = [
            c
            for c in chains
            if c.tradingClass == translate.TRADING_CLASS and c.exchange in translate.CHAIN_EXCHANGES
        ]
        spxw.sort(key=lambda c: c.exchange != translate.ROUTE)  # SMART first
        if not spxw:
            return frozenset(), ()
        chosen = spxw[0]
        strikes = tuple(sorted({translate.strike(k) for k in chosen.strikes}))
        expirations = frozenset(str(e) for e in chosen.expirations)
        self._chain = (today, expirations, strikes)
        return expirations, strikes

    async def option_quotes(
        self,
        contracts: Sequence[OptionContract],
        *,
        timeout: float,  # noqa: ASYNC109 - the port's signature
    ) -> dict[OptionContract, OptionQuote]:
        """Quotes with greeks; see the port. Waits at most min(timeout, greeks_timeout_s)."""
        self._require_link()
        budget = max(min(timeout, self._greeks_timeout), 0.0)
        start = self._clock.now()
        unique = list(dict.fromkeys(contracts))
        try:
            await self._qualify(unique)
        except BrokerTimeout:
            return {}
        left = budget - (self._clock.now() - start).total_seconds()
        pairs = [(c, self._qualified[c]) for c in unique if c in self._qualified]
        return await self._md.quotes(pairs, left)

    # -- orders -----------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderReport:
        """Send a BAG order; wait up to ``ack_wait_s`` for IB to acknowledge or reject it.

        Raises OrderRejected when IB refuses the order in that window (the OrderUpdated
        REJECTED event goes out as well); a later rejection arrives as an event only.
        """
        self._require_link()
        legs = [leg.contract for leg in request.legs]
        await self._qualify(legs)
        missing = [c.symbol for c in legs if c not in self._qualified]
        if missing:
            reason = f"no security definition for {', '.join(missing)}"
            raise OrderRejected(request.order_ref, reason, 200)
        bag = translate.bag_contract(
            [(self._qualified[leg.contract].conId, leg) for leg in request.legs]
        )
        await self._pacer.take()
        trade = self._ib.placeOrder(bag, translate.ib_order(request, self._account))
        self._requests[int(trade.order.orderId)] = request
        self._router.on_trade(trade)
        await self._await_ack(trade)
        report = self._router.report(trade)
        if report.status is OrderStatus.REJECTED:
            code, text = translate.last_error(trade)
            raise OrderRejected(request.order_ref, text or "rejected by IB", code or None)
        return report

    async def _await_ack(self, trade: Trade) -> None:
        deadline = self._clock.now().timestamp() + self._ack_wait
        while trade.orderStatus.status in _UNACKED and self.connected:
            left = deadline - self._clock.now().timestamp()
            if left <= 0:
                return
            await self._clock.sleep(min(POLL_S, left))

    async def modify_order(self, order_id: int, request: OrderRequest) -> OrderReport:
        """Modify a working order of this session in place: ``placeOrder`` with its order id
        and the new prices; waits up to ``ack_wait_s`` for IB's answer (see the port).

        Raises OrderRejected with IB's code (104 when the order filled or was cancelled, 110
        for an off-tick price, 10147 for an order this session does not own) and
        BrokerTimeout when IB did not answer (the outcome is then unknown: ask the broker).
        """
        self._require_link()
        trade = self._trade(order_id)
        if trade is None or trade.order.clientId != self._client_id:
            reason = f"order {order_id} is not an order of this API client"
            raise OrderRejected(request.order_ref, reason, 10147)
        if trade.isDone():
            reason = f"Can't modify a {trade.orderStatus.status.lower()} order"
            raise OrderRejected(request.order_ref, reason, 104)
        order = translate.ib_order(request, self._account)
        order.orderId, order.clientId = trade.order.orderId, trade.order.clientId
        order.permId = trade.order.permId
        await self._pacer.take()
        if trade.isDone():  # filled while waiting for the pacer (ib_async asserts on it)
            raise OrderRejected(request.order_ref, "Can't modify a filled order", 104)
        self._ib.placeOrder(trade.contract, order)
        mark = len(trade.log)  # the entries after ib_async's "Modify" are IB's answer
        deadline = self._clock.now().timestamp() + self._ack_wait
        while not (answer := translate.modify_answer(trade, mark, order))[0] and self.connected:
            left = deadline - self._clock.now().timestamp()
            if left <= 0:
                break
            await self._clock.sleep(min(POLL_S, left))
        answered, code, text = answer
        if code:
            raise OrderRejected(request.order_ref, text or "modification refused", code)
        if not answered:
            raise BrokerTimeout(f"IB did not answer the modification of order {order_id}")
        self._requests[order_id] = request
        return self._router.report(trade)

    async def cancel_order(self, order_id: int) -> None:
        """Ask IB to cancel; unknown ids still go out (IB answers 10147: a BrokerMessage)."""
        self._require_link()
        trade = self._trade(order_id)
        self._pacer.note()  # a cancel never waits
        self._ib.cancelOrder(trade.order if trade is not None else Order(orderId=order_id))

    def _trade(self, order_id: int) -> Trade | None:
        for trade in self._ib.trades():
            if trade.order.orderId == order_id and trade.order.clientId == self._client_id:
                return trade
        for trade in self._ib.trades():
            if trade.order.orderId == order_id:
                return trade
        return None

    async def open_orders(self) -> list[OrderReport]:
        """Every working BAG order of the account, from every client (reqAllOpenOrders)."""
        self._require_link()
        async with self._one_at_a_time["open orders"]:
            await self._pacer.take()
            trades = await self._call(self._ib.reqAllOpenOrdersAsync(), "open orders")
        # ib_async appends an order update that arrives during the request to the answer as
        # well (the same Trade again): one report per trade
        unique = {id(t): t for t in trades}.values()
        mine = [
            t
            for t in unique
            if t.contract.secType == "BAG"
            and t.order.account in (self._account, "")
            and not t.isDone()
        ]
        con_ids = {leg.conId for t in mine for leg in t.contract.comboLegs or ()}
        await self._resolve_con_ids(con_ids)
        return [self._router.report(t) for t in mine]

    async def order_status(self, order_id: int) -> OrderReport | None:
        """The latest report of an order this session knows (placed or seen open)."""
        self._require_link()
        trade = self._trade(order_id)
        return None if trade is None else self._router.report(trade)

    # -- account ------------------------------------------------------------------------------

    async def positions(self) -> list[Position]:
        """Non-zero SPXW option positions of the account (reqPositions)."""
        self._require_link()
        async with self._one_at_a_time["positions"]:
            await self._pacer.take()
            held = await self._call(self._ib.reqPositionsAsync(), "positions")
        # ib_async appends every position message to the answer, so a live update arriving
        # during the request repeats a contract: the last message is the current quantity
        latest = {h.contract.conId: h for h in held if h.account == self._account}
        out = [p for p in (translate.position(h) for h in latest.values()) if p is not None]
        return sorted(out, key=lambda p: p.contract)

    async def executions(self) -> list[tuple[Execution, CommissionReport | None]]:
        """Today's (ET) leg executions of the account, each with its commission if known."""
        self._require_link()
        await self._pacer.take()
        fills: list[Fill] = await self._call(self._ib.reqExecutionsAsync(), "executions")
        now = self._clock.now()
        today = now.astimezone(ET).date()
        known = {f.execution.execId: f.commissionReport for f in self._ib.fills()}
        out: list[tuple[Execution, CommissionReport | None]] = []
        seen: set[str] = set()
        for fill in fills:
            if fill.execution.acctNumber not in (self._account, ""):
                continue
            execution = translate.execution(fill, now)
            if execution is None or execution.exec_id in seen:
                continue
            if execution.ts.astimezone(ET).date() != today:
                continue
            seen.add(execution.exec_id)
            report = known.get(execution.exec_id, fill.commissionReport)
            out.append((execution, translate.commission(report)))
        return out

    async def server_time(self) -> datetime:
        """The server's clock, from reqCurrentTime (the loopback gateway answers with its
        simulated time)."""
        self._require_link()
        await self._pacer.take()
        stamp: datetime = await self._call(self._ib.reqCurrentTimeAsync(), "current time")
        return stamp.astimezone(UTC)

    async def settlement_price(
        self, expiry: date, cutoff: datetime | None = None
    ) -> Decimal | None:
        """The SPX daily close of ``expiry`` (the PM settlement value), once it is past the
        cut-off (``cutoff``, else 16:00 ET: before it the day's bar is still moving).

        Taken from a daily historical bar of the index; None before the close, when the bar
        is not there (yet), or when IB does not answer in time (no market-data permission).
        """
        self._require_link()
        if self._clock.now() < (cutoff or datetime.combine(expiry, SETTLEMENT_TIME_ET, tzinfo=ET)):
            return None
        await self._pacer.take()
        try:
            bars = await self._call(
                self._ib.reqHistoricalDataAsync(
                    self._index_contract(), "", "10 D", "1 day", "TRADES", True
                ),
                "SPX daily bars",
            )
        except (BrokerTimeout, NotConnected):
            return None
        for bar in bars or ():
            day = bar.date.date() if isinstance(bar.date, datetime) else bar.date
            if day == expiry:
                return translate.price_or_none(bar.close)
        return None

    # -- helpers ------------------------------------------------------------------------------

    def _index_contract(self) -> Contract:
        if self._index is None:
            raise NotConnected("IB session not initialised (connect first)")
        return self._index
