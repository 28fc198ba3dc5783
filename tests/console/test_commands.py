"""Overrides as proposals: the exact command, and what the confirmation says."""

from __future__ import annotations

from decimal import Decimal

import pytest

from condordesk.engine import api
from tests.tui.fakes import snapshot, view
from tui import commands as cmds
from tui.state import Model, apply_snapshot

D = Decimal


def model_of(*views: api.CondorView, **changes: object) -> Model:
    model = Model(profile="sim", attached=True)
    apply_snapshot(model, snapshot(*views, **changes))  # type: ignore[arg-type]
    return model


def test_every_command_is_sent_from_the_tui_and_spelled_out_exactly() -> None:
    p = cmds.move_stop(view(), D("3.10"))
    assert p.command == api.MoveStop(origin="tui", condor_id="20261130-01", trigger=D("3.10"))
    assert p.wire == "MoveStop(condor_id='20261130-01', trigger=3.10, origin='tui')"
    assert cmds.close_at_market(view()).wire == (
        "CloseCondor(condor_id='20261130-01', limit=None, origin='tui')"
    )


def test_moving_a_stop_says_what_replaces_it() -> None:
    text = "\n".join(cmds.move_stop(view(), D("3.10")).lines)
    assert "Stop trigger 2.90 -> 3.10." in text
    assert "stop-limit at 3.10 (limit 3.60) and a stop-market backup at 3.40" in text
    low = "\n".join(cmds.move_stop(view(mark=D("1.20")), D("1.00")).lines)
    assert "a trigger at or below it fires at once" in low


def test_cancelling_a_stop_warns_that_the_position_is_unprotected() -> None:
    p = cmds.cancel_stop(view())
    assert p.danger and p.warning is not None and "UNPROTECTED" in p.warning


@pytest.mark.parametrize(
    "build",
    [cmds.cancel_stop, cmds.arm_stops, cmds.close_at_market,
     lambda v: cmds.move_stop(v, D(3)), lambda v: cmds.close_at_limit(v, D(1))],
)  # fmt: skip
def test_condor_overrides_need_an_open_condor(build: object) -> None:
    with pytest.raises(cmds.NotPossible, match="no condor selected"):
        build(None)  # type: ignore[operator]
    with pytest.raises(cmds.NotPossible, match="is closing, not open"):
        build(view(state="closing"))  # type: ignore[operator]


def test_a_stop_steps_by_the_combo_tick_and_stays_positive() -> None:
    assert cmds.stepped_trigger(view(), 1) == D("2.95")
    assert cmds.stepped_trigger(view(), -3) == D("2.75")
    assert cmds.stepped_trigger(view(), 0) == D("2.90")
    with pytest.raises(cmds.NotPossible, match="stay positive"):
        cmds.stepped_trigger(view(stop_trigger=D("0.05")), -1)
    with pytest.raises(cmds.NotPossible, match="re-arm it first"):
        cmds.stepped_trigger(view(stop_trigger=None), 1)


@pytest.mark.parametrize(
    ("text", "error"),
    [("", "nothing is not a price"), ("abc", "abc is not a price"), ("0", "positive"),
     ("-1.00", "positive"), ("3.47", "multiple of the 0.05"), ("1e9", "below 1000"),
     ("NaN", "positive")],
)  # fmt: skip
def test_typed_prices_are_checked(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        cmds.parse_price(text)


def test_a_typed_price_is_kept_to_the_cent() -> None:
    assert str(cmds.parse_price(" 3.4 ")) == "3.40"


def test_a_limit_close_shows_the_pnl_if_it_fills() -> None:
    text = "\n".join(cmds.close_at_limit(view(quantity=2), D("0.80")).lines)
    assert "One buy-back order at a limit of 0.80" in text and "P&L +$130.00" in text


def test_flatten_lists_only_open_condors_and_ack_lists_the_alerts() -> None:
    model = model_of(view(), view("c0", state="closed"), open_alerts=["orphan: 6100C held"])
    text = "\n".join(cmds.flatten(model).lines)
    assert "condor 20261130-01" in text and "c0" not in text
    assert cmds.flatten(model).command == api.FlattenAll(origin="tui")
    assert "  orphan: 6100C held" in cmds.acknowledge(model).lines


def test_pause_and_resume_say_what_they_change() -> None:
    paused = model_of(view(), state="paused", paused_reason="daily max loss (-1500.00)")
    assert "This lifts the pause: daily max loss (-1500.00)." in cmds.resume(paused).lines
    assert cmds.pause(paused).command == api.PauseEntries(origin="tui", reason="operator")
