"""Composition root of the operator consoles: the engine handle a console gets.

``condordesk`` (no arguments) and ``condordesk tui --profile P`` call :func:`choose`: when an
engine of the profile is running (its control socket answers, or it holds the engine lock and
is still starting), the console attaches to it over the socket; otherwise it embeds an engine
of its own, built exactly like ``--autotrade`` builds one and serving the same control socket,
so other consoles and ``condordesk ctl`` can attach to it too.

Either way the console receives ``open_handle``: a callable returning an async context manager
that it enters inside its own running event loop and that yields an
:class:`~condordesk.engine.api.EngineHandle`. Attached, entering connects (and may be done
again after :class:`~condordesk.engine.api.EngineUnavailable` to reconnect) and leaving only
disconnects: closing a console never stops a headless engine. Embedded, entering takes the
engine lock and starts the engine; leaving stops it at a safe point (working stops stay at the
broker), closes the socket and releases the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any

from loguru import logger

from condordesk.app.bootstrap import Runtime, build_ib, build_sim
from condordesk.config import paths
from condordesk.config.profile import Profile
from condordesk.engine import api
from condordesk.engine.control import ControlServer, answers, attach, socket_path
from condordesk.engine.service import Engine
from condordesk.errors import CondordeskError, ConfigError
from condordesk.ops.logs import setup_logging
from condordesk.ops.runlock import EngineLock, EngineRunning, engine_running

OpenHandle = Callable[[], AbstractAsyncContextManager[api.EngineHandle]]
"""What a console receives: enter it (in the console's loop) to get an engine handle."""


class EmbeddedHandle:
    """The engine embedded in a console, as an :class:`~condordesk.engine.api.EngineHandle`
    that, like an attached one, raises ``EngineUnavailable`` once the engine has stopped."""

    def __init__(self, engine: Engine, task: asyncio.Task[Any]) -> None:
        self._engine = engine
        self._task = task
        self._first_seq = engine.bus.seq  # earlier runs' events replayed from the journal

    def snapshot(self) -> api.Snapshot:
        """The engine's current state."""
        return self._engine.snapshot()

    async def events(self, since: int = 0) -> AsyncIterator[api.Event]:
        """Events after ``since`` then live ones; after this run's ``EngineStopped``, raises
        ``EngineUnavailable``."""
        if self._task.done():
            raise api.EngineUnavailable(self._gone("stopped"))
        stream = self._engine.events(since)
        try:
            async for event in stream:
                yield event
                if isinstance(event, api.EngineStopped) and event.seq > self._first_seq:
                    raise api.EngineUnavailable(self._gone(event.reason))
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    async def submit(self, command: api.Command) -> api.Ack:
        """Carry out ``command``; raises ``EngineUnavailable`` once the engine has stopped."""
        if self._task.done():
            raise api.EngineUnavailable(self._gone("stopped"))
        try:
            return await self._engine.submit(command)
        except CondordeskError as exc:
            logger.opt(exception=exc).error("command {!r} failed", command)
            return api.Ack(False, f"accepted, then failed while carried out: {exc}")

    async def history(self, since: date | None = None) -> list[api.TradeRecord]:
        """The journal's finished condors; raises ``EngineUnavailable`` once the engine has
        stopped (its journal is closed)."""
        if self._task.done():
            raise api.EngineUnavailable(self._gone("stopped"))
        return await self._engine.history(since)

    def _gone(self, reason: str) -> str:
        if self._task.done() and not self._task.cancelled() and self._task.exception():
            return f"the embedded engine failed: {self._task.exception()}"
        return f"the embedded engine stopped ({reason})"


def _build(profile: Profile, live_confirmed: bool) -> Runtime:
    if profile.broker.kind == "sim":
        return build_sim(profile)
    return build_ib(profile, live_confirmed=live_confirmed)


def _log_to_file(profile: Profile, runtime: Runtime, level: str | None) -> None:
    """The embedded engine logs to its file only: the terminal belongs to the console."""
    log_file = (
        paths.ensure(paths.log_dir()) / f"{profile.name}.log" if profile.logging.file else None
    )
    setup_logging(
        level or profile.logging.level,
        runtime.clock,
        log_file,
        rotation=profile.logging.rotation,
        retention=profile.logging.retention,
        stderr=False,
    )


async def _stop(engine: Engine, task: asyncio.Task[Any]) -> None:
    """Stop the engine at its next safe point and wait for it (never cut it off mid-order)."""
    engine.request_stop()
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():  # the console's loop is going away: let the engine unwind
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        raise
    except Exception as exc:
        logger.opt(exception=exc).error("the embedded engine failed")


@contextlib.asynccontextmanager
async def embedded_engine(
    profile: Profile, *, live_confirmed: bool = False, log_level: str | None = None
) -> AsyncIterator[api.EngineHandle]:
    """Start an engine of ``profile`` in the running loop, serving its control socket, and
    yield its handle; on exit stop it, close the socket and release the engine lock.

    Raises:
        EngineUnavailable: an engine of the profile is already running, or this one cannot be
            built (the reason is in the message).
    """
    lock = EngineLock(profile.name)
    try:
        lock.acquire()
    except EngineRunning as exc:
        raise api.EngineUnavailable(f"{exc}; open the console again to attach to it") from exc
    try:
        try:
            # built in a thread: loading the calendar must not freeze the console's first frames
            runtime = await asyncio.to_thread(_build, profile, live_confirmed)
        except CondordeskError as exc:
            raise api.EngineUnavailable(f"cannot start the engine: {exc}") from exc
        try:
            _log_to_file(profile, runtime, log_level)
            async with runtime.alerts, ControlServer(runtime.engine, profile.name, lock=lock):
                task = asyncio.create_task(runtime.engine.run(), name=f"engine-{profile.name}")
                try:
                    yield EmbeddedHandle(runtime.engine, task)
                finally:
                    await _stop(runtime.engine, task)
        finally:
            runtime.journal.close()
    finally:
        lock.release()


def attached_opener(profile_name: str) -> OpenHandle:
    """Open handles on the running engine of ``profile_name`` (one connection each)."""

    def open_handle() -> AbstractAsyncContextManager[api.EngineHandle]:
        return attach(profile_name)

    return open_handle


def embedded_opener(
    profile: Profile, *, live_confirmed: bool = False, log_level: str | None = None
) -> OpenHandle:
    """Open an engine of ``profile`` embedded in the console (see :func:`embedded_engine`)."""

    def open_handle() -> AbstractAsyncContextManager[api.EngineHandle]:
        return embedded_engine(profile, live_confirmed=live_confirmed, log_level=log_level)

    return open_handle


def engine_is_running(profile_name: str) -> bool:
    """An engine of the profile answers on its socket, or holds the lock (still starting)."""
    return answers(socket_path(profile_name)) or engine_running(profile_name)


def choose(
    profile: Profile, *, live_confirmed: bool = False, log_level: str | None = None
) -> tuple[OpenHandle, bool]:
    """The console's ``open_handle`` and whether it attaches (True) or embeds (False).

    Raises:
        ConfigError: no engine is running and this profile cannot be embedded (a simulator at
            ``speed = "max"`` needs a virtual-time loop; a live profile needs ``--live``).
    """
    if engine_is_running(profile.name):
        logger.remove()  # nothing of ours may write over the console
        return attached_opener(profile.name), True
    if profile.broker.kind == "sim" and profile.simulator.speed == "max":
        raise ConfigError(
            f"profile {profile.name}: simulator.speed = 'max' runs in virtual time, which a "
            "console cannot follow; give a factor (e.g. --speed 120) or use --autotrade"
        )
    if profile.mode == "live" and not live_confirmed:
        raise ConfigError(
            f"profile {profile.name} trades a LIVE account ({profile.broker.account}): "
            "add --live to confirm"
        )
    logger.remove()
    return embedded_opener(profile, live_confirmed=live_confirmed, log_level=log_level), False
