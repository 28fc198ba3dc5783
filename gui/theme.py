"""Colours and the style sheet: a dark desk theme, profit green, loss red, alerts amber, and a
LIVE badge nobody can miss."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BG = "#17191e"
PANEL = "#1f2228"
GRID = "#2c3038"
TEXT = "#d9dce3"
MUTED = "#8a909c"
GREEN = "#35c77b"
RED = "#ff5a5f"
AMBER = "#ffb020"
BLUE = "#4ea1ff"
VIOLET = "#b58cff"
CYAN = "#34c6d3"
SERIES = (BLUE, VIOLET, CYAN, "#f28fbd", "#9bd25f", "#f2a65a")
"""Line colours of the condors, in order."""

MODE_BADGES = {
    "live": ("LIVE ACCOUNT\nREAL MONEY", "#ffffff", "#c4141b"),
    "paper": ("PAPER", "#111111", AMBER),
    "sim": ("SIM", "#ffffff", "#2f6f8f"),
}
"""Mode → (text, foreground, background) of the header badge."""

LEVEL_COLORS = {
    "info": TEXT,
    "ok": GREEN,
    "warning": AMBER,
    "critical": RED,
    "error": RED,
}

STYLE = f"""
QWidget {{ background: {BG}; color: {TEXT}; font-size: 10pt; }}
QMainWindow::separator {{ background: {GRID}; width: 3px; height: 3px; }}
QToolBar {{ background: {PANEL}; border: 0; spacing: 2px; padding: 2px; }}
QToolButton {{ padding: 3px 7px; border: 1px solid {GRID}; border-radius: 3px; }}
QToolButton:hover {{ background: #2b3040; }}
QToolButton:disabled {{ color: #5a5f69; }}
QToolButton#danger {{ color: {RED}; border-color: #6a2a2d; font-weight: bold; }}
QTabWidget::pane {{ border: 1px solid {GRID}; }}
QTabBar::tab {{ background: {PANEL}; padding: 4px 12px; border: 1px solid {GRID}; }}
QTabBar::tab:selected {{ background: #2b3040; font-weight: bold; }}
QTableView {{ background: {PANEL}; alternate-background-color: #23262d;
             gridline-color: {GRID}; selection-background-color: #2f4a6e; }}
QHeaderView::section {{ background: #262a31; color: {MUTED}; border: 0;
                        border-right: 1px solid {GRID}; padding: 2px 4px; }}
QPlainTextEdit {{ background: {PANEL}; font-family: monospace; font-size: 9pt; }}
QLabel#panelTitle {{ color: {MUTED}; font-weight: bold; padding: 1px 2px; }}
QLabel#headerValue {{ font-weight: bold; }}
QLabel#banner {{ background: #5c1013; color: #ffffff; font-weight: bold; padding: 5px; }}
QLabel#alerts {{ background: #4a3408; color: #ffd27a; font-weight: bold; padding: 4px; }}
QLabel#notice {{ padding: 4px; font-weight: bold; }}
QPushButton {{ padding: 4px 12px; border: 1px solid {GRID}; border-radius: 3px;
              background: #2a2e36; }}
QPushButton:default {{ border-color: {BLUE}; }}
QPushButton#send {{ background: #1f4f7a; }}
QPushButton#sendDanger {{ background: #8a1c21; color: #ffffff; font-weight: bold; }}
QDateEdit, QComboBox, QDoubleSpinBox {{ background: {PANEL}; border: 1px solid {GRID};
                                        padding: 2px 4px; }}
"""


def apply(app: QApplication) -> None:
    """The dark palette and the style sheet, for the whole application."""
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, BG),
        (QPalette.ColorRole.Base, PANEL),
        (QPalette.ColorRole.AlternateBase, "#23262d"),
        (QPalette.ColorRole.Text, TEXT),
        (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Button, "#2a2e36"),
        (QPalette.ColorRole.ButtonText, TEXT),
        (QPalette.ColorRole.Highlight, "#2f4a6e"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, PANEL),
        (QPalette.ColorRole.ToolTipText, TEXT),
    ):
        palette.setColor(role, QColor(color))
    app.setPalette(palette)
    app.setStyleSheet(STYLE)


def pnl_color(value: float) -> str:
    """Green for a profit, red for a loss, plain for zero."""
    return GREEN if value > 0 else RED if value < 0 else TEXT
