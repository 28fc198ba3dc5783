"""The loopback TWS-protocol gateway backed by the simulated SPX market.

The real ``ib_async`` client connects to :class:`Gateway` on 127.0.0.1 and trades the
:class:`~condordesk.broker.sim.SimBroker` with no IB account. This package never imports
``ib_async``: it speaks the wire protocol (server version 178) as ib_async 2.1.0 decodes it.

Usage::

    gateway = Gateway(sim_broker, sim_clock, account="DU1234567")
    port = await gateway.start()          # 0 picks a free port
    ib = IB(); await ib.connectAsync("127.0.0.1", port, clientId=1)
    ...
    await gateway.stop()

or by hand: ``python -m condordesk.gateway --port 7497 --speed 60``.

Modules: ``codec`` (framing, field reading), ``contracts`` (conIds, contract blocks,
contractDetails), ``session`` (handshake, dispatch), ``server`` (Gateway), ``accounts``,
``marketdata``, ``history``, ``orders`` + ``orderwire`` + ``bags`` (orders and their
messages), ``faults`` (:class:`GatewayFaults`).

Requests served: startApi, reqCurrentTime, reqIds, reqPositions/cancelPositions,
reqAccountUpdates, reqAccountUpdatesMulti, reqCompletedOrders (end only), reqAutoOpenOrders,
reqContractDetails (SPX index, SPXW options), reqSecDefOptParams, reqMarketDataType,
reqMktData/cancelMktData (index last/close; option bid/ask then bid/ask/model greeks;
snapshots end with tickSnapshotEnd), reqHistoricalData (SPX daily bars), placeOrder (BAG
combos and single options; LMT, STP, STP LMT; DAY/GTC/FOK/IOC; OCA groups; a known order
id is a modification: cancel/replace), cancelOrder, reqGlobalCancel, reqOpenOrders,
reqAllOpenOrders, reqExecutions. Anything else is ignored (logged at debug).
"""

from condordesk.gateway.faults import GatewayFaults
from condordesk.gateway.server import Gateway

__all__ = ["Gateway", "GatewayFaults"]
