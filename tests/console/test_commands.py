"""Overrides as proposals: the exact command, and what the confirmation says."""

from __future__ import annotations

from decimal import Decimal

import pytest

from condordesk.engine import api
from console import commands as cmds
from console.events import describe
from console.model import Model, apply_snapshot
from tests.tui.fakes import snapshot, view

D = Decimal
tui = cmds.Proposer("tui")


def model_of(*views: api.CondorView, **changes: object) -> Model:
    model = Model(profile="sim", attached=True)
    apply_snapshot(model, snapshot(*views, **changes))  # type: ignore[arg-type]
    return model


def test_every_command_is_sent_from_the_tui_and_spelled_out_exactly() -> None:
    p = tui.move_stop(view(), D("3.10"))
    assert p.command == api.MoveStop(origin="tui", condor_id="20261130-01", trigger=D("3.10"))
    assert p.wire == "MoveStop(condor_id='20261130-01', trigger=3.10, origin='tui')"
    assert tui.close_at_market(view()).wire == (
        "CloseCondor(condor_id='20261130-01', limit=None, origin='tui')"
    )


def test_moving_a_stop_says_the_working_pair_is_modified_in_place() -> None:
    text = "\n".join(tui.move_stop(view(), D("3.10")).lines)
    assert "Stop trigger 2.90 → 3.10." in text
    assert "modifies the working stop pair in place" in text
    assert "the stop-limit to 3.10 (limit 3.60) and the backup to 3.40" in text
    assert "(paying at most the wing width, 10.00)" in text
    assert "Same orders, same OCA group" in text and "cancels" not in text
    low = "\n".join(tui.move_stop(view(mark=D("1.20")), D("1.00")).lines)
    assert "a trigger at or below it fires at once" in low


def test_cancelling_a_stop_warns_that_the_position_is_unprotected() -> None:
    p = tui.cancel_stop(view())
    assert p.danger and p.warning is not None and "UNPROTECTED" in p.warning
    assert p.command == api.CancelStop(origin="tui", condor_id="20261130-01")


@pytest.mark.parametrize(
    "build",
    [tui.cancel_stop, tui.arm_stops, tui.close_at_market,
     lambda v: tui.move_stop(v, D(3)), lambda v: tui.close_at_limit(v, D(1))],
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
    text = "\n".join(tui.close_at_limit(view(quantity=2), D("0.80")).lines)
    assert "One buy-back order at a limit of 0.80" in text and "P&L +$130.00" in text


def test_flatten_says_what_the_engine_does_and_lists_only_open_condors() -> None:
    model = model_of(view(), view("c0", state="closed"), open_alerts=["orphan: 6100C held"])
    flatten = tui.flatten(list(model.condors.values()))
    text = "\n".join(flatten.lines)
    assert "Condor 20261130-01" in text and "c0" not in text
    assert "pauses new entries, cancels working entry orders, buys back every open condor" in text
    assert "re-checks the broker until the book is flat" in text
    assert flatten.command == api.FlattenAll(origin="tui")
    assert "  orphan: 6100C held" in tui.acknowledge(model.alerts, model.paused_reasons).lines


def test_resume_says_a_risk_limit_stays_and_pause_lists_every_reason() -> None:
    reasons = ["operator", "daily max loss (-1500.00)"]
    paused = model_of(view(), state="paused", paused_reason="; ".join(reasons),
                      paused_reasons=reasons)  # fmt: skip
    assert paused.paused_reasons == reasons
    resume = tui.resume(paused.paused_reasons)
    assert "This lifts the pause: operator." in resume.lines
    assert "Entries STAY paused: daily max loss (-1500.00) (a resume does not lift it)." in (
        resume.lines
    )
    assert resume.command == api.ResumeEntries(origin="tui")
    pause = tui.pause(paused.paused_reasons)
    assert "Entries are already paused (operator; daily max loss (-1500.00))." in pause.lines
    assert pause.command == api.PauseEntries(origin="tui", reason="operator")
    assert cmds.Proposer("gui").pause([]).command == api.PauseEntries(
        origin="gui", reason="operator"
    )


@pytest.mark.parametrize(
    ("simulated", "said", "not_said"),
    [(True, "The simulator runs in this process and ends with it", "stay at the broker"),
     (False, "Working stops stay at the broker, but open condors are not monitored",
      "simulator")],
)  # fmt: skip
def test_quitting_an_embedded_engine_says_what_keeps_working(
    simulated: bool, said: str, not_said: str
) -> None:
    proposal = cmds.quit_embedded(simulated=simulated)
    text = " ".join(proposal.lines)
    assert said in text and not_said not in text
    assert proposal.command is None and proposal.danger
    stopped = describe(api.EngineStopped(reason="done"), simulated=simulated)
    assert stopped is not None and stopped[0] == "warning"
    assert ("simulator ended" in stopped[1]) == simulated
    assert ("stops stay at the broker" in stopped[1]) != simulated
