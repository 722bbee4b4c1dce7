"""Simulated tracers as Locust users, on Locust workers: the ``locust`` runtime's fleet.

One Locust user is one tracer: `tracer_stub.tracer.SimulatedTracer` (the stub's RC client, its
policies, permit pools and fast lane, and the OpenFeature provider), run on greenlets
(`gevent_tasks`) and polling through Locust's gevent HTTP client (`transport`). Nothing of the
client's rules lives here.

- ``locustfile.py``: what every worker runs (``locust --worker -f <it> --master-host ...``),
  also on other machines; ``python -m tracer_locust.worker`` is the same with the harness's
  ``--host/--port`` for the worker's ``/metrics``.
- ``python -m tracer_locust.master``: the master the harness starts (Locust as a library): waits
  for the workers, gives each a range of tracer indexes, releases the fleet, writes Locust's CSV.
- `control`: the typed messages between master and workers and the master's ``/status``
  (no Locust import: the harness reads them).

Importing this package imports neither Locust nor gevent (Locust monkey-patches the process).
"""
