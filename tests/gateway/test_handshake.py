"""Scope 1: handshake, startApi and everything connectAsync waits for."""

from __future__ import annotations

import asyncio
import datetime as dt
import struct

from ib_async import IB

from condordesk.gateway import Gateway
from tests.gateway.conftest import ACCOUNT, MONDAY, TIMEOUT, IbErrors


async def test_connect_reports_the_account(ib: IB) -> None:
    assert ib.isConnected()
    assert ib.managedAccounts() == [ACCOUNT]
    assert ib.client.serverVersion() == 178


async def test_current_time_is_the_simulated_clock(ib: IB) -> None:
    now = await asyncio.wait_for(ib.reqCurrentTimeAsync(), TIMEOUT)
    assert now.astimezone(dt.UTC).date() == MONDAY
    assert ib.positions() == []
    assert ib.openTrades() == []


async def test_second_client_with_the_same_id_is_refused(
    gateway: Gateway, ib: IB, ib_errors: IbErrors
) -> None:
    ib_errors.allow("API connection failed|already in use|Peer closed")
    other = IB()
    codes: list[int] = []
    other.errorEvent += lambda req_id, code, msg, contract: codes.append(code)
    try:
        # ib_async does not end connectAsync when the server closes during the handshake:
        # it waits for its own timeout, so keep that short.
        await other.connectAsync("127.0.0.1", gateway.port, clientId=1, timeout=0.5)
    except (ConnectionError, TimeoutError):
        pass
    else:
        raise AssertionError("a duplicate client id was accepted")
    finally:
        other.disconnect()
    assert codes == [326]
    assert ib.isConnected()


async def _hello(port: int, versions: bytes) -> list[list[str]]:
    """Send a bare hello announcing ``versions``; every message until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"API\0" + struct.pack(">I", len(versions)) + versions)
    messages = []
    try:
        while True:
            (size,) = struct.unpack(">I", await asyncio.wait_for(reader.readexactly(4), TIMEOUT))
            body = await asyncio.wait_for(reader.readexactly(size), TIMEOUT)
            messages.append(body.decode().split("\0")[:-1])
    except asyncio.IncompleteReadError:
        return messages
    finally:
        writer.close()


async def test_a_client_below_the_accepted_range_is_refused_at_the_handshake(
    gateway: Gateway,
) -> None:
    messages = await _hello(gateway.port, b"v100..156")
    assert len(messages) == 1  # no server version: the connection ends after the error
    msg_id, _, req_id, code, text = messages[0]
    assert (msg_id, req_id, code) == ("4", "-1", "502")
    assert "Unsupported API client version 156" in text


async def test_the_agreed_version_is_the_clients_newest_within_the_range(
    gateway: Gateway,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    hello = b"v100..157"
    writer.write(b"API\0" + struct.pack(">I", len(hello)) + hello)
    (size,) = struct.unpack(">I", await asyncio.wait_for(reader.readexactly(4), TIMEOUT))
    body = await asyncio.wait_for(reader.readexactly(size), TIMEOUT)
    writer.close()
    assert body.decode().split("\0")[0] == "157"
