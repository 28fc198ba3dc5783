"""The log pane: engine events in words, alerts highlighted; appends only new lines."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from console.format import et_time
from console.model import LogLine, Model

LEVEL_STYLES = {
    "info": "",
    "ok": "green",
    "warning": "bold yellow",
    "critical": "bold white on red",
    "error": "bold red",
}


def log_text(line: LogLine) -> Text:
    """One log line: time, then the text in its level's style."""
    text = Text(f"{et_time(line.ts)} ", style="dim")
    text.append(line.text, style=LEVEL_STYLES.get(line.level, ""))
    return text


class EventLog(RichLog):
    """A log of what the engine did, as it happens."""

    def __init__(self, *, id: str | None = None, max_lines: int = 1000) -> None:
        super().__init__(id=id, max_lines=max_lines, wrap=True, markup=False)
        self._shown = 0  # model.log_total at the last render

    def show(self, model: Model) -> None:
        """Append the lines added since the last render."""
        new = model.log_total - self._shown
        if new <= 0:
            return
        for line in list(model.log)[-min(new, len(model.log)) :]:
            self.write(log_text(line))
        self._shown = model.log_total
