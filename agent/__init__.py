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
- ``service``: ``RcService``, the lock (``lock``), ``client_get_configs`` and ``serve_now``;
  ``refresh``: its poll loop and ``refresh()``;
- ``backend_client``: the ``Backend`` protocol, ``HttpBackend`` and ``FakeBackend``;
- ``endpoints`` (what each path answers, apart from any server), ``server`` (the HTTP/1.1
  server of ``python -m agent``: httptools on the event loop), ``app`` (the same endpoints as a
  FastAPI app: in-process tests, ``--http-server uvicorn``), ``metrics`` (Prometheus),
  ``__main__``.

Not modelled: TUF signature checks beyond the director targets', the config repository's own
metadata beyond its versions, the org status poller, config subscriptions, the CDN client.
"""
