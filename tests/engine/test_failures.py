"""Orders that do not go as planned: nothing is left behind and nothing stays unprotected."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.domain.orders import OrderRequest, OrderRole, TimeInForce, parse_order_ref
from condordesk.engine import api
from condordesk.errors import OrderRejected
from tests.engine.harness import make_profile, run_engine
from tests.engine.test_trading_day import assert_flat

pytestmark = pytest.mark.usefixtures("warm_calendar")


def _patch_place(rt: Runtime, change) -> None:  # type: ignore[no-untyped-def]
    original = rt.broker.place_order

    async def place(request: OrderRequest):  # type: ignore[no-untyped-def]
        return await original(change(request))

    rt.broker.place_order = place  # type: ignore[method-assign]


def test_an_entry_that_does_not_fill_in_15_seconds_is_cancelled(tmp_path: Path) -> None:
    """The first entry rests at the broker instead of filling or dying: after the fill timeout
    the engine cancels it and journals the condor as not filled."""
    sent: list[OrderRequest] = []

    async def resting_first_entry(rt: Runtime) -> None:
        def change(request: OrderRequest) -> OrderRequest:
            parsed = parse_order_ref(request.order_ref)
            if parsed and parsed[1] is OrderRole.ENTRY and not sent:
                request = dataclasses.replace(
                    request, tif=TimeInForce.DAY, limit_price=Decimal("-9.00")
                )
                sent.append(request)
            return request

        _patch_place(rt, change)

    out = run_engine(make_profile(), tmp_path, resting_first_entry)
    first = out.of(api.EntryNotFilled)[0]
    submitted = next(e for e in out.of(api.OrderSubmitted) if e.condor_id == first.condor_id)
    waited = (first.ts - submitted.ts).total_seconds()
    assert 15 <= waited < 20
    assert out.runtime.journal.order(sent[0].order_ref).status == "cancelled"  # type: ignore[union-attr]
    assert out.of(api.CondorOpened), "later entries still trade"
    assert_flat(out.runtime)


def test_a_condor_whose_stops_cannot_be_placed_is_closed_not_left_unprotected(
    tmp_path: Path,
) -> None:
    async def refuse_stops(rt: Runtime) -> None:
        original = rt.broker.place_order

        async def place(request: OrderRequest):  # type: ignore[no-untyped-def]
            parsed = parse_order_ref(request.order_ref)
            if parsed and parsed[1] is OrderRole.STOP_LIMIT:
                raise OrderRejected(request.order_ref, "stop orders not allowed", 201)
            return await original(request)

        rt.broker.place_order = place  # type: ignore[method-assign]

    profile = make_profile(strategy={"max_concurrent": 1, "entry_end": "10:00"})
    out = run_engine(profile, tmp_path, refuse_stops)
    alerts = [a for a in out.of(api.AlertRaised) if a.code == "stop_failed"]
    assert alerts and alerts[0].level == "critical"
    closed = out.of(api.CondorClosed)
    assert closed and closed[0].reason == "protection_failed"
    first_open = out.of(api.CondorOpened)[0]
    assert (closed[0].ts - first_open.ts).total_seconds() < 120
    assert_flat(out.runtime)
