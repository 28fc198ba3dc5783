"""The control channel: the engine API (snapshot, events since seq, submit) over a Unix socket.

Every running engine serves it (:class:`ControlServer`) at ``runtime_dir()/engine-<profile>.sock``,
mode 0600, with the peer's uid checked by ``SO_PEERCRED``: only the engine's own user may
connect. Consoles and ``condordesk ctl`` attach with :func:`attach`, which gives an
:class:`AttachedHandle`: an :class:`~condordesk.engine.api.EngineHandle` that looks exactly like
the embedded engine, and raises :class:`~condordesk.engine.api.EngineUnavailable` once the
socket is lost. Consoles never import this package: the composition root hands them a handle.

Wire protocol (version :data:`PROTOCOL`): newline-delimited JSON objects whose payloads are
:func:`~condordesk.engine.api.to_wire` data.

* On connect the engine sends ``{"hello": {"protocol", "profile", "pid", "snapshot"}}``, or
  ``{"refused": reason}`` and closes.
* Requests carry a client-chosen integer ``id``:
  ``{"id", "op": "snapshot"}`` -> ``{"id", "snapshot"}``;
  ``{"id", "op": "submit", "command"}`` -> ``{"id", "ack"}``;
  ``{"id", "op": "history", "since": "YYYY-MM-DD" | null}`` -> ``{"id", "history": [trade]}``
  (the journal's finished condors; version 2);
  ``{"id", "op": "events", "since"}`` -> a stream of ``{"id", "event"}`` (journaled history
  after ``since``, then live events) until ``{"id", "op": "cancel"}`` or the connection ends.
* What one client may cost is bounded (:class:`Limits`): at most ``max_clients`` attached;
  beyond them ``reserved`` command-only connections (their hello carries ``commands_only``:
  the snapshot and commands, nothing else, closed after ``command_idle_s`` idle; the oldest
  idle one makes way for a newcomer, so ``ctl`` always gets through); beyond those,
  ``{"refused": reason}`` at once. Requests beyond ``rate`` a second wait unread; a client
  whose queued bytes (snapshots included) pass half of ``max_buffered`` is not read until it
  reads; a write it does not take within ``write_timeout_s`` disconnects it. The snapshot is
  serialised once per event seq. At start the soft open-files limit is raised to the hard
  one and the caps are fitted under it.
* A slow client never blocks the engine. Each connection has a bounded send queue
  (:data:`MAX_QUEUED` frames) where a mark replaces its own older, unsent copy. When the queue
  is full, the queued event frames are dropped and each of the client's streams gets a
  ``Resync`` carrying a fresh snapshot; no event at or before the snapshot's seq follows it. A
  client that does not even read its replies is disconnected. The attached client applies the
  same rule to its own queue (a console that does not consume its events gets a ``Resync``).
* A client that sends garbage (not JSON, not a request, an unknown op) is dropped with a log
  line; the engine goes on. A malformed command is answered with a rejected ack and never
  reaches the engine. Commands keep the ``origin`` the client set (any front-end origin; not
  ``engine``) and are journaled by the engine like every command.

Timeouts are event-loop time (like the desk's and the broker's), never the wall clock.
"""

from __future__ import annotations

from condordesk.engine.control.client import AttachedHandle, attach
from condordesk.engine.control.limits import Limits
from condordesk.engine.control.server import ControlServer
from condordesk.engine.control.wire import (
    CONNECT_TIMEOUT_S,
    MAX_QUEUED,
    PROTOCOL,
    ControlError,
    PeerCred,
    answers,
    peer_allowed,
    peer_credentials,
    socket_path,
)

__all__ = [
    "CONNECT_TIMEOUT_S",
    "MAX_QUEUED",
    "PROTOCOL",
    "AttachedHandle",
    "ControlError",
    "ControlServer",
    "Limits",
    "PeerCred",
    "answers",
    "attach",
    "peer_allowed",
    "peer_credentials",
    "socket_path",
]
