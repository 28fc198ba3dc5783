"""The in-process simulated SPX market and broker.

* :class:`SimMarket`: a seeded SPX path per session and an SPXW chain priced on demand.
* :class:`SimBroker`: the Broker port over it, with a combo matching engine, commissions,
  cash settlement at the close, and fault injection for tests.
"""

from condordesk.broker.sim.broker import SimBroker
from condordesk.broker.sim.fees import CommissionSchedule
from condordesk.broker.sim.market import SimMarket
from condordesk.broker.sim.model import Smile

__all__ = ["CommissionSchedule", "SimBroker", "SimMarket", "Smile"]
