"""Scope 1: handshake, startApi and everything connectAsync waits for."""

from __future__ import annotations

import asyncio
import datetime as dt

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
