"""A hand-written engine for console tests: a snapshot, an event stream the test feeds, and
commands answered the way the engine answers them (an ack, then the events of what it did).

``FakeEngine.open_handle`` is what a console enters; ``lose()`` drops every console's link
(their ``events()`` and ``submit()`` raise :class:`EngineUnavailable`), ``down`` makes new
attempts fail, like an attached console whose engine went away.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from condordesk.engine import api
from condordesk.engine.clearing import VERIFIED_AGAIN, cleared_by_verified_stop

D = Decimal
T0 = datetime(2026, 11, 30, 15, 10, tzinfo=UTC)  # 10:10 in New York
DAY = date(2026, 11, 30)
_LOST = object()


def view(cid: str = "20261130-01", **changes: Any) -> api.CondorView:
    """An open, protected condor 5950/5960P 6040/6050C x1 sold for 1.45."""
    base = api.CondorView(
        id=cid,
        state="open",
        label="5950/5960P 6040/6050C",
        long_put=D(5950),
        short_put=D(5960),
        short_call=D(6040),
        long_call=D(6050),
        quantity=1,
        credit=D("1.45"),
        mark=D("0.90"),
        debit=D("1.05"),
        unrealized_pnl=D("55.00"),
        realized_pnl=None,
        profit_target=D("0.70"),
        stop_trigger=D("2.90"),
        stop_limit=D("3.40"),
        stop_backup=D("3.20"),
        stop_state="verified",
        first_trade=True,
        opened_ts=T0 - timedelta(minutes=25),
        exit_reason=None,
    )
    return dataclasses.replace(base, **changes)


def snapshot(*condors: api.CondorView, **changes: Any) -> api.Snapshot:
    """An armed sim engine at 10:10 ET with SPX 6001.50 and the given condors."""
    base = api.Snapshot(
        seq=100,
        ts=T0,
        profile="sim",
        mode="sim",
        account="SIM-0001",
        state="armed",
        paused_reason=None,
        connected=True,
        spot=D("6001.50"),
        day=DAY,
        condors=list(condors),
        realized_pnl=D(0),
        unrealized_pnl=sum((c.unrealized_pnl or D(0) for c in condors), D(0)),
        open_alerts=[],
        expected_move=D("21.85"),
        greeks=api.PositionGreeks(delta=-3.47, gamma=-0.767, theta=691.88, vega=-25.88),
        next_event="entries close",
        next_event_at=datetime(2026, 11, 30, 19, 30, tzinfo=UTC),
        pnl_history=[
            api.PnlPoint(ts=T0 - timedelta(minutes=m), pnl=D(55 - m * 3)) for m in range(20, 0, -1)
        ],
        recent=[
            api.OrderSubmitted(
                seq=90, ts=T0 - timedelta(minutes=25), condor_id="20261130-01", role="entry",
                order_ref="cd:20261130-01:entry", order_type="LMT", quantity=1,
                limit_price=D("-1.45"), stop_price=None,
            ),
            api.CondorOpened(
                seq=95, ts=T0 - timedelta(minutes=25), condor_id="20261130-01",
                label="5950/5960P 6040/6050C", quantity=1, credit=D("1.45"), first_trade=True,
            ),
        ] if condors else [],
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


class FakeEngine:
    """A stateful stand-in for the engine behind an :class:`EngineHandle`."""

    def __init__(self, snap: api.Snapshot) -> None:
        self.snap = snap
        self.seq = snap.seq
        self.now = snap.ts
        self.commands: list[api.Command] = []
        self.alerts: list[str] = list(snap.open_alerts)  # open, as the engine keeps them
        self.trades: list[api.TradeRecord] = []  # the journal's finished condors (history)
        self.reject: dict[type[api.Command], str] = {}
        self.down = False
        self.attempts = 0
        self.connections = 0
        self._queues: list[asyncio.Queue[object]] = []

    # -- what the console holds -----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def open_handle(self) -> AsyncIterator[api.EngineHandle]:
        self.attempts += 1
        if self.down:
            raise api.EngineUnavailable("no engine is listening on the control socket")
        self.connections += 1
        yield _Handle(self)

    # -- what the test drives -------------------------------------------------------------

    def emit(self, event: api.Event) -> api.Event:
        """Publish an event (numbered and stamped like the engine's bus)."""
        self.seq += 1
        self.now += timedelta(seconds=1)
        stamped = dataclasses.replace(event, seq=self.seq, ts=self.now)
        for q in self._queues:
            q.put_nowait(stamped)
        return stamped

    def lose(self) -> None:
        """The engine (or the socket to it) is gone: links break, new ones fail."""
        self.down = True
        for q in self._queues:
            q.put_nowait(_LOST)

    def come_back(self, snap: api.Snapshot) -> None:
        """The engine is reachable again, in the state ``snap``."""
        self.snap = dataclasses.replace(snap, seq=self.seq)
        self.down = False

    # -- the engine's side of commands ----------------------------------------------------

    async def submit(self, command: api.Command) -> api.Ack:
        if self.down:
            raise api.EngineUnavailable("control socket closed")
        self.commands.append(command)
        reason = self.reject.get(type(command))
        ack = api.Ack(False, reason) if reason else api.Ack(True)
        self.emit(api.CommandReceived(command=type(command).__name__, origin=command.origin,
                                      detail=repr(command), accepted=ack.accepted))  # fmt: skip
        if ack.accepted:
            self._carry_out(command)
        return ack

    async def history(self, since: date | None = None) -> list[api.TradeRecord]:
        if self.down:
            raise api.EngineUnavailable("control socket closed")
        return [t for t in self.trades if since is None or t.day >= since]

    def _carry_out(self, c: api.Command) -> None:  # noqa: C901
        if isinstance(c, api.PauseEntries):
            self.emit(api.EntriesPaused(reason=c.reason, origin=c.origin))
        elif isinstance(c, api.ResumeEntries):
            self.emit(api.EntriesResumed(origin=c.origin))
        elif isinstance(c, api.MoveStop):
            self.emit(api.StopCancelled(condor_id=c.condor_id, reason=f"moved by {c.origin}"))
            self.emit(
                api.StopPlaced(
                    condor_id=c.condor_id,
                    trigger=c.trigger,
                    limit=c.trigger + D("0.50"),
                    backup_trigger=c.trigger + D("0.30"),
                    order_ids=[31, 32],
                )
            )
            self.emit(api.StopVerified(condor_id=c.condor_id))
        elif isinstance(c, api.CancelStop):
            self.emit(api.StopCancelled(condor_id=c.condor_id, reason=f"cancelled by {c.origin}"))
            message = f"condor {c.condor_id} has no stop"
            self.alerts.append(f"unprotected: {message}")
            self.emit(api.AlertRaised(level="warning", code="unprotected", message=message))
        elif isinstance(c, api.ArmStops):
            self._arm(c.condor_id)
        elif isinstance(c, api.CloseCondor):
            self._close(c.condor_id, c.limit or D("1.00"), "manual")
        elif isinstance(c, api.FlattenAll):
            self.emit(api.EntriesPaused(reason="flatten", origin=c.origin))
            for v in self.snap.condors:
                if v.state == "open":
                    self._close(v.id, D("1.00"), "flatten")
        elif isinstance(c, api.AcknowledgeAlerts):
            self.alerts.clear()
            self.emit(api.AlertsAcknowledged(origin=c.origin))

    def _arm(self, condor_id: str) -> None:
        """Stops placed and verified; like the engine, that closes the condor's protection
        alerts (AlertCleared after the StopVerified)."""
        self.emit(api.StopPlaced(condor_id=condor_id, trigger=D("2.90"), limit=D("3.40"),
                                 backup_trigger=D("3.20"), order_ids=[41, 42]))  # fmt: skip
        self.emit(api.StopVerified(condor_id=condor_id))
        for code, text in cleared_by_verified_stop(condor_id, self.alerts):
            self.alerts.remove(text)
            self.emit(api.AlertCleared(code=code, condor_id=condor_id, alert=text,
                                       reason=VERIFIED_AGAIN))  # fmt: skip

    def _close(self, condor_id: str, price: Decimal, reason: str) -> None:
        self.emit(api.CondorClosing(condor_id=condor_id, reason=reason, limit=price))
        pnl = (D("1.45") - price) * 100 - D("5.28")
        self.emit(api.CondorClosed(condor_id=condor_id, reason=reason, exit_debit=price,
                                   commissions=D("5.28"), realized_pnl=pnl))  # fmt: skip


class _Handle:
    """One console's link to the fake engine."""

    def __init__(self, engine: FakeEngine) -> None:
        self._engine = engine
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        engine._queues.append(self._queue)

    def snapshot(self) -> api.Snapshot:
        return dataclasses.replace(self._engine.snap, seq=self._engine.seq)

    async def events(self, since: int = 0) -> AsyncIterator[api.Event]:
        try:
            while True:
                item = await self._queue.get()
                if item is _LOST:
                    raise api.EngineUnavailable("engine connection lost")
                assert isinstance(item, api.Event)
                if item.seq > since:
                    yield item
        finally:
            self._engine._queues.remove(self._queue)

    async def submit(self, command: api.Command) -> api.Ack:
        return await self._engine.submit(command)

    async def history(self, since: date | None = None) -> list[api.TradeRecord]:
        return await self._engine.history(since)
