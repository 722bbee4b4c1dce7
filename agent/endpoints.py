"""The trace-agent endpoints a tracer talks to, apart from any HTTP server.

``/v0.7/config`` mirrors ``ConfigHandler`` (``cmd/trace-agent/config/remote/config.go``):
POST **and GET** with a JSON body (dd-trace-go sends GET); a body that ``encoding/json`` cannot
decode into the request type (not JSON, or a wrong field type) -> **400**; every error of
``ClientGetConfigs`` (validation included) -> **500** with ``{"error": "..."}`` naming the
field; a body larger than ``max_body_bytes`` -> 413 (a model-only guard: the real handler
``io.Copy``s the whole body with no limit). The service never crashes on input.

``/info`` lists ``/v0.7/config`` in ``endpoints`` (ddtrace-py polls only then). The trace,
stats, telemetry, EVP, debugger, symdb and dogstatsd endpoints accept and discard their payload
with a 2xx, so that real tracers can point at this agent. ``/metrics`` and ``/health`` as in
docs/contracts.md.

:class:`Endpoints` answers with :class:`Answer` values; two front ends serve it: the asyncio
HTTP server of ``python -m agent`` (:mod:`agent.server`) and the FastAPI app of :mod:`agent.app`
(in-process tests, ``--http-server uvicorn``). A ``/v0.7/config`` request that the service can
answer at once (``RcService.serve_now``) is answered synchronously; only the others (a new
client's bypass, a busy lock, ``serve_cost_ms``) cost a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agent.errors import AgentError, Unavailable
from agent.metrics import AgentMetrics
from agent.policy import Lane, lane_of
from agent.response import Served
from agent.service import RcService
from agent.settings import Settings
from rc_protocol.clock import Clock
from rc_protocol.errors import WireError
from rc_protocol.looplag import watch_loop_lag
from rc_protocol.wire import ClientGetConfigsRequest, decode_request

log = logging.getLogger("agent.endpoints")

JSON = "application/json"
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"

DISCARD_PATHS = (
    "/v0.4/traces",
    "/v0.5/traces",
    "/v0.7/traces",
    "/v0.6/stats",
    "/debugger/v1/input",
    "/debugger/v1/diagnostics",
    "/symdb/v1/input",
    "/dogstatsd/v2/proxy",
)
DISCARD_PREFIXES = ("/telemetry/proxy/", "/evp_proxy/v2/", "/evp_proxy/v4/")
INFO_ENDPOINTS = [
    "/v0.3/traces",
    "/v0.4/traces",
    "/v0.5/traces",
    "/v0.7/traces",
    "/profiling/v1/input",
    "/telemetry/proxy/",
    "/v0.6/stats",
    "/v0.1/pipeline_stats",
    "/evp_proxy/v1/",
    "/evp_proxy/v2/",
    "/evp_proxy/v3/",
    "/evp_proxy/v4/",
    "/debugger/v1/input",
    "/debugger/v1/diagnostics",
    "/symdb/v1/input",
    "/dogstatsd/v1/proxy",
    "/dogstatsd/v2/proxy",
    "/v0.7/config",
    "/config/set",
]
CONFIG_METHODS = ("POST", "GET", "PUT")
DISCARD_METHODS = ("POST", "PUT")


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer: status, body and content type."""

    status: int
    body: bytes
    content_type: str = JSON


def json_answer(status: int, doc: object) -> Answer:
    """A JSON answer."""
    return Answer(status, json.dumps(doc).encode())


def error_answer(status: int, message: str) -> Answer:
    """``{"error": message}`` with ``status``."""
    return json_answer(status, {"error": message})


HEALTH = json_answer(200, {"status": "ok"})


def info_document(settings: Settings) -> dict[str, Any]:
    """The ``GET /info`` document, shaped like the trace-agent's."""
    return {
        "version": settings.agent_version,
        "git_commit": "model",
        "endpoints": INFO_ENDPOINTS,
        "feature_flags": [],
        "client_drop_p0s": True,
        "span_meta_structs": True,
        "long_running_spans": True,
        "evp_proxy_allowed_headers": [
            "Content-Type",
            "Accept-Encoding",
            "Content-Encoding",
            "User-Agent",
            "DD-CI-PROVIDER-NAME",
        ],
        "config": {
            "default_env": "none",
            "target_tps": 10,
            "max_eps": 200,
            "receiver_port": settings.port,
            "receiver_socket": "",
            "connection_limit": 0,
            "receiver_timeout": 5,
            "max_request_bytes": settings.max_body_bytes,
            "statsd_port": 8125,
            "max_memory": 0,
            "max_cpu": 0,
            "analyzed_spans_by_service": {},
            "obfuscation": {},
            "remote_configuration": {
                "policy": settings.policy,
                "refresh_interval_s": settings.refresh_interval_s,
            },
        },
        "peer_tags": None,
    }


def lane_hint(body: bytes) -> Lane:
    """Best-effort lane of a body that failed to decode (for metric labels only); any body,
    however malformed (nested past the recursion limit, not UTF-8), gives a lane."""
    try:
        doc = json.loads(body)
        products = doc["client"]["products"]
        if isinstance(products, list) and all(isinstance(p, str) for p in products):
            return lane_of(products)
    except (ValueError, KeyError, TypeError, RecursionError):
        pass
    return "standard"


def discard_answer(path: str) -> Answer:
    """What the trace-agent answers to a payload it would forward (here: dropped)."""
    if path.endswith("/traces"):
        return json_answer(200, {"rate_by_service": {"service:,env:": 1}})
    return json_answer(202 if "proxy" in path else 200, {})


ConfigResult = Answer | Awaitable[Answer]
"""``/v0.7/config``'s answer: at once, or after a wait the caller awaits."""

Handler = Callable[[str, bytes | None], ConfigResult]
"""An endpoint as a server calls it: (path, body) -> answer; a body of ``None`` was larger than
``max_body_bytes``."""

NOT_FOUND = json_answer(404, {"detail": "Not Found"})
METHOD_NOT_ALLOWED = json_answer(405, {"detail": "Method Not Allowed"})


class Endpoints:
    """The agent's endpoints over one :class:`RcService` (start and stop it with this).

    Decoded ``/v0.7/config`` bodies are kept by their bytes: a client sends the same body on
    every poll until its state changes (real clients re-encode the same state; the stub even
    keeps the bytes), and decoding is a deterministic function of the bytes, so the agent
    validates each distinct body once. Bodies that fail to decode are not kept (their error is
    raised again), and the agent never mutates a decoded request.
    """

    decoded_limit = 16384
    """Distinct bodies kept, the oldest forgotten first: a few per active client. (Emptying
    the map at once freed 16,384 requests in one go: a stall of the event loop.)"""

    def __init__(
        self, settings: Settings, service: RcService, metrics: AgentMetrics, clock: Clock
    ) -> None:
        self.settings = settings
        self.service = service
        self.metrics = metrics
        self.clock = clock
        self.info = json_answer(200, info_document(settings))
        self._lag_task: asyncio.Task[None] | None = None
        self._decoded: dict[bytes, ClientGetConfigsRequest] = {}
        self._valid: set[int] = set()  # ids of kept requests that passed validation
        self.decoded_hits = 0
        self.decoded_misses = 0
        self._routes: dict[str, tuple[tuple[str, ...], Handler]] = {
            "/v0.7/config": (CONFIG_METHODS, lambda _path, body: self.config(body)),
            "/info": (("GET",), lambda _path, _body: self.info),
            "/health": (("GET",), lambda _path, _body: HEALTH),
            "/metrics": (("GET",), lambda _path, _body: self.prometheus()),
        }
        for path in DISCARD_PATHS:
            self._routes[path] = (DISCARD_METHODS, _discard)

    def find(self, method: str, path: str) -> Handler | Answer:
        """The handler of ``method path``, or its 404/405 answer (the one routing table of
        every front end)."""
        entry = self._routes.get(path)
        if entry is None and path.startswith(DISCARD_PREFIXES):
            entry = (DISCARD_METHODS, _discard)
        if entry is None:
            return NOT_FOUND
        methods, handler = entry
        return handler if method in methods else METHOD_NOT_ALLOWED

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self, *, poll_loop: bool = True) -> None:
        """Start the service's poll loop and the event-loop lag watch."""
        if poll_loop:
            self.service.start()
        if self._lag_task is None and self.settings.loop_lag_interval_s > 0:
            self._lag_task = asyncio.get_running_loop().create_task(
                watch_loop_lag(
                    self.clock, self.settings.loop_lag_interval_s, self.metrics.loop_lag.observe
                ),
                name="agent-loop-lag",
            )

    async def stop(self) -> None:
        """Stop the lag watch and the service."""
        task, self._lag_task = self._lag_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.service.stop()

    # ---- endpoints -------------------------------------------------------------------------

    def prometheus(self) -> Answer:
        """``GET /metrics``."""
        self.metrics.active_clients.set(self.service.clients.count_active())
        return Answer(200, self.metrics.render(), PROMETHEUS)

    def config(self, body: bytes | None) -> ConfigResult:
        """``/v0.7/config`` with this body (``None``: larger than ``max_body_bytes``)."""
        t0 = self.clock.monotonic()
        if body is None:
            return self._done(
                t0,
                "standard",
                "error_too_large",
                error_answer(413, f"request body larger than {self.settings.max_body_bytes} bytes"),
            )
        try:
            request = self._decode(body)
        except WireError as exc:
            return self._done(t0, lane_hint(body), "error_decode", error_answer(400, str(exc)))
        except Exception as exc:  # the agent keeps serving whatever happens
            return self._internal(t0, "standard", exc)
        lane = lane_of(request.client.products) if request.client is not None else "standard"
        try:
            served = self.service.serve_now(request, lane, valid=id(request) in self._valid)
        except Exception as exc:
            return self._failed(t0, lane, exc)
        if served is not None:
            if request is self._decoded.get(body):
                self._valid.add(id(request))
            return self._served(t0, served)
        return self._later(t0, lane, request)

    def _decode(self, body: bytes) -> ClientGetConfigsRequest:
        request = self._decoded.get(body)
        if request is not None:
            self.decoded_hits += 1
            return request
        request = decode_request(body)
        self.decoded_misses += 1
        if len(self._decoded) >= self.decoded_limit:  # forget the oldest, one at a time
            oldest = next(iter(self._decoded))
            self._valid.discard(id(self._decoded.pop(oldest)))
        self._decoded[body] = request
        return request

    async def _later(self, t0: float, lane: Lane, request: ClientGetConfigsRequest) -> Answer:
        try:
            served = await self.service.client_get_configs(request)
        except Exception as exc:
            return self._failed(t0, lane, exc)
        return self._served(t0, served)

    def _served(self, t0: float, served: Served) -> Answer:
        encoded = served.encoded
        return self._done(t0, served.lane, encoded.outcome, Answer(200, encoded.body))

    def _failed(self, t0: float, lane: Lane, exc: Exception) -> Answer:
        if isinstance(exc, Unavailable):
            return self._done(t0, lane, "error_unavailable", error_answer(500, str(exc)))
        if isinstance(exc, AgentError):
            return self._done(t0, lane, "error_invalid", error_answer(500, str(exc)))
        return self._internal(t0, lane, exc)

    def _internal(self, t0: float, lane: Lane, exc: Exception) -> Answer:
        log.error("internal error on /v0.7/config", exc_info=exc)
        return self._done(t0, lane, "error_internal", error_answer(500, f"internal error: {exc!r}"))

    def _done(self, t0: float, lane: Lane, outcome: str, answer: Answer) -> Answer:
        self.metrics.requests_of[(lane, outcome)].inc()
        self.metrics.request_duration_of[lane].observe(self.clock.monotonic() - t0)
        return answer


def _discard(path: str, body: bytes | None) -> Answer:
    del body
    return discard_answer(path)
