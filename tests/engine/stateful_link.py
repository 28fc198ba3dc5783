"""The engine's way to the simulated broker in the stateful test (tests/engine/stateful.py).

One :class:`Link` per engine: it records every order request, injects the faults the simulator
itself has no knob for (a late answer to ``place_order``, executions or commission reports
delivered late, in the event stream and in ``executions()`` alike), and plays dead when its
engine is killed: every call hangs forever and no event reaches that engine again, as if its
process had died.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from condordesk.broker.base import BrokerEvent, CommissionReceived, ExecutionReceived
from condordesk.broker.sim import SimBroker
from condordesk.domain.orders import CommissionReport, Execution, OrderReport, OrderRequest
from tests.engine.invariants import Sent


async def _forever() -> Any:
    await asyncio.Future()


@dataclass
class Faults:
    """Faults the :class:`Link` injects (shared by every engine's link)."""

    ack_delays: list[float] = field(default_factory=list)  # next place_order answers, late by
    fill_holds: list[float] = field(default_factory=list)  # next orders' executions, late by
    commission_holds: list[float] = field(default_factory=list)  # next orders' commissions
    held_fills: dict[str, float] = field(default_factory=dict)  # order ref -> seconds
    held_commissions: dict[str, float] = field(default_factory=dict)
    release: dict[str, datetime] = field(default_factory=dict)  # exec id -> visible from
    commission_release: dict[str, datetime] = field(default_factory=dict)
    ref_of: dict[str, str] = field(default_factory=dict)  # exec id -> order ref


class Link:
    """The engine's way to the simulated broker (see the module docstring)."""

    def __init__(self, sim: SimBroker, rig: Any) -> None:
        """``rig``: the :class:`~tests.engine.stateful.Rig` (its faults, clock and logs)."""
        self._sim = sim
        self._rig = rig
        self.dead = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._sim, name)
        if not callable(attr) or not asyncio.iscoroutinefunction(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.dead:
                return await _forever()
            result = await attr(*args, **kwargs)
            if self.dead:
                return await _forever()
            return result

        return call

    @property
    def connected(self) -> bool:
        return not self.dead and self._sim.connected

    async def place_order(self, request: OrderRequest) -> OrderReport:
        if self.dead:
            return await _forever()  # type: ignore[no-any-return]
        f = self._rig.faults
        if f.fill_holds:
            f.held_fills[request.order_ref] = f.fill_holds.pop(0)
        if f.commission_holds:
            f.held_commissions[request.order_ref] = f.commission_holds.pop(0)
        self._rig.sent.append(Sent(self._rig.clock_now(), "place", request))
        self._rig.counts["orders"] += 1
        report = await self._sim.place_order(request)
        if f.ack_delays:
            await self._rig.rt.clock.sleep(f.ack_delays.pop(0))
        if self.dead:
            return await _forever()  # type: ignore[no-any-return]
        return report

    async def modify_order(self, order_id: int, request: OrderRequest) -> OrderReport:
        if self.dead:
            return await _forever()  # type: ignore[no-any-return]
        self._rig.sent.append(Sent(self._rig.clock_now(), "modify", request))
        report = await self._sim.modify_order(order_id, request)
        if self.dead:
            return await _forever()  # type: ignore[no-any-return]
        return report

    async def executions(self) -> list[tuple[Execution, CommissionReport | None]]:
        if self.dead:
            return await _forever()  # type: ignore[no-any-return]
        now = self._rig.clock_now()
        out = []
        for execution, commission in await self._sim.executions():
            if self._delay(execution, now) > 0:
                continue
            if commission is not None and self._commission_delay(commission, now) > 0:
                commission = None
            out.append((execution, commission))
        return out

    def _delay(self, execution: Execution, now: datetime) -> float:
        f = self._rig.faults
        f.ref_of[execution.exec_id] = execution.order_ref
        hold = f.held_fills.get(execution.order_ref)
        if hold is None:
            return 0.0
        at = f.release.setdefault(execution.exec_id, now + timedelta(seconds=hold))
        return (at - now).total_seconds()

    def _commission_delay(self, report: CommissionReport, now: datetime) -> float:
        f = self._rig.faults
        hold = f.held_commissions.get(f.ref_of.get(report.exec_id, ""))
        if hold is None:
            return 0.0
        at = f.commission_release.setdefault(report.exec_id, now + timedelta(seconds=hold))
        return (at - now).total_seconds()

    def _delay_of(self, event: BrokerEvent) -> float:
        now = self._rig.clock_now()
        if isinstance(event, ExecutionReceived):
            return self._delay(event.execution, now)
        if isinstance(event, CommissionReceived):
            return self._commission_delay(event.report, now)
        return 0.0

    def events(self) -> AsyncIterator[BrokerEvent]:
        return self._stream(self._sim.events())  # subscribed now, as the real brokers do

    async def _stream(self, inner: AsyncIterator[BrokerEvent]) -> AsyncIterator[BrokerEvent]:
        out: asyncio.Queue[BrokerEvent | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def pump() -> None:
            async for event in inner:
                if self.dead:
                    break
                delay = self._delay_of(event)
                if delay > 0:
                    loop.call_later(self._rig.rt.clock.loop_seconds(delay), out.put_nowait, event)
                else:
                    out.put_nowait(event)
            out.put_nowait(None)

        task = asyncio.ensure_future(pump())
        try:
            while (event := await out.get()) is not None:
                if self.dead:
                    return
                yield event
        finally:
            task.cancel()
