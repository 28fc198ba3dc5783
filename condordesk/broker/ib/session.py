"""The IB session under :class:`~condordesk.broker.ib.broker.IBBroker`: connect with retries,
account check, contract qualification cache, reconnect after a dropped socket.

Backoff between attempts is 1 s, 5 s, then 15 s (with up to 20 % jitter), on the injected
clock. Error 326 (client id in use) and an account mismatch are not retried: they need the
operator. While IB reports 1100 (connectivity lost) the session counts as down.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Iterable, Sequence
from typing import TypeVar

from ib_async import IB, Contract, Index, Trade
from loguru import logger

from condordesk.broker.base import ConnectionChanged
from condordesk.broker.ib import translate
from condordesk.broker.ib.errors import CLIENT_ID_IN_USE
from condordesk.broker.ib.events import EventRouter
from condordesk.broker.ib.pacing import Pacer
from condordesk.broker.ib.quotes import LineBudget, MarketData
from condordesk.broker.stream import EventHub
from condordesk.domain.options import OptionContract
from condordesk.domain.orders import OrderRequest
from condordesk.errors import BrokerError, BrokerTimeout, NotConnected
from condordesk.market.clock import Clock

T = TypeVar("T")

BACKOFF_S = (1.0, 5.0, 15.0)
QUALIFY_CHUNK = 10
"""Contracts qualified per request burst (each is one reqContractDetails message)."""
JITTER = 0.2


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Clock seconds to wait after failed attempt number ``attempt`` (0-based)."""
    base = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
    return base * (1.0 + JITTER * (rng or random).random())


class ClientIdInUse(BrokerError):
    """IB refused the API client id (error 326): another connection uses it."""


class IBSession:
    """Connection life cycle and shared state; the port methods are in IBBroker."""

    def __init__(
        self,
        clock: Clock,
        *,
        host: str,
        port: int,
        client_id: int,
        account: str,
        connect_timeout_s: float,
        ib: IB,
        request_timeout_s: float,
        connect_attempts: int,
        max_lines: int,
        auto_reconnect: bool,
    ) -> None:
        self._clock = clock
        self._host, self._port, self._client_id = host, port, client_id
        self._account = account
        self._connect_timeout = connect_timeout_s
        self._request_timeout = request_timeout_s
        self._attempts = max(connect_attempts, 1)
        self._auto_reconnect = auto_reconnect
        self._ib = ib
        self._hub = EventHub()
        self._router = EventRouter(clock, self._hub, self._request_of, self._on_link)
        self._pacer = Pacer(clock)
        self._md = MarketData(ib, clock, LineBudget(max_lines), self._pacer)
        self._index: Contract | None = None
        self._qualified: dict[OptionContract, Contract] = {}
        self._options: dict[int, OptionContract] = {}
        self._requests: dict[int, OrderRequest] = {}
        self._up = False  # socket session established by us
        self._link = False  # IB servers reachable (1100 clears it, 1101/1102 set it)
        self._wanted = False  # the engine wants a session (reconnect after drops)
        self._closed = False
        self._codes: list[int] = []
        self._reconnector: asyncio.Task[None] | None = None
        self._rng = random.Random()
        ib.errorEvent += self._note_code
        ib.disconnectedEvent += self._on_disconnected

    # -- state --------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the API session is up and IB reports its servers reachable."""
        return self._up and self._link and self._ib.isConnected()

    def _require_link(self) -> None:
        if not self.connected:
            reason = "connectivity to IB servers lost (1100)" if self._up else "not connected"
            raise NotConnected(f"IB {self._host}:{self._port}: {reason}")

    # -- connect / disconnect -------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect (retrying with backoff); raises NotConnected, ClientIdInUse or BrokerError."""
        if self._closed:
            raise NotConnected("the IB broker is closed")
        if self.connected:
            return
        self._wanted = True
        await self._connect_retrying(self._attempts)
        self._hub.publish(ConnectionChanged(True, "connected"))

    async def disconnect(self) -> None:
        """Close the session; working orders stay at IB. Stops any background reconnect."""
        self._wanted = False
        task, self._reconnector = self._reconnector, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if self._up:
            self._ib.disconnect()  # fires disconnectedEvent -> ConnectionChanged(False)

    async def close(self) -> None:
        """Disconnect for good and end every event stream."""
        await self.disconnect()
        self._closed = True
        self._router.detach()
        self._hub.close()

    async def _connect_retrying(self, attempts: int | None) -> None:
        attempt = 0
        while True:
            try:
                await self._connect_once()
                return
            except NotConnected as exc:
                attempt += 1
                if attempts is not None and attempt >= attempts:
                    raise NotConnected(f"{exc} (gave up after {attempt} attempt(s))") from exc
                delay = backoff(attempt - 1, self._rng)
                logger.warning(
                    "IB connect attempt {} failed: {}; retry in {:.1f} s", attempt, exc, delay
                )
                await self._clock.sleep(delay)

    async def _connect_once(self) -> None:
        self._codes.clear()
        where = f"IB {self._host}:{self._port} (client id {self._client_id})"
        try:
            await self._ib.connectAsync(
                self._host,
                self._port,
                clientId=self._client_id,
                timeout=self._connect_timeout,
                account=self._account,
                raiseSyncErrors=True,
            )
        except (OSError, TimeoutError, ConnectionError) as exc:
            if CLIENT_ID_IN_USE & set(self._codes):
                raise ClientIdInUse(f"{where}: client id already in use (IB error 326)") from exc
            raise NotConnected(f"cannot connect to {where}: {exc!r}") from exc
        try:
            await self._check_session(where)
        except BaseException:
            self._ib.disconnect()
            raise
        logger.info("connected to {}, account {}", where, self._account)

    async def _check_session(self, where: str) -> None:
        accounts = list(self._ib.managedAccounts())
        if self._account not in accounts:
            raise BrokerError(
                f"{where}: the profile's account {self._account} is not managed by this "
                f"login (IB reports {', '.join(accounts) or 'none'})"
            )
        index = Index(translate.SYMBOL, translate.INDEX_EXCHANGE, translate.CURRENCY)
        qualified = await self._call(self._ib.qualifyContractsAsync(index), "SPX index")
        if not qualified or not isinstance(qualified[0], Contract) or not qualified[0].conId:
            raise BrokerError(f"{where}: IB does not know the SPX index on CBOE")
        self._index = qualified[0]
        self._router.forget()
        self._router.attach(self._ib)
        self._up = self._link = True

    # -- ib_async callbacks ---------------------------------------------------------------------

    def _note_code(self, req_id: int, code: int, text: str, contract: object = None) -> None:
        if len(self._codes) < 100:
            self._codes.append(code)

    def _on_disconnected(self) -> None:
        if not self._up:
            return  # a failed attempt, or the second disconnectedEvent of ib.disconnect()
        self._up = self._link = False
        self._router.on_disconnected("disconnected" if not self._wanted else "socket closed")
        if self._wanted and self._auto_reconnect and not self._closed:
            self._reconnector = asyncio.get_running_loop().create_task(
                self._reconnect(), name="ib-reconnect"
            )

    def _on_link(self, up: bool, reason: str) -> None:
        if up == self._link or not self._up:
            return
        self._link = up
        self._hub.publish(ConnectionChanged(up, reason))

    async def _reconnect(self) -> None:
        try:
            await self._clock.sleep(backoff(0, self._rng))
            await self._connect_retrying(None)
        except asyncio.CancelledError:
            raise
        except BrokerError as exc:  # 326 or account mismatch: the operator must act
            logger.error("IB reconnect abandoned: {}", exc)
            return
        finally:
            if self._reconnector is asyncio.current_task():
                self._reconnector = None
        self._hub.publish(ConnectionChanged(True, "reconnected"))

    # -- requests -----------------------------------------------------------------------------

    async def _call(self, awaitable: Awaitable[T], what: str) -> T:
        """Await an ib_async request within ``request_timeout_s`` clock seconds."""
        seconds = self._clock.loop_seconds(self._request_timeout)
        try:
            return await asyncio.wait_for(awaitable, seconds)
        except TimeoutError as exc:
            raise BrokerTimeout(
                f"IB did not answer {what} within {self._request_timeout:g} s"
            ) from exc
        except ConnectionError as exc:
            raise NotConnected(f"IB connection lost while asking for {what}") from exc

    async def _qualify(self, contracts: Sequence[OptionContract]) -> None:
        """Qualify (and cache) the SPXW options not qualified yet; unknown ones are skipped."""
        todo = [c for c in dict.fromkeys(contracts) if c not in self._qualified]
        step = QUALIFY_CHUNK
        for chunk in (todo[i : i + step] for i in range(0, len(todo), step)):
            await self._pacer.take(len(chunk))
            results = await self._call(
                self._ib.qualifyContractsAsync(*[translate.ib_option(c) for c in chunk]),
                f"{len(chunk)} option contract(s)",
            )
            for option, result in zip(chunk, results, strict=True):
                if isinstance(result, Contract) and result.conId:
                    self._qualified[option] = result
                    self._options[result.conId] = option

    async def _resolve_con_ids(self, con_ids: Iterable[int]) -> None:
        """Learn the OptionContract of leg conIds seen in orders placed elsewhere."""
        todo = sorted({c for c in con_ids if c and c not in self._options})
        if not todo:
            return
        await self._pacer.take(min(len(todo), self._pacer.max_messages))
        results = await self._call(
            self._ib.qualifyContractsAsync(*[Contract(conId=c) for c in todo]), "combo legs"
        )
        for result in results:
            if isinstance(result, Contract):
                option = translate.option_contract(result)
                if option is not None:
                    self._options[result.conId] = option
                    self._qualified.setdefault(option, result)

    def _request_of(self, trade: Trade) -> OrderRequest | None:
        known = self._requests.get(int(trade.order.orderId))
        if known is not None and trade.order.clientId == self._client_id:
            return known
        return translate.request_from_ib(trade.contract, trade.order, self._options)
