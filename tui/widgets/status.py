"""The status bar on top of every screen: which engine and account, its state, SPX and the
day's P&L, what comes next, open alerts, and an unmistakable banner when the engine is lost
or the account is LIVE."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from console.format import et_stamp, money, price
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


def title_line(model: Model) -> Text:
    """Engine, account, link, engine state, broker, engine time."""
    badge, style = _MODE_BADGES.get(model.badge, (f" {model.mode or '?'} ", "reverse"))
    line = Text()
    line.append(badge, style=style)
    if model.real_money:
        line.append(" REAL MONEY ", style="bold red on white")
    line.append(f" {model.profile}", style="bold")
    line.append(f" · account {model.account or '—'}")
    line.append(" · ATTACHED to engine" if model.attached else " · EMBEDDED engine")
    line.append("  │  engine ")
    state = model.engine_state.upper()
    if model.engine_state == "paused" and model.paused_reasons:
        state = f"PAUSED: {' · '.join(model.paused_reasons)}"
    if model.link == "stopped" or model.engine_state == "stopped":  # it said it stopped
        line.append("STOPPED", style="bold red")
        line.append("  │  broker ")
        line.append("—")
    elif model.link != "live":  # what the engine does now is not known
        line.append(f"UNKNOWN (last seen {state})", style="bold red")
        line.append("  │  broker ")
        line.append("unknown", style="bold red")
    else:
        line.append(state, style=_STATE_STYLES.get(model.engine_state, "bold"))
        line.append("  │  broker ")
        if model.broker_connected:
            line.append("● connected", style="green")
        else:
            line.append("● DISCONNECTED", style="bold red")
    line.append(f"  │  {et_stamp(model.ts)}")
    return line


def market_line(model: Model) -> Text:
    """SPX, expected move, today's P&L, next scheduled event, alerts."""
    line = Text()
    line.append(" SPX ", style="bold")
    line.append(price(model.spot), style="bold")
    em = f"±{price(model.expected_move)}" if model.expected_move is not None else "n/a"
    line.append(f"  EM {em}")
    line.append("  │  P&L today ")
    total = money(model.total_pnl)
    line.append(total, style=f"bold {_pnl_style(total)}")
    line.append(f" (realized {money(model.realized_pnl)} · open {money(model.unrealized_pnl)})")
    upcoming = next_text(model)
    if model.link == "live" and model.engine_state != "stopped" and upcoming:
        line.append(f"  │  next: {upcoming}")
    if model.alerts:
        line.append("  │  ")
        line.append(f"⚠ {len(model.alerts)} alert(s): k", style="bold white on red")
    return line


def banner_text(model: Model) -> Text | None:
    """The red banner while the engine is not reachable (None when it is live)."""
    if model.link == "live":
        return None
    if model.link == "connecting" and model.link_attempt == 0:
        return Text(" Connecting to the engine… ", style="bold")
    if model.link == "stopped":
        text = Text(" ENGINE STOPPED ", style="bold white on red")
        text.append(
            f" {model.link_detail}. Nothing trades now; working stops stay at the broker. q quits.",
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
    StatusBar > Static { width: 1fr; height: 1; }
    StatusBar > #banner { display: none; }
    StatusBar.-lost > #banner { display: block; background: $error 30%; }
    StatusBar.-live { border-top: heavy red; background: $error 35%; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="market")
        yield Static(id="banner")

    def show(self, model: Model) -> None:
        """Render the model."""
        show(self.query_one("#title", Static), title_line(model))
        show(self.query_one("#market", Static), market_line(model))
        banner = banner_text(model)
        self.set_class(banner is not None, "-lost")
        self.set_class(model.real_money, "-live")
        if banner is not None:
            show(self.query_one("#banner", Static), banner)
