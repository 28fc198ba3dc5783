"""The Interactive Brokers adapter: the Broker port over ib_async (the only package that
imports ib_async).

* :mod:`.broker` - :class:`IBBroker`, the port's implementation;
* :mod:`.session` - connection life cycle, retries, contract cache;
* :mod:`.quotes` - market-data lines within a budget, shared between callers;
* :mod:`.pacing` - client-side message pacing on the injected clock;
* :mod:`condordesk.broker.stream` (shared with the simulator) - per-caller event queues;
* :mod:`.events` - ib_async events to broker events;
* :mod:`.translate` - the one module of tables and pure conversion functions;
* :mod:`.errors` - IB error codes sorted into named sets;
* :mod:`.logs` - ib_async's logging routed into loguru.
"""

from condordesk.broker.ib.broker import IBBroker
from condordesk.broker.ib.logs import route_ib_logging
from condordesk.broker.ib.session import ClientIdInUse

__all__ = ["ClientIdInUse", "IBBroker", "route_ib_logging"]
