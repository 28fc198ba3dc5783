"""The pieces both ends share: the coalescing send queue and the check of incoming commands."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from condordesk.engine import api
from condordesk.engine.control.wire import Mailbox, valid_command


def drain(box: Mailbox[Any]) -> list[Any]:
    out = []
    while (item := box.pop()) is not None:
        out.append(item)
    return out


def test_a_mark_replaces_its_unsent_copy_and_moves_behind_newer_events() -> None:
    box: Mailbox[str] = Mailbox()
    box.put("mark c1 @1", key="c1")
    box.put("mark c2 @2", key="c2")
    box.put("closed c1 @3")
    box.put("mark c1 @4", key="c1")
    assert len(box) == 3
    # seqs stay increasing: the newer mark comes after the event it follows
    assert drain(box) == ["mark c2 @2", "closed c1 @3", "mark c1 @4"]
    box.put("mark c1 @5", key="c1")  # the copy already sent is not touched
    assert drain(box) == ["mark c1 @5"] and len(box) == 0


def test_dropping_keeps_only_what_must_arrive() -> None:
    box: Mailbox[str] = Mailbox()
    box.put("event 1")
    box.put("ack 1", droppable=False)
    box.put("mark", key="c1")
    box.put("event 2")
    assert box.drop_droppable() == 3
    assert len(box) == 1
    box.put("mark again", key="c1")
    assert drain(box) == ["ack 1", "mark again"]


@pytest.mark.parametrize(
    "command",
    [
        api.PauseEntries(origin="tui", reason="lunch"),
        api.ResumeEntries(origin="gui"),
        api.FlattenAll(origin="cli"),
        api.AcknowledgeAlerts(origin="telegram"),
        api.MoveStop(origin="tui", condor_id="c1", trigger=Decimal("2.40")),
        api.CloseCondor(origin="tui", condor_id="c1"),
        api.CloseCondor(origin="tui", condor_id="c1", limit=Decimal("0.85")),
        api.CancelStop(origin="gui", condor_id="c1"),
        api.ArmStops(origin="cli", condor_id="c1"),
    ],
)
def test_every_command_a_console_can_send_crosses_the_check(command: api.Command) -> None:
    assert valid_command(api.from_wire(api.to_wire(command))) is None


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        ({"type": "MoveStop", "origin": "tui", "condor_id": "c1", "trigger": "2.40"}, "trigger"),
        ({"type": "MoveStop", "origin": "tui", "condor_id": 7, "trigger": {"$dec": "2"}}, "id"),
        (
            {"type": "MoveStop", "origin": "tui", "condor_id": "c", "trigger": {"$dec": "NaN"}},
            "trig",
        ),
        ({"type": "CloseCondor", "origin": "tui", "condor_id": "c1", "limit": 0.85}, "limit"),
        ({"type": "PauseEntries", "origin": "engine"}, "origin"),
        ({"type": "PauseEntries", "origin": "mallory"}, "origin"),
        ({"type": "PauseEntries", "origin": "tui", "reason": None}, "reason"),
        ({"type": "EntriesResumed", "origin": "tui"}, "not a command"),
    ],
)
def test_a_malformed_command_is_named_and_refused(wire: dict[str, Any], why: str) -> None:
    problem = valid_command(api.from_wire(wire))
    assert problem is not None and why in problem
