"""The top of the window: a mode badge (SIM / PAPER / LIVE, the last in red), how the console
reaches the engine, the engine's and the broker's state, the next scheduled event, SPX, the
expected move and today's P&L; under it the banners (engine lost, open alerts, the answer to
the last command)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from console.events import left_working
from console.format import et_stamp, money, points
from console.model import next_text
from gui import theme
from gui.state import Model

_STATE_COLORS = {"armed": theme.GREEN, "paused": theme.AMBER, "stopped": theme.RED}


def _field(name: str) -> tuple[QLabel, QLabel]:
    label = QLabel(name)
    label.setStyleSheet(f"color: {theme.MUTED};")
    value = QLabel("—")
    value.setObjectName("headerValue")
    return label, value


def engine_state(model: Model) -> str:
    """The engine's state as the console knows it: ``unknown`` while the link is not live,
    ``stopped`` once the engine or its link has stopped."""
    if model.link == "stopped" or model.engine_state == "stopped":
        return "stopped"
    return model.engine_state if model.link == "live" else "unknown"


def window_title(model: Model) -> str:
    """The window's title, which a taskbar or a VNC desktop's window list shows: the mode,
    the profile, then the engine's state, how many condors are held and today's P&L (while
    the engine's data is shown; else how the console reaches it)."""
    mode = "LIVE" if model.badge == "live" else model.badge.upper()
    who = f"condordesk — {mode} {model.profile}"
    if model.link != "live":
        return f"{who} · engine {model.link}"
    return f"{who} · {engine_state(model)} · {len(model.held)} open · P&L {money(model.total_pnl)}"


class Header(QWidget):
    """The status bar at the top and the banners below it."""

    def __init__(self) -> None:
        super().__init__()
        self.badge = QLabel("SIM")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setMinimumWidth(74)
        self.where = QLabel("")
        self.where.setObjectName("headerValue")
        self.values: dict[str, QLabel] = {}
        # two rows, so the header fits a 1280 px desktop: who and what on top, the market and
        # the schedule below; the engine's state (every pause reason) wraps rather than widens
        first, second = QHBoxLayout(), QHBoxLayout()
        first.setContentsMargins(6, 4, 6, 0)
        second.setContentsMargins(6, 0, 6, 4)
        first.addWidget(self.badge)
        first.addWidget(self.where)
        for bar, fields in (
            (first, (("broker", "Broker"), ("time", "Engine time"))),
            (second, (("engine", "Engine"), ("next", "Next"), ("spx", "SPX"), ("em", "Exp. move"),
                      ("pnl", "P&L today"))),
        ):  # fmt: skip
            for key, name in fields:
                self._add_field(bar, key, name)
            bar.addStretch(1)
        self.values["engine"].setWordWrap(True)
        self.values["engine"].setMinimumWidth(380)
        rows = QVBoxLayout()
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        rows.addLayout(first)
        rows.addLayout(second)
        self.banner = QLabel("")
        self.banner.setObjectName("banner")
        self.alerts = QLabel("")
        self.alerts.setObjectName("alerts")
        self.alerts.setWordWrap(True)
        self.notice = QLabel("")
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        top = QWidget()
        top.setLayout(rows)
        top.setStyleSheet(f"background: {theme.PANEL};")
        layout.addWidget(top)
        for banner in (self.banner, self.alerts, self.notice):
            banner.hide()
            layout.addWidget(banner)

    def _add_field(self, bar: QHBoxLayout, key: str, name: str) -> None:
        sep = QFrame()
        sep.setFrameShape(QFrame.Shape.VLine)
        sep.setStyleSheet(f"color: {theme.GRID};")
        label, value = _field(name)
        self.values[key] = value
        bar.addWidget(sep)
        bar.addWidget(label)
        bar.addWidget(value, 1 if key == "engine" else 0)

    def draw(self, model: Model) -> None:
        """Show the model's header fields and banners."""
        mode = model.badge.lower()
        text, fg, bg = theme.MODE_BADGES.get(mode, (mode.upper(), theme.TEXT, theme.GRID))
        size = "14pt" if mode == "live" else "12pt"
        self.badge.setText(text)
        self.badge.setStyleSheet(
            f"background: {bg}; color: {fg}; font-weight: bold; font-size: {size}; "
            "padding: 2px 8px;"
        )
        how = "ATTACHED to engine" if model.attached else "EMBEDDED engine"
        account = f" · account {model.account}" if model.account else ""
        self.where.setText(f"{how} · profile {model.profile}{account}")
        self._values(model)
        self._banners(model)

    def _values(self, model: Model) -> None:
        v = self.values
        state = engine_state(model)
        stopped = state == "stopped"
        reasons = " · ".join(model.paused_reasons)
        paused = f": {reasons}" if reasons and state == "paused" else ""
        v["engine"].setText(f"{state}{paused}")
        v["engine"].setStyleSheet(f"color: {_STATE_COLORS.get(state, theme.TEXT)};")
        up = model.broker_connected
        v["broker"].setText("connected" if up else "DISCONNECTED")
        v["broker"].setStyleSheet(f"color: {theme.GREEN if up else theme.RED};")
        v["next"].setText("—" if stopped else (next_text(model) or "—"))
        v["spx"].setText(f"{model.spot:.2f}" if model.spot is not None else "—")
        v["em"].setText(f"±{points(model.expected_move)}" if model.expected_move else "n/a")
        total = model.total_pnl
        v["pnl"].setText(money(total))
        v["pnl"].setStyleSheet(f"color: {theme.pnl_color(float(total))};")
        v["time"].setText(et_stamp(model.ts))

    def _banners(self, model: Model) -> None:
        if model.link == "lost":
            self._show(self.banner, f"ENGINE LOST: {model.link_detail} — reconnecting (attempt "
                       f"{model.link_attempt}); trading goes on in the engine")  # fmt: skip
        elif model.link == "connecting" and model.link_attempt:
            self._show(self.banner, f"ENGINE LOST: reconnecting (attempt {model.link_attempt})…")
        elif model.link == "stopped":
            simulated = model.mode == "sim"
            watch = "" if simulated else ", but nothing monitors the condors"
            self._show(self.banner, f"ENGINE STOPPED: {model.link_detail}; "
                       f"{left_working(simulated)}{watch}")  # fmt: skip
        else:
            self.banner.hide()
        if model.alerts:
            shown = " · ".join(model.alerts[-3:])
            more = f" (+{len(model.alerts) - 3} more)" if len(model.alerts) > 3 else ""
            self._show(self.alerts, f"⚠ {len(model.alerts)} open alert(s): {shown}{more} — "
                       "Ack alerts (K) once handled")  # fmt: skip
        else:
            self.alerts.hide()

    @staticmethod
    def _show(label: QLabel, text: str) -> None:
        label.setText(text)
        label.show()

    def say(self, text: str, level: str) -> None:
        """The answer to the last command, coloured by its level (stays until the next)."""
        color = theme.LEVEL_COLORS.get(level, theme.TEXT)
        bg = "#5c1013" if level == "error" else theme.PANEL
        self.notice.setStyleSheet(f"color: {'#ffffff' if level == 'error' else color}; "
                                  f"background: {bg};")  # fmt: skip
        self._show(self.notice, text)
