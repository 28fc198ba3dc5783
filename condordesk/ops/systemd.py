"""The systemd notify protocol (``sd_notify``), spoken without a dependency.

Under ``Type=notify`` systemd passes the address of a Unix datagram socket in
``$NOTIFY_SOCKET`` (a path, or ``@name`` for an abstract socket). A service sends it
newline-separated ``KEY=VALUE`` assignments: ``READY=1`` once started, ``STATUS=<text>`` for
``systemctl status``, ``WATCHDOG=1`` at least once per ``WatchdogSec=`` (passed to the service
as ``$WATCHDOG_USEC``, for the process ``$WATCHDOG_PID``), and ``STOPPING=1`` when it begins to
shut down. Outside systemd there is no socket and every call here does nothing.

The engine knows nothing of this module: the composition root hands it a
:class:`Heartbeat` (a plain ``Callable[[str], None]`` taking the engine's status line), which
the engine calls from its main loop. The first call reports ``READY=1``; the following ones feed
the watchdog, so a main loop that hangs stops feeding it and systemd restarts the service.
When the engine knows it cannot trade safely and will not recover by itself (its journal has
refused writes for too long), it calls :meth:`Heartbeat.fail`: ``WATCHDOG=trigger`` tells
systemd at once that the watchdog failed, and the watchdog is fed no more.
Sending never raises: a vanished socket is logged once and then ignored, because a trading
engine must not stop for its supervisor's sake.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from loguru import logger

if TYPE_CHECKING:
    from condordesk.market.clock import Clock

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"
STATUS_MAX = 200
"""Longest STATUS text sent (``systemctl status`` shows one line)."""


def _address(value: str) -> str | None:
    """The socket address ``$NOTIFY_SOCKET`` names (abstract sockets start with ``@``), or
    None for an address this module does not speak (e.g. ``vsock:``)."""
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


class Notifier:
    """Sends notify messages to ``$NOTIFY_SOCKET``; a no-op when there is none.

    Args:
        address: the socket address as systemd writes it (a path or ``@abstract``); None
            or empty disables the notifier.
    """

    def __init__(self, address: str | None) -> None:
        self._address = _address(address) if address else None
        if address and self._address is None:
            logger.warning("NOTIFY_SOCKET {!r}: unsupported address, not notifying", address)
        self._failed = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        """The notifier for ``$NOTIFY_SOCKET`` in ``env`` (default: this process's)."""
        return cls((os.environ if env is None else env).get(NOTIFY_SOCKET))

    @property
    def address(self) -> str:
        """The socket address as systemd wrote it ("" when disabled)."""
        return "" if self._address is None else self._address.replace("\0", "@", 1)

    @property
    def enabled(self) -> bool:
        """Whether there is a socket to notify."""
        return self._address is not None

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=VALUE`` assignments in one datagram. Returns whether it was sent."""
        if self._address is None or not assignments:
            return False
        payload = "\n".join(assignments).encode("utf-8", "replace")
        try:  # a socket per message, like libsystemd's sd_notify: nothing held open
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(payload, self._address)
        except OSError as exc:
            if not self._failed:  # once: a supervisor that went away must not flood the log
                logger.warning("sd_notify to {!r} failed: {}", self._address, exc)
            self._failed = True
            return False
        return True

    def ready(self, status: str) -> bool:
        """``READY=1`` with a status line."""
        return self.send("READY=1", _status(status))

    def status(self, status: str) -> bool:
        """``STATUS=<status>``."""
        return self.send(_status(status))

    def watchdog(self) -> bool:
        """``WATCHDOG=1``: the service is alive."""
        return self.send("WATCHDOG=1")

    def stopping(self, status: str = "stopping") -> bool:
        """``STOPPING=1`` with a status line."""
        return self.send("STOPPING=1", _status(status))

    def watchdog_trigger(self, status: str) -> bool:
        """``WATCHDOG=trigger`` with a status line: the service failed its watchdog."""
        return self.send("WATCHDOG=trigger", _status(status))


def _status(text: str) -> str:
    line = " ".join(text.split())  # one line: systemd shows STATUS on a single line
    return f"STATUS={line[:STATUS_MAX]}"


def watchdog_seconds(env: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """The watchdog timeout systemd set for this process, in seconds, or None.

    ``$WATCHDOG_USEC`` applies only when ``$WATCHDOG_PID`` is unset or names this process (a
    child that inherited the environment must not think it is watched).
    """
    env = os.environ if env is None else env
    usec, for_pid = env.get(WATCHDOG_USEC, ""), env.get(WATCHDOG_PID, "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if for_pid and (not for_pid.isdigit() or int(for_pid) != (os.getpid() if pid is None else pid)):
        return None
    return int(usec) / 1_000_000


class Heartbeat:
    """The hook the engine calls from its main loop with its status line.

    The first call reports ``READY=1`` (the engine is connected and reconciled); every call
    after it sends ``WATCHDOG=1``, and the status line again when it changed.

    Args:
        notifier: where to send.
        interval_s: how often, in real seconds, the engine should call at least (half the
            watchdog timeout, or None without a watchdog); the composition root converts it
            to the engine's clock.
    """

    def __init__(self, notifier: Notifier, interval_s: float | None) -> None:
        self.notifier = notifier
        self.interval_s = interval_s
        self.ready = False
        self.failed = False
        self._last_status: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Heartbeat | None:
        """A heartbeat for this process when it runs under ``Type=notify``, else None."""
        notifier = Notifier.from_env(env)
        if not notifier.enabled:
            return None
        timeout = watchdog_seconds(env)
        return cls(notifier, timeout / 2 if timeout else None)

    def __call__(self, status: str) -> None:
        if not self.ready:
            self.notifier.ready(status)
            self.ready = True  # never READY twice, even if the first send failed
            self._last_status = status
            return
        if self.failed:  # the watchdog is failed for good: status lines only
            if status != self._last_status:
                self.notifier.status(status)
                self._last_status = status
            return
        if status != self._last_status:
            self.notifier.send("WATCHDOG=1", _status(status))
            self._last_status = status
        else:
            self.notifier.watchdog()

    def fail(self, status: str) -> None:
        """Fail the watchdog now (``WATCHDOG=trigger``) and feed it no more; systemd then
        treats the service as hung (and restarts it, if the unit says so)."""
        if not self.failed:
            self.failed = True
            self._last_status = status
            self.notifier.watchdog_trigger(status)

    def stopping(self, status: str = "stopping") -> None:
        """Report ``STOPPING=1`` (the engine was asked to stop)."""
        self.notifier.stopping(status)


class Supervised(Protocol):
    """What :func:`attach` needs of an engine: its hook and how often to call it."""

    heartbeat: Callable[[str], None] | None
    heartbeat_s: float | None
    heartbeat_failed: Callable[[str], None] | None


DEFAULT_BEAT_S = 60.0
"""How often the engine reports its status when systemd set no watchdog (real seconds)."""


def attach(
    engine: Supervised, clock: Clock, env: Mapping[str, str] | None = None
) -> Heartbeat | None:
    """Give ``engine`` a :class:`Heartbeat` when this process runs under ``Type=notify``.

    The interval is half the watchdog timeout in real seconds, converted to the engine's
    clock (a simulated clock running 120 times faster waits 120 times longer between beats).

    Returns:
        The heartbeat (to report ``STOPPING=1`` on a signal), or None outside systemd.
    """
    beat = Heartbeat.from_env(env)
    if beat is None:
        return None
    real_s = beat.interval_s or DEFAULT_BEAT_S
    engine.heartbeat = beat
    engine.heartbeat_failed = beat.fail
    engine.heartbeat_s = real_s / clock.loop_seconds(1.0)
    logger.info(
        "systemd: notifying {}, {}",
        beat.notifier.address,
        f"watchdog fed every {real_s:g}s" if beat.interval_s else "no watchdog",
    )
    return beat
