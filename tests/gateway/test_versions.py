"""Version-aware encoding: every version-dependent message, encoded for each version the
gateway can agree, decodes with the real decoders of ib_async 2.1.0, ib_insync 0.9.86 and
ibapi 9.81.1 (each at every version it can agree with the gateway), with the values intact."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import ib_async.decoder
import ib_insync.decoder
import pytest
from ibapi import comm as ibapi_comm
from ibapi import decoder as ibapi_decoder
from ibapi.wrapper import EWrapper

from condordesk.domain.options import OptionContract, Right
from condordesk.domain.orders import Execution, OrderAction
from condordesk.gateway import versions
from condordesk.gateway.codec import Field, encode
from condordesk.gateway.contracts import WireContract, option_conid, option_details
from condordesk.gateway.orderwire import GwOrder, WireLeg, WireOrder, exec_details, open_order

OPTION = OptionContract(dt.date(2026, 12, 7), Decimal(6000), Right.PUT)
EVERY = range(versions.MIN_CLIENT_VERSION, versions.SERVER_VERSION + 1)
IB_ASYNC = EVERY  # v157..178
IB_INSYNC = range(157, 177)  # announces v157..176
IBAPI = [157]  # announces v100..157: the gateway agrees 157


def _order() -> GwOrder:
    wire = WireOrder(
        order_id=42,
        contract=WireContract(0, "SPX", "BAG", "", None, "", "", "SMART", "", "USD", "", ""),
        action="BUY",
        quantity=1.0,
        order_type="STP",
        lmt_price=None,
        aux_price=Decimal("-1.5"),
        tif="GTC",
        oca_group="cd:oca:1",
        account="DU1234567",
        order_ref="cd:7:stop",
        legs=[WireLeg(option_conid(OPTION), 1, "BUY", "SMART")],
        oca_type=1,
    )
    return GwOrder(3, 42, 9001, wire, None, "DU1234567", status="Submitted")


def _execution() -> Execution:
    ts = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)
    return Execution(
        exec_id="0001.01",
        order_id=42,
        perm_id=9001,
        contract=OPTION,
        side=OrderAction.SELL,
        quantity=1,
        price=Decimal("2.35"),
        ts=ts,
        order_ref="cd:7:entry",
    )


MESSAGES: dict[str, Callable[[], list[Field]]] = {
    "error": lambda: [4, 2, 42, 201, "Order rejected - reason:test", ""],
    "openOrder": lambda: open_order(_order()),
    "contractDetails": lambda: option_details(5, OPTION, "SMART"),
    "execDetails": lambda: exec_details(
        -1, _execution(), order_id=42, client_id=3, account="DU1234567"
    ),
}


def _check(kind: str, calls: list[tuple[str, tuple[Any, ...]]]) -> None:
    """The one callback a message of ``kind`` must produce, with its values."""
    names = [name for name, _ in calls]
    if kind == "error":
        assert names == ["error"]
        assert calls[0][1][:3] == (42, 201, "Order rejected - reason:test")
    elif kind == "openOrder":
        assert names == ["openOrder"]
        _, contract, order, state = calls[0][1]
        assert (contract.secType, order.orderRef, order.permId) == ("BAG", "cd:7:stop", 9001)
        assert (order.ocaGroup, int(order.ocaType), state.status) == ("cd:oca:1", 1, "Submitted")
        assert float(order.auxPrice) == -1.5
    elif kind == "contractDetails":
        assert names == ["contractDetails"]
        details = calls[0][1][1]
        assert int(details.contract.conId) == option_conid(OPTION)
        assert details.contract.tradingClass == "SPXW"
        assert float(details.minTick) == 0.05
        assert "MKT" in details.orderTypes
    else:
        assert names == ["execDetails"]
        execution = calls[0][1][2]
        assert (execution.execId, execution.orderRef) == ("0001.01", "cd:7:entry")
        assert (int(execution.permId), float(execution.price)) == (9001, 2.35)


class _Recorder:
    """A wrapper for ib_async's/ib_insync's Decoder that records every callback."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.ib = SimpleNamespace(TimezoneTWS=None)
        self.defaultTimezone = dt.UTC

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args: self.calls.append((name, args))


@pytest.fixture
def decoder_errors() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append  # type: ignore[method-assign]
    for name in ("ib_async.Decoder", "ib_insync.Decoder", "ibapi", ""):
        logging.getLogger(name).addHandler(handler)
    yield records
    for name in ("ib_async.Decoder", "ib_insync.Decoder", "ibapi", ""):
        logging.getLogger(name).removeHandler(handler)


def _wire_fields(fields: list[Field], version: int) -> list[str]:
    """The message as it crosses the socket, split as ib_async splits it."""
    body = encode(versions.for_version(fields, version))[4:].decode()
    return body.split("\0")[:-1]


@pytest.mark.parametrize("kind", sorted(MESSAGES))
@pytest.mark.parametrize("version", IB_ASYNC)
def test_ib_async_decodes_every_message_at_every_version(
    kind: str, version: int, decoder_errors: list[logging.LogRecord]
) -> None:
    wrapper = _Recorder()
    ib_async.decoder.Decoder(wrapper, version).interpret(_wire_fields(MESSAGES[kind](), version))  # type: ignore[arg-type]
    assert [r.getMessage() for r in decoder_errors] == []
    _check(kind, wrapper.calls)


@pytest.mark.parametrize("kind", sorted(MESSAGES))
@pytest.mark.parametrize("version", IB_INSYNC)
def test_ib_insync_decodes_every_message_at_every_version(
    kind: str, version: int, decoder_errors: list[logging.LogRecord]
) -> None:
    wrapper = _Recorder()
    ib_insync.decoder.Decoder(wrapper, version).interpret(_wire_fields(MESSAGES[kind](), version))  # type: ignore[arg-type]
    assert [r.getMessage() for r in decoder_errors] == []
    _check(kind, wrapper.calls)


class _IbapiRecorder(EWrapper):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def error(self, *args: Any) -> None:
        self.calls.append(("error", args))

    def openOrder(self, *args: Any) -> None:
        self.calls.append(("openOrder", args))

    def contractDetails(self, *args: Any) -> None:
        self.calls.append(("contractDetails", args))

    def execDetails(self, *args: Any) -> None:
        self.calls.append(("execDetails", args))


@pytest.mark.parametrize("kind", sorted(MESSAGES))
@pytest.mark.parametrize("version", IBAPI)
def test_ibapi_decodes_every_message(kind: str, version: int) -> None:
    wrapper = _IbapiRecorder()
    raw = encode(versions.for_version(MESSAGES[kind](), version))
    _, text, rest = ibapi_comm.read_msg(raw)
    assert rest == b""
    fields = ibapi_comm.read_fields(text)
    ibapi_decoder.Decoder(wrapper, version).interpret(fields)
    _check(kind, wrapper.calls)


@pytest.mark.parametrize(
    ("low", "high", "agreed"),
    [(100, 157, 157), (157, 176, 176), (157, 178, 178), (157, 200, 178), (100, 156, None)],
)
def test_agreed_version(low: int, high: int, agreed: int | None) -> None:
    assert versions.agreed_version(low, high) == agreed


def test_messages_at_178_are_unchanged() -> None:
    for build in MESSAGES.values():
        fields = build()
        assert versions.for_version(fields, 178) == fields
