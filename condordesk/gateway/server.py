"""The loopback TWS-protocol gateway: an asyncio server on 127.0.0.1 that lets the real
ib_async client trade the simulated SPX market (SimBroker) with no IB account."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

from loguru import logger

from condordesk.broker.base import BrokerEvent, CommissionReceived, ExecutionReceived
from condordesk.broker.sim import SimBroker, SimMarket
from condordesk.gateway import accounts, history, marketdata
from condordesk.gateway.faults import GatewayFaults
from condordesk.gateway.orders import OrderDesk
from condordesk.gateway.ports import Handler
from condordesk.gateway.session import Session
from condordesk.market.clock import Clock

LOOPBACK = ("127.0.0.1", "::1", "localhost")
MAX_MESSAGES_PER_S = 50


class Gateway:
    """A TWS API server (version 178) backed by a SimBroker.

    Args:
        broker: the simulated broker (connected by :meth:`start`, disconnected by :meth:`stop`).
        clock: the injected clock (every wait goes through it).
        account: the account id reported in managedAccounts and everywhere else.
        host: loopback only.
        port: 0 picks a free port (see the value :meth:`start` returns).
        quote_interval_s: clock seconds between streaming market-data updates.
        max_market_data_lines: simultaneous streaming lines of the account, every client
            together (error 101 beyond).
        bag_executions: also send the BAG-level execution IB sends after a combo's leg
            executions (it then appears in ib_async's ``trade.fills`` beside the legs).
        market: the broker's simulated market, for intraday bars and the prior close
            (without it only daily bars are served).
        funds: the account's cash before any trade (account values and the margin check).
    """

    def __init__(
        self,
        broker: SimBroker,
        clock: Clock,
        *,
        account: str = "DU1234567",
        host: str = "127.0.0.1",
        port: int = 0,
        quote_interval_s: float = 1.0,
        max_market_data_lines: int = 100,
        bag_executions: bool = False,
        market: SimMarket | None = None,
        funds: Decimal = Decimal(1_000_000),
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"the gateway listens on loopback only, not {host!r}")
        self.broker = broker
        self.clock = clock
        self.account = account
        self.quote_interval_s = quote_interval_s
        self.max_lines = max_market_data_lines
        self.bag_executions = bag_executions
        self.market = market
        self.funds = funds
        self.faults = GatewayFaults(self)
        self._host, self._port = host, port
        self._server: asyncio.Server | None = None
        self._pump: asyncio.Task[None] | None = None
        self._sessions: dict[int, Session] = {}
        self._pending: set[Session] = set()
        self._next_id = 1
        self._recent: deque[datetime] = deque()  # arrival times of the last second's messages
        self.orders = OrderDesk(self)
        self.handlers: dict[int, Handler] = self._handlers()

    def _handlers(self) -> dict[int, Handler]:
        desk = self.orders
        return {
            1: marketdata.market_data,
            2: marketdata.cancel_market_data,
            3: desk.place,
            4: desk.cancel,
            5: desk.open_orders,
            6: accounts.account_updates,
            7: desk.executions,
            8: accounts.req_ids,
            9: marketdata.contract_details,
            15: accounts.ignore,
            16: desk.all_open_orders,
            20: history.historical_data,
            25: accounts.ignore,
            49: accounts.current_time,
            58: desk.global_cancel,
            59: marketdata.market_data_type,
            61: accounts.positions,
            64: accounts.cancel_positions,
            76: accounts.account_updates_multi,
            77: accounts.ignore,
            78: marketdata.sec_def_opt_params,
            99: accounts.completed_orders,
        }

    # -- life cycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    async def start(self) -> int:
        """Connect the broker, start listening; returns the bound port."""
        events = self.broker.events()
        await self.broker.connect()
        for report in await self.broker.open_orders():  # client order ids start above these
            self.note_order_id(report.order_id)
        for execution, _ in await self.broker.executions():
            self.note_order_id(execution.order_id)
        self._pump = asyncio.ensure_future(self._pump_events(events))
        self._server = await asyncio.start_server(self._on_client, self._host, self._port)
        self._port = int(self._server.sockets[0].getsockname()[1])
        logger.info("gateway listening on {}:{}", self._host, self._port)
        return self._port

    async def stop(self) -> None:
        """Close every client, stop listening and disconnect the broker."""
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions.values()) + list(self._pending):
            await session.close()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        await self.broker.disconnect()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, reader, writer)
        self._pending.add(session)
        try:
            await session.run()
        finally:
            self._pending.discard(session)

    async def _pump_events(self, events: AsyncIterator[BrokerEvent]) -> None:
        """Forward every simulator event to the clients, in order."""
        async for event in events:
            try:
                await self.orders.on_event(event)
                if isinstance(event, ExecutionReceived | CommissionReceived):
                    await accounts.push_values(self.sessions())
            except Exception:  # a bad event must not stop the pump
                logger.exception("gateway: cannot forward {}", event)

    # -- sessions -----------------------------------------------------------------------------

    def claim_client_id(self, session: Session, client_id: int) -> bool:
        current = self._sessions.get(client_id)
        if current is not None and not current.closed.is_set():
            return False
        self._sessions[client_id] = session
        return True

    async def session_ready(self, session: Session) -> None:
        await session.drain()

    def session_closed(self, session: Session) -> None:
        if session.client_id is not None and self._sessions.get(session.client_id) is session:
            del self._sessions[session.client_id]

    def sessions(self) -> list[Session]:
        return [s for s in self._sessions.values() if s.ready]

    def session_for(self, client_id: int) -> Session | None:
        session = self._sessions.get(client_id)
        return session if session is not None and session.ready else None

    def over_pace(self) -> bool:
        """Count one incoming message; True when the account has sent more than
        :data:`MAX_MESSAGES_PER_S` in the last (clock) second, as TWS paces it."""
        now = self.clock.now()
        while self._recent and (now - self._recent[0]).total_seconds() >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= MAX_MESSAGES_PER_S:
            return True
        self._recent.append(now)
        return False

    def market_data_lines(self) -> int:
        """Streaming lines open across every client of the account."""
        return sum(len(s.md_lines) for s in self.sessions())

    # -- ids -----------------------------------------------------------------------------------

    def next_valid_id(self, client_id: int) -> int:
        return self._next_id

    def note_order_id(self, order_id: int) -> None:
        self._next_id = max(self._next_id, order_id + 1)
