"""One client connection: handshake, startApi, then a loop of requests dispatched by id."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Mapping
from decimal import Decimal
from typing import Protocol

from loguru import logger

from condordesk.errors import BrokerError
from condordesk.gateway import versions
from condordesk.gateway.codec import (
    READ_TIMEOUT_S,
    BadField,
    Field,
    FieldReader,
    ProtocolError,
    encode,
    parse_versions,
    read_body,
    read_hello,
    split_fields,
)
from condordesk.gateway.ports import Handler, Host

SERVER_VERSION = versions.SERVER_VERSION
MIN_CLIENT_VERSION = versions.MIN_CLIENT_VERSION
START_API = 71
ERROR = 4
FARM_OK = (
    (2104, "Market data farm connection is OK:usopt"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)


class Owner(Host, Protocol):
    """The gateway as its sessions see it: what the handlers see, and the dispatch table,
    the client ids, the pacing and the session's own life cycle."""

    @property
    def handlers(self) -> Mapping[int, Handler]:
        """The request handlers, by incoming message id."""
        ...

    def claim_client_id(self, session: Session, client_id: int) -> bool:
        """Register ``session`` as ``client_id``; False when a live client holds it."""
        ...

    async def session_ready(self, session: Session) -> None:
        """The handshake of ``session`` is done."""
        ...

    def session_closed(self, session: Session) -> None:
        """``session`` ended."""
        ...

    def over_pace(self) -> bool:
        """Count one incoming message; True when the account sends too fast."""
        ...


class Session:
    """A connected API client."""

    def __init__(
        self, gateway: Owner, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.gateway = gateway
        self.reader = reader
        self.writer = writer
        self.client_id: int | None = None
        self.version = SERVER_VERSION  # agreed at the handshake; every message encoded for it
        self.market_data_type = 1
        self.closed = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.md_lines: dict[int, asyncio.Task[None]] = {}
        self.current_req = -1  # the request being handled, for error replies
        self.positions_subscribed = False
        self.account_subscribed = False  # reqAccountUpdates: hears the figures move
        self.sees_all_orders = False  # asked reqAllOpenOrders: hears of adopted orders
        self.index_close: dict[int, Decimal] = {}  # per index line: the first level seen

    # -- output -------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.client_id is not None and not self.writer.is_closing()

    @property
    def _body_timeout(self) -> float:
        return self.gateway.clock.loop_seconds(READ_TIMEOUT_S)

    def send(self, fields: list[Field]) -> None:
        """Send one message, built as at v178, encoded for the agreed version."""
        if not self.writer.is_closing():
            self.writer.write(encode(versions.for_version(fields, self.version)))

    def error(self, req_id: int, code: int, text: str) -> None:
        """error (msg 4, version 2): reqId code message advancedOrderRejectJson."""
        self.send([ERROR, 2, req_id, code, text, ""])

    def spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def abort(self) -> None:
        """Drop the socket at once (no FIN handshake)."""
        transport = self.writer.transport
        transport.abort()

    # -- life cycle -----------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._handshake()
            while True:
                fields = split_fields(await read_body(self.reader, self._body_timeout))
                if fields:
                    await self._dispatch(fields)
        except (asyncio.IncompleteReadError, ConnectionError, ProtocolError) as exc:
            logger.debug("gateway session ended: {}", exc)
            if self.client_id is not None and "did not arrive" in str(exc):
                self.error(-1, 320, "Error reading request. Message truncated: connection closed")
                await self.drain()
        finally:
            await self.close()

    async def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for task in list(self.tasks) + list(self.md_lines.values()):
            task.cancel()
        self.gateway.session_closed(self)
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()

    async def _handshake(self) -> None:
        low, high = parse_versions(await read_hello(self.reader))
        agreed = versions.agreed_version(low, high)
        if agreed is None:
            self.writer.write(encode(versions.refusal(high)))
            await self.drain()
            raise ProtocolError(f"unsupported client versions {low}..{high}")
        self.version = agreed
        now = self.gateway.clock.now_et()
        self.writer.write(encode([agreed, f"{now:%Y%m%d %H:%M:%S} US/Eastern"]))
        fields = split_fields(await read_body(self.reader))
        if not fields or int(fields[0]) != START_API:
            raise ProtocolError("expected startApi")
        r = FieldReader(fields[1:])
        r.skip()  # version
        client_id = r.read_int()
        if not self.gateway.claim_client_id(self, client_id):
            text = f"Unable to connect as the client id {client_id} is already in use."
            self.error(-1, 326, text)
            await self.writer.drain()
            raise ProtocolError("client id in use")
        self.client_id = client_id
        self.send([15, 1, self.gateway.account])
        self.send([9, 1, self.gateway.next_valid_id(client_id)])
        for code, text in FARM_OK:
            self.error(-1, code, text)
        await self.gateway.session_ready(self)

    async def _dispatch(self, fields: list[str]) -> None:
        handler = self.gateway.handlers.get(int(fields[0]) if fields[0].isdigit() else -1)
        if handler is None:
            logger.debug("gateway: ignoring message {}", fields[:3])
            return
        self.current_req = -1
        if self.gateway.faults.take_pacing_violation() or self.gateway.over_pace():
            self.error(-1, 100, "Max rate of messages per second has been exceeded:max=50")
            return
        try:
            await handler(self, FieldReader(fields[1:]))
        except BrokerError as exc:
            self.error(self.current_req, 504, f"Not connected: {exc}")
        except BadField as exc:
            logger.warning("gateway: bad message {}: {}", fields[:3], exc)
            self.error(self.current_req, 320, exc.text)
        except (ProtocolError, ValueError) as exc:
            logger.warning("gateway: bad message {}: {}", fields[:3], exc)
            self.error(self.current_req, 320, "Error reading request. Unable to parse data.")
        except Exception:  # a gateway bug must not end the client's session
            logger.exception("gateway: failed to handle {}", fields[:3])
            self.error(self.current_req, 321, "Server error when handling the request")

    def drop_market_data(self) -> None:
        """Forget every streaming line (after 1101, clients must subscribe again)."""
        for task in self.md_lines.values():
            task.cancel()
        self.md_lines.clear()

    async def drain(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()
