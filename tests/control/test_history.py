"""The journal's history through the engine API: the embedded engine and an attached console
read the same finished condors (a console's history view), filtered by trading day."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from condordesk.app.bootstrap import Runtime
from condordesk.engine import api
from condordesk.engine.control import ControlServer, attach
from condordesk.ops.runlock import EngineLock
from tests.control.helpers import RawClient, next_of, serve
from tests.engine.harness import make_profile, until

pytestmark = pytest.mark.usefixtures("warm_calendar")


def test_a_closed_condor_is_in_the_history_of_the_engine_and_of_an_attached_console(
    tmp_path: Path, sim_lock: EngineLock
) -> None:
    seen: dict[str, Any] = {}

    async def console(rt: Runtime, server: ControlServer, engine: asyncio.Task[Any]) -> None:
        await until(
            rt, lambda: any(lc.stop_state == "verified" for lc in rt.engine.desk.live.values())
        )
        async with attach("sim") as handle:
            assert await handle.history() == []  # nothing finished yet
            (cid,) = [c.id for c in handle.snapshot().condors if c.state == "open"]
            stream = handle.events(since=handle.snapshot().seq)
            assert (await handle.submit(api.CloseCondor(origin="gui", condor_id=cid))).accepted
            closed = await next_of(stream, api.CondorClosed)
            await stream.aclose()
            seen["closed"] = closed
            seen["attached"] = await handle.history()
            seen["engine"] = await rt.engine.history()
            day = seen["attached"][0].day
            seen["from_day"] = await handle.history(day)
            seen["after_day"] = await handle.history(day + timedelta(days=1))
            raw = await RawClient.connect(server.path)  # a bad request is answered, not dropped
            await raw.frame()  # hello
            await raw.send({"id": 7, "op": "history", "since": "yesterday"})
            seen["bad"] = await raw.frame()
            raw.close()

    rt = serve(make_profile(simulator={"sessions": 1}), tmp_path, sim_lock, console)
    rt.journal.close()
    closed: api.CondorClosed = seen["closed"]
    (trade,) = seen["attached"]
    assert seen["engine"] == seen["attached"] == seen["from_day"]
    assert seen["after_day"] == []
    assert trade.id == closed.condor_id and trade.state == "closed"
    assert trade.exit_reason == "manual" and trade.realized_pnl == closed.realized_pnl
    assert trade.exit_debit == closed.exit_debit and trade.commissions == closed.commissions
    assert trade.label.endswith("C") and trade.quantity >= 1 and trade.credit is not None
    assert trade.opened_ts is not None and trade.closed_ts is not None
    assert seen["bad"] == {"id": 7, "error": "bad history request: since='yesterday'"}
