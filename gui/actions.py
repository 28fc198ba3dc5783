"""The operator's actions: what each does, its shortcut, and whether it needs a condor. The
window binds them to the toolbar, the condors table's context menu and the keyboard."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action: its name (the window's ``act_<name>`` method), label, shortcuts and help."""

    name: str
    label: str
    keys: tuple[str, ...]
    help: str
    on_condor: bool = False  # in the condors table's context menu
    danger: bool = False


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("pause", "Pause", ("P",), "Pause new entries (open condors stay managed)"),
    ActionSpec("resume", "Resume", ("R",), "Resume new entries"),
    ActionSpec("stop_up", "Stop +0.05", ("+", "="), "Move the selected condor's stop up a tick",
               on_condor=True),
    ActionSpec("stop_down", "Stop −0.05", ("-",), "Move the selected condor's stop down a tick",
               on_condor=True),
    ActionSpec("set_stop", "Set stop…", ("S",), "Type a stop trigger for the selected condor",
               on_condor=True),
    ActionSpec("cancel_stop", "Cancel stop", ("X",),
               "Cancel the selected condor's stop: the position becomes UNPROTECTED",
               on_condor=True, danger=True),
    ActionSpec("arm_stops", "Re-arm stops", ("A",), "Re-arm the stops of the selected condor",
               on_condor=True),
    ActionSpec("close_market", "Close at market", ("C",),
               "Close the selected condor at the market", on_condor=True, danger=True),
    ActionSpec("close_limit", "Close at limit…", ("L",),
               "Close the selected condor at a limit you type", on_condor=True),
    ActionSpec("flatten", "FLATTEN", ("Shift+F",),
               "Flatten all: pause entries and close every condor at the market", danger=True),
    ActionSpec("acknowledge", "Ack alerts", ("K",), "Acknowledge the open alerts"),
    ActionSpec("export", "Export PNG", ("Ctrl+E",), "Export a chart as a PNG image"),
    ActionSpec("help", "Help", ("F1", "?"), "Every action and its keys"),
    ActionSpec("quit", "Quit", ("Ctrl+Q",),
               "Quit (an attached console leaves the engine trading)"),
)  # fmt: skip

ENGINE_ACTIONS = frozenset(a.name for a in ACTIONS if a.name not in ("export", "help", "quit"))
"""Actions that send a command (disabled while the engine is not connected)."""


def help_rows() -> list[tuple[str, str]]:
    """(keys, what the action does) for the help dialog."""
    rows = [(" / ".join(a.keys), a.help) for a in ACTIONS]
    rows.append(("right-click a condor", "The condor's actions"))
    rows.append(("Esc", "Cancel a confirmation (Cancel has the focus; nothing is sent)"))
    return rows
