"""The status bar on top of every screen: which engine and account, its state, SPX and the
day's P&L, what comes next, open alerts, and an unmistakable banner when the engine is lost
or the account is LIVE."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from console.events import left_working
from console.format import et_stamp, et_time, money, price
from console.model import Model, next_text
from tui.widgets.live import show

_STATE_STYLES = {
    "armed": "bold green",
    "paused": "bold yellow",
    "hibernating": "bold cyan",
    "stopped": "bold red",
    "starting": "bold",
}
_MODE_BADGES = {
    "live": (" LIVE ACCOUNT ", "bold white on red"),
    "paper": (" PAPER ", "bold black on yellow"),
    "sim": (" SIM ", "bold black on cyan"),
}


def _pnl_style(value: object) -> str:
    text = str(value)
    return "red" if text.startswith("-") else ("green" if text.startswith("+") else "")


WIDE = 10_000
"""Width a line is composed for when no terminal width is known (nothing is dropped)."""
Piece = tuple[int, Text]
"""A part of a status line and its priority: the lowest go first when the line is too wide."""


def fit(pieces: list[Piece], width: int) -> Text:
    """The pieces in order, leaving out the least important (of equals, the longest) until
    the line fits ``width``."""
    kept = list(pieces)
    while len(kept) > 1 and sum(t.cell_len for _, t in kept) > width:
        kept.remove(min(kept, key=lambda piece: (piece[0], -piece[1].cell_len)))
    line = Text(no_wrap=True, overflow="crop")
    for _, text in kept:
        line.append_text(text)
    return line


def _piece(text: str, style: str = "") -> Text:
    return Text(text, style=style)


def _engine_state(model: Model) -> list[Piece]:
    state = model.engine_state.upper()
    if model.engine_state == "paused" and model.paused_reasons:
        state = f"PAUSED: {' · '.join(model.paused_reasons)}"
    engine = Text("  │  engine ")
    broker = Text("  │  broker ")
    if model.link == "stopped" or model.engine_state == "stopped":  # it said it stopped
        engine.append("STOPPED", style="bold red")
        broker.append("—")
    elif model.link != "live":  # what the engine does now is not known
        engine.append(f"UNKNOWN (last seen {state})", style="bold red")
        broker.append("unknown", style="bold red")
    else:
        engine.append(state, style=_STATE_STYLES.get(model.engine_state, "bold"))
        connected = model.broker_connected
        broker.append("● connected" if connected else "● DISCONNECTED",
                      style="green" if connected else "bold red")  # fmt: skip
    return [(8, engine), (7, broker)]


def title_line(model: Model, width: int = WIDE) -> Text:
    """Engine, account, link, engine state, broker, engine time (the clock always stays:
    on a narrow terminal the account and the link give way first)."""
    badge, style = _MODE_BADGES.get(model.badge, (f" {model.mode or '?'} ", "reverse"))
    pieces: list[Piece] = [(10, _piece(badge, style))]
    if model.real_money:
        pieces.append((10, _piece(" REAL MONEY ", "bold red on white")))
    pieces.append((5, _piece(f" {model.profile}", "bold")))
    pieces.append((3, _piece(f" · account {model.account or '—'}")))
    pieces.append((2, _piece(" · ATTACHED to engine" if model.attached else " · EMBEDDED engine")))
    pieces += _engine_state(model)
    clock = et_stamp(model.ts) if width >= 130 else f"{et_time(model.ts)} ET"
    pieces.append((9, _piece(f"  │  {clock}")))
    return fit(pieces, width)


def market_line(model: Model, width: int = WIDE) -> Text:
    """SPX, expected move, today's P&L, next scheduled event, alerts."""
    em = f"±{price(model.expected_move)}" if model.expected_move is not None else "n/a"
    total = money(model.total_pnl)
    pnl = Text("  │  P&L today ")
    pnl.append(total, style=f"bold {_pnl_style(total)}")
    split = f" (realized {money(model.realized_pnl)} · open {money(model.unrealized_pnl)})"
    pieces: list[Piece] = [
        (9, _piece(f" SPX {price(model.spot)}", "bold")),
        (4, _piece(f"  EM {em}")),
        (10, pnl),
        (2, _piece(split)),
    ]
    upcoming = next_text(model)
    if model.link == "live" and model.engine_state != "stopped" and upcoming:
        pieces.append((5, _piece(f"  │  next: {upcoming}")))
    if model.alerts:
        pieces.append((10, _piece("  │  ")))
        pieces.append((10, _piece(f"⚠ {len(model.alerts)} alert(s): k", "bold white on red")))
    return fit(pieces, width)


def banner_text(model: Model) -> Text | None:
    """The red banner while the engine is not reachable (None when it is live)."""
    if model.link == "live":
        return None
    if model.link == "connecting" and model.link_attempt == 0:
        return Text(" Connecting to the engine… ", style="bold")
    if model.link == "stopped":
        text = Text(" ENGINE STOPPED ", style="bold white on red")
        text.append(
            f" {model.link_detail}. Nothing trades now; {left_working(model.mode == 'sim')}. "
            "q quits.",
            style="bold",
        )
        return text
    what = "ENGINE LOST" if model.link == "lost" else "RECONNECTING"
    text = Text(f" {what} ", style="bold white on red")
    text.append(
        f" {model.link_detail} — retrying (attempt {model.link_attempt}). "
        "Trading is not affected by the console; the data below is stale.",
        style="bold",
    )
    return text


class StatusBar(Vertical):
    """Top of every screen."""

    DEFAULT_CSS = """
    StatusBar { height: auto; background: $panel; }
    StatusBar > Static { width: 1fr; height: 1; text-wrap: nowrap; text-overflow: clip; }
    StatusBar > #banner { display: none; height: auto; text-wrap: wrap; }
    StatusBar.-lost > #banner { display: block; background: $error 30%; }
    StatusBar.-live { border-top: heavy red; background: $error 35%; }
    """

    _model: Model | None = None

    def on_resize(self) -> None:
        if self._model is not None:
            self.show(self._model)

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="market")
        yield Static(id="banner")

    def show(self, model: Model) -> None:
        """Render the model, each line fitted to the terminal's width."""
        self._model = model
        width = self.content_size.width or WIDE
        show(self.query_one("#title", Static), title_line(model, width))
        show(self.query_one("#market", Static), market_line(model, width))
        banner = banner_text(model)
        self.set_class(banner is not None, "-lost")
        self.set_class(model.real_money, "-live")
        if banner is not None:
            show(self.query_one("#banner", Static), banner)
