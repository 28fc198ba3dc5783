"""Test support shared by the gateway, IB-adapter and broker-contract suites.

* :mod:`tests.support.sim`: the simulated exchange (SimBroker on a SimClock), the test
  calendar, the account, condors around the money;
* :mod:`tests.support.gateway`: the loopback gateway, IBBroker construction, ib_async error
  log capture;
* :mod:`tests.support.waiting`: bounded waits on conditions and an event recorder.
"""
