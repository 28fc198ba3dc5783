"""Helpers for console tests: what the terminal shows, as text, and bounded waits."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot

_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>')


def screen_text(app: App[object]) -> str:
    """The terminal as the operator sees it, one line per row (from Textual's own SVG)."""
    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for m in _TEXT.finditer(svg):
        rows.setdefault(float(m.group(2)), []).append(
            (float(m.group(1)), html.unescape(m.group(3)))
        )
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            line = line.ljust(round(x / 12.2)) + text
        lines.append(line.replace("\xa0", " ").rstrip())
    return "\n".join(lines)


async def until(
    pilot: Pilot[object],
    predicate: Callable[[], bool],
    what: str | Callable[[], str],
    limit_s: float = 10.0,
) -> None:
    """Let the app run until ``predicate`` holds; fail after ``limit_s`` seconds (``what``
    names the condition, or is called then to describe what was seen)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(
                f"timed out waiting for {what if isinstance(what, str) else what()}"
            )
        await pilot.pause()


async def until_shown(pilot: Pilot[object], *texts: str, limit_s: float = 10.0) -> str:
    """Wait until every one of ``texts`` is on the screen; returns the screen."""
    shown = ""

    def visible() -> bool:
        nonlocal shown
        shown = screen_text(pilot.app)
        return all(t in shown for t in texts)

    try:
        await until(pilot, visible, f"{texts!r} on screen", limit_s)
    except AssertionError:
        raise AssertionError(f"not on screen: {texts!r}\n--- screen ---\n{shown}") from None
    return shown


class Gate:
    """An injected ``sleep`` that waits until the test opens it (reconnection backoff)."""

    def __init__(self) -> None:
        self.waiting = 0
        self._open = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.waiting += 1
        await self._open.wait()
        self._open.clear()

    def open(self) -> None:
        self._open.set()
