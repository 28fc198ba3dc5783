"""condordesk: an SPX 0DTE iron-condor autotrader for Interactive Brokers.

The package is the engine: domain types, market facts, pure strategy and risk rules, the
broker port with its adapters, the SQLite journal and the autotrader service. No UI toolkit is
imported anywhere inside it; the consoles in ``tui`` and ``gui`` use ``condordesk.engine.api``.
"""

__version__ = "0.1.0"
