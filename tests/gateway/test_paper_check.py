"""``condordesk paper-check`` against the loopback gateway: every check passes; a profile or
connection that is not a paper account is refused before anything is sent."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from condordesk.app.paper_check import EXIT_REFUSED, cmd_paper_check, run_checks
from condordesk.broker.ib.paper_check import WING, NotPaper, Target
from condordesk.domain.orders import OrderType
from condordesk.gateway import Gateway
from tests.gateway.conftest import ACCOUNT, MONDAY, make_sim
from tests.support.gateway import running_gateway
from tests.support.sim import at


def _target(port: int, account: str = ACCOUNT) -> Target:
    return Target("127.0.0.1", port, 40, account, greeks_timeout_s=5.0, today=MONDAY)


def _run(target: Target) -> object:
    """As the CLI runs it: on its own event loop (here in a thread, the gateway on ours)."""
    return asyncio.run(run_checks(target))


async def test_every_check_passes_against_the_gateway(gateway: Gateway) -> None:
    report = await asyncio.to_thread(_run, _target(gateway.port))
    table = report.table()  # type: ignore[attr-defined]
    assert report.ok, table  # type: ignore[attr-defined]
    names = [c["name"] for c in report.as_json()["checks"]]  # type: ignore[attr-defined]
    assert names == [
        "connect",
        "SPXW chain",
        "live greeks",
        "FOK killed",
        "whatIf margin",
        "OCA stop pair",
        "stop moved in place",
        "refs after reconnect",
        "stops cancelled",
        "error codes",
    ]
    assert await gateway.broker.open_orders() == []
    assert await gateway.broker.positions() == []
    assert await gateway.broker.executions() == []


async def test_the_stop_pair_is_shaped_as_the_engines_capped_backup(gateway: Gateway) -> None:
    """Stop-limits whose limit is the wing width: a precautionary setting of the account that
    refuses a buy limit that far above the market would fail this check in paper, not live."""
    report = await asyncio.to_thread(_run, _target(gateway.port))
    assert report.ok  # type: ignore[attr-defined]
    reports = [await gateway.broker.order_status(i) for i in range(1, 100)]
    stops = [r.request for r in reports if r and r.request and ":stop" in r.order_ref]
    assert len(stops) == 2
    for request in stops:
        assert request.order_type is OrderType.STOP_LIMIT
        assert request.limit_price == Decimal(WING)
        assert request.stop_price is not None and request.stop_price < request.limit_price


async def test_a_live_account_in_the_profile_is_refused_before_connecting() -> None:
    with pytest.raises(NotPaper):
        await asyncio.to_thread(_run, _target(1, account="U1234567"))


@pytest.fixture
async def live_gateway() -> AsyncIterator[Gateway]:
    clock, broker = make_sim(at(MONDAY, 10))
    async with running_gateway(clock, broker, account="U7654321") as gw:
        yield gw


async def test_a_connection_that_manages_a_live_account_is_refused(live_gateway: Gateway) -> None:
    with pytest.raises(NotPaper):
        await asyncio.to_thread(_run, _target(live_gateway.port, account="DU1234567"))
    assert await live_gateway.broker.open_orders() == []


def test_the_cli_refuses_a_sim_profile(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(profile="sim", overrides=[], json=False)
    assert cmd_paper_check(args) == EXIT_REFUSED
    assert "needs an IB paper profile" in capsys.readouterr().err
