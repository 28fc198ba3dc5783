"""The console core: what both operator consoles (the Textual ``tui`` and the PySide6 ``gui``)
need, written once.

* :mod:`console.format`: money, prices, points, New York times;
* :mod:`console.model`: the console's model of the engine and the reducer that folds a
  :class:`~condordesk.engine.api.Snapshot` and each event into it;
* :mod:`console.events`: the log line of each engine event;
* :mod:`console.commands`: operator overrides as proposals (the exact command and what the
  engine does with it, for the confirmation);
* :mod:`console.link`: the engine link (snapshot, events, reconnect with a bounded backoff).

Pure Python over :mod:`condordesk.engine.api`, :mod:`condordesk.domain` and
:mod:`condordesk.config` only (an import-linter contract): no UI toolkit, no engine internals.
"""
