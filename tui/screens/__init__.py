"""The console's screens: five views of the model, the help, and the confirmation modals."""

from tui.screens.condor import CondorScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.help import HelpScreen
from tui.screens.journal import JournalScreen
from tui.screens.log import LogScreen
from tui.screens.orders import OrdersScreen
from tui.screens.price import PriceScreen

__all__ = [
    "CondorScreen",
    "ConfirmScreen",
    "DashboardScreen",
    "HelpScreen",
    "JournalScreen",
    "LogScreen",
    "OrdersScreen",
    "PriceScreen",
]
