"""A periodic reconciliation that finds the journal and the broker as they were reuses the
last analysis; anything changed at the broker, in the journal (by this engine or another
process), or in what the analysis depends on is analyzed afresh and found."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from condordesk.domain.options import OptionContract, Right
from condordesk.domain.orders import OrderRole, Position
from condordesk.engine.reconcile import Plan
from condordesk.engine.repair import PlanMemo, plan_for
from condordesk.store.journal import Journal
from tests.unit.test_journal import T0, record, request

DAY = date(2026, 11, 27)
ODD = OptionContract(DAY, Decimal(5500), Right.PUT)


class Broker:
    """The part of the Broker port a reconciliation reads, answering what a test sets."""

    def __init__(self) -> None:
        self.held: list[Position] = []
        self.reads = 0

    async def positions(self) -> list[Position]:
        self.reads += 1
        return list(self.held)

    async def open_orders(self) -> list[object]:
        return []

    async def executions(self) -> list[object]:
        return []

    async def settlement_price(self, day: date) -> Decimal | None:
        return None


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "j.sqlite3")
    yield j
    j.close()


def codes(plan: Plan) -> list[str]:
    return [f.code for f in plan.findings]


async def test_an_unchanged_journal_and_broker_reuse_the_analysis_and_changes_are_found(
    journal: Journal, tmp_path: Path
) -> None:
    broker, memo = Broker(), PlanMemo()

    async def check(**kw: object) -> list[str]:
        return codes(await plan_for(broker, journal, DAY, memo=memo, **kw))  # type: ignore[arg-type]

    assert await check() == []
    assert (await check(), memo.reused) == ([], 1)
    broker.held.append(Position(ODD, 2))  # only the broker changed
    assert (await check(), memo.reused) == (["unknown_position"], 1)
    assert (await check(), memo.reused) == (["unknown_position"], 2)
    assert broker.reads == 4  # the broker is read every time
    other = Journal(tmp_path / "j.sqlite3")  # another process writes the journal
    other.insert_condor(record("c1"))
    other.record_intent("c1", OrderRole.ENTRY, request("c1"), T0)
    other.close()
    assert await check() == ["intent_not_sent", "unknown_position"]
    assert memo.reused == 2
    journal.update_order("cd:c1:entry", status="cancelled", ts=T0)  # this engine writes it
    assert await check() == ["unknown_position"]
    assert (await check(), memo.reused) == (["unknown_position"], 3)
    assert (await check(watching=True), memo.reused) == (["unknown_position"], 3)
    assert (await check(in_flight={"cd:c2:entry"}), memo.reused) == (["unknown_position"], 3)
    assert codes(await plan_for(broker, journal, date(2026, 11, 30), memo=memo)) == [  # type: ignore[arg-type]
        "unknown_position"
    ]
    assert memo.reused == 3


async def test_a_reused_plan_is_a_copy(journal: Journal) -> None:
    broker, memo = Broker(), PlanMemo()
    broker.held.append(Position(ODD, 1))
    first = await plan_for(broker, journal, DAY, memo=memo)  # type: ignore[arg-type]
    first.findings.clear()
    again = await plan_for(broker, journal, DAY, memo=memo)  # type: ignore[arg-type]
    assert memo.reused == 1 and codes(again) == ["unknown_position"]
