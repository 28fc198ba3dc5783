"""App-level messages: the engine link worker and command workers post these to the app."""

from __future__ import annotations

from textual.message import Message

from condordesk.engine import api
from console.commands import Proposal


class EngineEventsReady(Message):
    """Engine events are waiting in the app's inbox (posted once per burst, not per event)."""


class EngineLinkChanged(Message):
    """The link to the engine changed: ``connecting``, ``live`` or ``lost``."""

    def __init__(self, link: str, detail: str = "", attempt: int = 0) -> None:
        super().__init__()
        self.link = link
        self.detail = detail
        self.attempt = attempt


class CommandAnswered(Message):
    """The engine answered a confirmed command (``ack``), or it could not be sent
    (``ack`` is None and ``error`` says why)."""

    def __init__(self, proposal: Proposal, ack: api.Ack | None, error: str = "") -> None:
        super().__init__()
        self.proposal = proposal
        self.ack = ack
        self.error = error
