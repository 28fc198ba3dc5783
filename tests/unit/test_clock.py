"""The simulated clock on the virtual-time event loop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from datetime import datetime, timedelta
from typing import Any

import pytest

from condordesk.market.clock import ET, SimClock
from condordesk.market.vtime import POLL_EVERY, VirtualTimeEventLoop, run_virtual

START = datetime(2026, 11, 23, 9, 30, tzinfo=ET)  # a Monday's open
SESSION = timedelta(hours=6, minutes=30)


def loop_time() -> float:
    return asyncio.get_running_loop().time()


# --- the virtual loop -----------------------------------------------------------------------------


def test_run_virtual_runs_on_a_virtual_time_loop_and_returns_the_result() -> None:
    async def main() -> tuple[bool, float, float]:
        before = loop_time()
        await asyncio.sleep(3600)
        return isinstance(asyncio.get_running_loop(), VirtualTimeEventLoop), before, loop_time()

    is_virtual, before, after = run_virtual(main())
    assert is_virtual
    assert after - before == 3600


def test_timeouts_use_virtual_time() -> None:
    async def main() -> float:
        before = loop_time()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), timeout=90)
        return loop_time() - before

    assert run_virtual(main()) == 90


# --- SimClock -------------------------------------------------------------------------------------


def test_naive_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SimClock(datetime(2026, 11, 23, 9, 30))  # noqa: DTZ001 (the point of the test)


@pytest.mark.parametrize("speed", [0.0, -1.0])
def test_speed_must_be_positive(speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        SimClock(START, speed)


def test_clock_starts_at_start_in_utc_and_reports_et() -> None:
    clock = SimClock(START)

    async def main() -> tuple[datetime, datetime]:
        return clock.now(), clock.now_et()

    now, now_et = run_virtual(main())
    assert now == START
    assert now.utcoffset() == timedelta(0)
    assert now_et.tzinfo is ET
    assert (now_et.hour, now_et.minute) == (9, 30)


@pytest.mark.parametrize("seconds", [0.5, 10, 30, 3600, 2 * 86400])
def test_now_advances_by_exactly_the_slept_time(seconds: float) -> None:
    clock = SimClock(START)

    async def main() -> timedelta:
        before = clock.now()
        await clock.sleep(seconds)
        return clock.now() - before

    assert run_virtual(main()) == timedelta(seconds=seconds)


def test_a_sleep_before_the_first_read_still_counts() -> None:
    clock = SimClock(START)

    async def main() -> datetime:
        await clock.sleep(60)
        return clock.now()

    assert run_virtual(main()) == START + timedelta(seconds=60)


def test_sleep_until_wakes_at_that_time_and_a_past_time_returns_at_once() -> None:
    clock = SimClock(START)
    wake = START + timedelta(minutes=15)

    async def main() -> tuple[datetime, datetime, float]:
        await clock.sleep_until(wake)
        at_wake = clock.now()
        before = loop_time()
        await clock.sleep_until(START)
        return at_wake, clock.now(), loop_time() - before

    at_wake, after_past, waited = run_virtual(main())
    assert at_wake == wake
    assert after_past == wake
    assert waited == 0


@pytest.mark.parametrize("speed", [2.0, 4.0, 60.0])
def test_speed_n_makes_loop_time_advance_by_one_nth(speed: float) -> None:
    clock = SimClock(START, speed)

    async def main() -> tuple[timedelta, float]:
        clock.now()
        before = loop_time()
        await clock.sleep(600)
        return clock.now() - START, loop_time() - before

    simulated, loop_elapsed = run_virtual(main())
    assert loop_elapsed == pytest.approx(600 / speed)
    assert simulated.total_seconds() == pytest.approx(600)
    assert clock.loop_seconds(600) == pytest.approx(600 / speed)


def test_hibernate_jumps_without_advancing_loop_time() -> None:
    clock = SimClock(START, jump_idle=True)
    tomorrow = datetime(2026, 11, 24, 9, 27, tzinfo=ET)

    async def main() -> tuple[datetime, float]:
        clock.now()
        before = loop_time()
        await clock.hibernate_until(tomorrow)
        return clock.now(), loop_time() - before

    now, loop_elapsed = run_virtual(main())
    assert now == tomorrow
    assert loop_elapsed == 0


def test_hibernate_jump_keeps_the_clock_running_afterwards() -> None:
    clock = SimClock(START, jump_idle=True)
    tomorrow = datetime(2026, 11, 24, 9, 27, tzinfo=ET)

    async def main() -> datetime:
        await clock.hibernate_until(tomorrow)
        await clock.sleep(180)
        return clock.now()

    assert run_virtual(main()) == tomorrow + timedelta(minutes=3)


@pytest.mark.parametrize("speed", [1.0, 8.0])
def test_hibernate_sleeps_when_not_jumping(speed: float) -> None:
    clock = SimClock(START, speed, jump_idle=False)
    wake = START + timedelta(hours=2)

    async def main() -> tuple[datetime, float]:
        clock.now()
        before = loop_time()
        await clock.hibernate_until(wake)
        return clock.now(), loop_time() - before

    now, loop_elapsed = run_virtual(main())
    assert now == wake
    assert loop_elapsed == 7200 / speed


def test_hibernate_until_the_past_returns_at_once() -> None:
    clock = SimClock(START)

    async def main() -> tuple[datetime, float]:
        clock.now()
        before = loop_time()
        await clock.hibernate_until(START - timedelta(hours=1))
        return clock.now(), loop_time() - before

    assert run_virtual(main()) == (START, 0)


def test_now_et_follows_a_jump_at_the_same_loop_time() -> None:
    clock = SimClock(START, jump_idle=True)
    tomorrow = datetime(2026, 11, 24, 9, 27, tzinfo=ET)

    async def main() -> tuple[datetime, datetime, datetime]:
        before = clock.now_et()
        await clock.hibernate_until(tomorrow)
        return before, clock.now_et(), clock.now()

    before, after, now = run_virtual(main())
    assert before == START
    assert after == tomorrow
    assert after.tzinfo is ET
    assert now == tomorrow


def test_reads_in_one_loop_step_agree_and_the_next_step_moves_on() -> None:
    clock = SimClock(START)

    async def main() -> tuple[datetime, datetime, datetime]:
        first, second = clock.now(), clock.now()
        await clock.sleep(0.25)
        return first, second, clock.now()

    first, second, later = run_virtual(main())
    assert first == second == START
    assert later == START + timedelta(seconds=0.25)


# --- sleepers (waits the engine can cut short) ----------------------------------------------------


@pytest.mark.parametrize(("speed", "seconds"), [(1.0, 30.0), (4.0, 30.0), (1.0, 0.5)])
def test_a_sleeper_is_done_after_exactly_its_clock_seconds(speed: float, seconds: float) -> None:
    clock = SimClock(START, speed)

    async def main() -> tuple[timedelta, float]:
        before, loop_before = clock.now(), loop_time()
        await clock.sleeper(seconds)
        return clock.now() - before, loop_time() - loop_before

    waited, loop_elapsed = run_virtual(main())
    assert waited == timedelta(seconds=seconds)
    assert loop_elapsed == pytest.approx(seconds / speed)


def test_a_sleeper_before_the_first_read_still_counts() -> None:
    clock = SimClock(START)

    async def main() -> datetime:
        await clock.sleeper(60)
        return clock.now()

    assert run_virtual(main()) == START + timedelta(seconds=60)


def test_a_zero_sleeper_yields_once_and_does_not_move_time() -> None:
    clock = SimClock(START)
    order: list[str] = []

    async def other() -> None:
        order.append("other")

    async def main() -> datetime:
        clock.now()
        task = asyncio.create_task(other())
        await clock.sleeper(0)
        order.append("woke")
        await task
        return clock.now()

    assert run_virtual(main()) == START
    assert order == ["other", "woke"]


def test_cancelling_a_sleeper_wakes_its_waiter_at_once_and_drops_its_timer() -> None:
    clock = SimClock(START)

    async def main() -> tuple[bool, float, int]:
        loop = asyncio.get_running_loop()
        clock.now()
        before = loop_time()
        sleeper = clock.sleeper(3600)
        loop.call_later(5, sleeper.cancel)
        cancelled = False
        try:
            await sleeper
        except asyncio.CancelledError:
            cancelled = True
        await asyncio.sleep(0)  # the cancelled timer's clean-up runs
        live = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
        return cancelled, loop_time() - before, len(live)

    cancelled, waited, live_timers = run_virtual(main())
    assert cancelled
    assert waited == 5
    assert live_timers == 0


# --- a whole session ----------------------------------------------------------------------------


def test_a_full_session_of_ten_second_sleeps_in_several_tasks() -> None:
    clock = SimClock(START)
    steps = int(SESSION.total_seconds() // 10)  # 2340

    async def ticker(period: int) -> list[datetime]:
        seen = []
        for _ in range(int(SESSION.total_seconds()) // period):
            await clock.sleep(period)
            seen.append(clock.now())
        return seen

    async def main() -> tuple[list[list[datetime]], datetime]:
        clock.now()
        results = await asyncio.gather(ticker(10), ticker(10), ticker(10), ticker(30))
        return list(results), clock.now()

    results, end = run_virtual(main())

    assert end == START + SESSION
    assert end.astimezone(ET).hour == 16
    for period, seen in zip((10, 10, 10, 30), results, strict=True):
        assert len(seen) == steps * 10 // period
        assert seen == [START + timedelta(seconds=period * (i + 1)) for i in range(len(seen))]


def test_real_io_is_delivered_while_another_task_sleeps_an_hour() -> None:
    clock = SimClock(START)
    a, b = socket.socketpair()

    async def main() -> tuple[bytes, float, float]:
        loop = asyncio.get_running_loop()
        read_at: list[float] = []
        woke_at: list[float] = []

        async def sleeper() -> None:
            await clock.sleep(3600)
            woke_at.append(loop.time())

        async def reader() -> bytes:
            data = await loop.sock_recv(b, 16)  # waits on the selector: nothing sent yet
            read_at.append(loop.time())
            return data

        async def writer() -> None:
            await clock.sleep(1)
            await loop.sock_sendall(a, b"ping")

        base = loop.time()
        data, *_ = await asyncio.gather(reader(), sleeper(), writer())
        return data, read_at[0] - base, woke_at[0] - base

    for s in (a, b):
        s.setblocking(False)
    try:
        data, read_at, woke_at = run_virtual(main())
    finally:
        a.close()
        b.close()

    assert data == b"ping"
    assert read_at == 1  # read as soon as it was written, not after the hour-long jump
    assert woke_at == 3600


def test_a_busy_loop_polls_its_wake_up_pipe_once_in_poll_every_iterations() -> None:
    """Iterations with callbacks ready (no time passes) skip the poll when nothing but the
    loop's own wake-up pipe is registered; a jump of time always polls."""

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        inner = loop._selector._inner  # type: ignore[attr-defined]
        real = inner.select
        polls: list[float | None] = []

        def counted(timeout: float | None = None) -> list[Any]:
            polls.append(timeout)
            return real(timeout)  # type: ignore[no-any-return]

        inner.select = counted
        for _ in range(10 * POLL_EVERY):
            await asyncio.sleep(0)
        busy = len(polls)
        await asyncio.sleep(1)
        return busy, len(polls) - busy

    busy, on_jump = run_virtual(main())
    assert busy <= 10 + 1
    assert on_jump >= 1


def test_a_signal_is_handled_while_callbacks_keep_the_loop_busy() -> None:
    async def main() -> int:
        loop = asyncio.get_running_loop()
        got: list[int] = []
        loop.add_signal_handler(signal.SIGUSR1, got.append, 1)
        try:
            os.kill(os.getpid(), signal.SIGUSR1)
            for spins in range(10 * POLL_EVERY):
                if got:
                    return spins
                await asyncio.sleep(0)
            return -1
        finally:
            loop.remove_signal_handler(signal.SIGUSR1)

    spins = run_virtual(main())
    assert 0 <= spins <= POLL_EVERY + 2


def test_a_timer_re_armed_at_the_same_instant_cannot_freeze_virtual_time() -> None:
    """A throttle that re-arms at exactly its deadline and compares with '>' would spin forever
    if virtual time never moved while callbacks are ready."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.0
        done = loop.create_future()

        def check() -> None:
            if loop.time() > deadline:
                done.set_result(loop.time())
            else:
                loop.call_at(deadline, check)

        loop.call_at(deadline, check)
        return await asyncio.wait_for(done, 5)

    assert 1.0 < run_virtual(main()) < 1.01
