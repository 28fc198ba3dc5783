"""The console's widgets: each renders one part of the model (``show(model)``)."""

from tui.widgets.activity import ActivityPanel
from tui.widgets.condors import CondorTable
from tui.widgets.event_log import EventLog
from tui.widgets.pnl import PnlPanel
from tui.widgets.risk_panel import GreeksPanel, ProfilePanel
from tui.widgets.status import StatusBar

__all__ = [
    "ActivityPanel",
    "CondorTable",
    "EventLog",
    "GreeksPanel",
    "PnlPanel",
    "ProfilePanel",
    "StatusBar",
]
