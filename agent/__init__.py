"""A Python model of the Datadog Agent's Remote Configuration service (``python -m agent``).

It reproduces, mechanism by mechanism, what ``pkg/config/remote/service/service.go`` and the
trace-agent's ``/v0.7/config`` handler do (``legacy`` policy), and the proposal's Part B
(``fastlane`` policy). Every constant is a setting whose default is the real one.

Modules, I/O at the edges, rules in the middle (all driven by an injected ``rc_protocol.clock``):

- ``settings``: frozen ``Settings`` (``RC_AGENT_*``, ``DD_REMOTE_CONFIGURATION_*`` aliases) and
  the real option validation (``Settings.resolve``);
- ``limiter`` (wall-clock aligned fixed window), ``backoff`` (``ExpBackoffPolicy``),
  ``clients`` (active clients, TTL), ``rendezvous`` (unbuffered channels), ``validate``
  (``validateRequest``), ``predicates`` (tracer predicates, semver constraints, expiry),
  ``store`` (director targets, files, roots), ``response`` (the tracer's response),
  ``policy`` (lanes; legacy vs fastlane);
- ``service``: ``RcService``, the lock, ``client_get_configs``, the poll loop, ``refresh``;
- ``backend_client``: the ``Backend`` protocol, ``HttpBackend`` and ``FakeBackend``;
- ``app`` (FastAPI ``create_app``), ``metrics`` (Prometheus), ``__main__`` (uvicorn).

Not modelled: TUF signature checks beyond the director targets', the config repository's own
metadata beyond its versions, the org status poller, config subscriptions, the CDN client.
"""
