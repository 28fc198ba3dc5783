"""The Broker port and its adapters (``sim`` in-process, ``ib`` for Interactive Brokers)."""
