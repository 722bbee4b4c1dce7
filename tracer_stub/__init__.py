"""Simulated tracers for the rc-fastlane harness: an RC client and an OpenFeature provider each.

Modules, from the wire up:

- ``client.policy``: the scheduling rules of the ``legacy``, ``phase1`` and ``fastlane``
  policies and libdatadog's permit pools; pure, driven by the times passed in.
- ``client.core``: one RC client's state, requests and response validation (sans-IO,
  libdatadog ``fetch_once``).
- ``client.transport``: the `Transport` protocol, a keep-alive HTTP/1.1 client, a fake.
- ``client.driver``: the asyncio loops running policy + core over a transport, per lane.
- ``provider``: the OpenFeature provider fed by FFE_FLAGS (openfeature-sdk 0.10).
- ``tracer``: one simulated tracer's boot and timings; ``host``: the tracers of a process, the
  start barrier and ``/metrics``; ``metrics``; ``settings``; ``__main__`` (``python -m
  tracer_stub``).

Errors derive from `tracer_stub.errors.StubError`.
"""
