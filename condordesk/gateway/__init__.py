"""The loopback TWS-protocol gateway backed by the simulated SPX market.

Any IB API client (ib_async 2.1.0, ib_insync 0.9.86, the official ibapi 9.81.1) connects to
:class:`Gateway` on 127.0.0.1 and trades the :class:`~condordesk.broker.sim.SimBroker` with
no IB account. This package never imports an IB client: it speaks the wire protocol at the
version agreed at the handshake (v157..178; older clients are refused with error 502), every
message encoded for that version (``versions``).

Usage::

    gateway = Gateway(sim_broker, sim_clock, account="DU1234567")
    port = await gateway.start()          # 0 picks a free port
    ib = IB(); await ib.connectAsync("127.0.0.1", port, clientId=1)
    ...
    await gateway.stop()

or by hand: ``python -m condordesk.gateway --port 7497 --speed 60``.

Modules: ``codec`` (framing, field reading, the read timeout), ``versions`` (the accepted
range, per-version encoding), ``contracts`` (conIds, contract blocks, contractDetails),
``session`` (handshake, dispatch, pacing), ``server`` (Gateway), ``ports`` (what the
request handlers need of the gateway and of a session, as Protocols: the handlers never
import ``session`` or ``server``), ``accounts`` + ``funds``
(account values that move, IB's margin check), ``marketdata``, ``history`` (daily, 1-min and
5-min bars, the prior close), ``orders`` + ``orderwire`` + ``translate`` + ``bags`` (orders
and their messages), ``whatif`` (margin answers, nothing placed), ``staging``
(transmit=False, brackets, orders held before the open), ``marketable`` (MKT orders),
``faults`` (:class:`GatewayFaults`).

Requests served: startApi, reqCurrentTime, reqIds, reqPositions/cancelPositions,
reqAccountUpdates, reqAccountUpdatesMulti, reqCompletedOrders (end only), reqAutoOpenOrders,
reqContractDetails (SPX index, SPXW options, a whole expiry without a strike),
reqSecDefOptParams, reqMarketDataType, reqMktData/cancelMktData (index last/close, the close
being the prior session's; option bid/ask then bid/ask/model greeks; snapshots end with
tickSnapshotEnd; lines limited per account), reqHistoricalData (SPX daily, 1-min, 5-min),
placeOrder (BAG combos and single options; LMT, MKT, STP, STP LMT; DAY/GTC/FOK/IOC; OCA
groups; whatIf; transmit=False; parent/child brackets; a known order id is a modification in
place), cancelOrder, reqGlobalCancel, reqOpenOrders, reqAllOpenOrders, reqExecutions. More
than 50 messages a second get error 100. Anything else is ignored (logged at debug).
"""

from condordesk.gateway.faults import GatewayFaults
from condordesk.gateway.server import Gateway

__all__ = ["Gateway", "GatewayFaults"]
