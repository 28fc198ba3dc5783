"""How a phone alert names the exit of a closed condor."""

from __future__ import annotations

from decimal import Decimal

import pytest

from condordesk.engine import api
from condordesk.notify.base import Message
from condordesk.ops.alerts import AlertRouter


class Phone:
    """A notifier that keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def notify(self, message: Message) -> None:
        self.sent.append(message)


@pytest.mark.parametrize(
    ("reason", "words"),
    [("stop_limit", "stop (limit)"), ("stop_market", "stop (backup)")],
)
def test_a_stop_exit_is_named_by_its_order(reason: str, words: str) -> None:
    """The backup is a stop-limit capped at the wing width, not a market order: the alert
    says "backup"."""
    router = AlertRouter(Phone(), "live")  # type: ignore[arg-type]

    message = router.message_for(
        api.CondorClosed(
            condor_id="20261130-01",
            reason=reason,
            exit_debit=Decimal("9.80"),
            commissions=Decimal("5.20"),
            realized_pnl=Decimal("-875.20"),
        )
    )

    assert message is not None
    assert f"CLOSED 20261130-01: {words}\n" in message.text
    assert "market" not in message.text
