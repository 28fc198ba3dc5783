"""IB error codes sorted into named sets."""

from __future__ import annotations

import pytest

from condordesk.broker.ib import errors
from condordesk.broker.ib.errors import ErrorKind, classify


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (1100, ErrorKind.CONNECTIVITY_LOST),
        (1101, ErrorKind.CONNECTIVITY_RESTORED),
        (1102, ErrorKind.CONNECTIVITY_RESTORED),
        (201, ErrorKind.ORDER_REJECTED),
        (200, ErrorKind.ORDER_REJECTED),
        (103, ErrorKind.ORDER_REJECTED),
        (10058, ErrorKind.ORDER_REJECTED),
        (202, ErrorKind.ORDER_CANCELLED),
        (10147, ErrorKind.CANCEL_FAILED),
        (161, ErrorKind.CANCEL_FAILED),
        (100, ErrorKind.PACING),
        (101, ErrorKind.TOO_MANY_TICKERS),
        (326, ErrorKind.CLIENT_ID_IN_USE),
        (10197, ErrorKind.COMPETING_SESSION),
        (354, ErrorKind.MARKET_DATA),
        (2104, ErrorKind.INFO),
        (2106, ErrorKind.INFO),
        (2158, ErrorKind.INFO),
        (2119, ErrorKind.INFO),
        (2103, ErrorKind.FARM_BROKEN),
        (2150, ErrorKind.WARNING),
        (504, ErrorKind.ERROR),
    ],
)
def test_classify(code: int, kind: ErrorKind) -> None:
    assert classify(code) is kind


def test_sets_do_not_overlap() -> None:
    named = [
        errors.CONNECTIVITY_LOST,
        errors.CONNECTIVITY_RESTORED,
        errors.ORDER_REJECTED,
        errors.ORDER_CANCELLED,
        errors.CANCEL_FAILED,
        errors.PACING,
        errors.TOO_MANY_TICKERS,
        errors.CLIENT_ID_IN_USE,
        errors.COMPETING_SESSION,
        errors.MARKET_DATA_NOT_SUBSCRIBED,
        errors.FARM_BROKEN,
        errors.INFO,
    ]
    seen: set[int] = set()
    for codes in named:
        assert not seen & codes
        seen |= codes


def test_quiet_codes() -> None:
    assert errors.is_quiet(2104)
    assert not errors.is_quiet(1100)
    assert errors.DATA_LOST_ON_RESTORE <= errors.CONNECTIVITY_RESTORED
