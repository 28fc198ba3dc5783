"""The console's keys: what each does, its footer label and how much the footer needs it
(on a narrow terminal the key bar keeps the most needed; the help screen lists them all)."""

from __future__ import annotations

KEYS: tuple[tuple[str, str, str, str], ...] = (
    # (keys, action, footer label, help text)
    ("question_mark,f1", "help", "Help", "This help"),
    ("q,ctrl+q", "quit", "Quit", "Quit (an attached console leaves the engine trading)"),
    ("1", "view('dashboard')", "Dash", "Dashboard: state, condors, greeks, risk, P&L, log"),
    ("2", "view('condor')", "Condor", "The selected condor in detail, with its orders and fills"),
    ("3", "view('orders')", "Orders", "All orders and fills"),
    ("4", "view('journal')", "Journal", "Today's and earlier condors; session results"),
    ("5", "view('log')", "Log", "The full log, open alerts on top"),
    ("left_square_bracket", "select(-1)", "", "Select the previous condor"),
    ("right_square_bracket", "select(1)", "", "Select the next condor"),
    ("p", "pause", "Pause", "Pause new entries (open condors stay managed)"),
    ("r", "resume", "Resume", "Resume new entries"),
    ("plus,equals_sign", "move_stop(1)", "Stop+", "Move the selected condor's stop up a tick"),
    ("minus", "move_stop(-1)", "Stop-", "Move the selected condor's stop down a tick"),
    ("s", "move_stop(0)", "Set stop", "Type a stop trigger for the selected condor"),
    ("x", "cancel_stop", "Cancel stop", "Cancel the selected condor's stop: UNPROTECTED"),
    ("a", "arm_stops", "Re-arm", "Re-arm the stops of the selected condor"),
    ("c", "close_market", "Close", "Close the selected condor at the market"),
    ("l", "close_limit", "Close lmt", "Close the selected condor at a limit you type"),
    ("F", "flatten", "FLATTEN", "Flatten all (shift+f): pause entries, close every condor"),
    ("k", "acknowledge", "Ack", "Acknowledge the open alerts"),
)
HELP_EXTRA: tuple[tuple[str, str], ...] = (
    ("↑ ↓", "Select a condor in the dashboard table"),
    ("y / n, Esc", "In a confirmation: send / cancel (Cancel has the focus)"),
    ("↑ ↓ in a price box", "Step the price by the 0.05 combo tick; or type it; Enter sends"),
)

PRIORITY: dict[str, int] = {
    "help": 10, "quit": 10, "flatten": 9, "pause": 8, "resume": 8, "move_stop(1)": 7,
    "move_stop(-1)": 7, "cancel_stop": 7, "arm_stops": 7, "close_market": 6, "acknowledge": 6,
    "move_stop(0)": 5, "close_limit": 4,
}  # fmt: skip
"""How much the key bar needs each action's key (others: 3)."""
_NAMES = {
    "plus,equals_sign": "+",
    "minus": "-",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "question_mark,f1": "? / F1",
    "q,ctrl+q": "q",
}


def key_hints() -> list[tuple[int, str, str]]:
    """``(priority, key, label)`` of every key the bar shows, in the bar's order."""
    hints = []
    for keys, action, label, _ in KEYS:
        if label:
            key = _NAMES.get(keys, keys).split(" / ")[0]
            hints.append((PRIORITY.get(action, 3), key, label))
    return hints


def help_keys() -> list[tuple[str, str]]:
    """Every key and what it does (the help screen's table)."""
    rows = [(_NAMES.get(keys, keys), text) for keys, _, _, text in KEYS]
    return rows + list(HELP_EXTRA)
