"""The agent's HTTP layer: the trace-agent endpoints a tracer talks to (FastAPI).

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
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from agent.backend_client import Backend, HttpBackend
from agent.errors import AgentError, Unavailable
from agent.metrics import AgentMetrics
from agent.policy import Lane, lane_of
from agent.service import RcService
from agent.settings import Settings
from rc_protocol.clock import Clock, SystemClock
from rc_protocol.errors import WireError
from rc_protocol.wire import decode_request

log = logging.getLogger("agent.app")

DISCARD_ENDPOINTS = (
    "/v0.4/traces",
    "/v0.5/traces",
    "/v0.7/traces",
    "/v0.6/stats",
    "/telemetry/proxy/{path:path}",
    "/evp_proxy/v2/{path:path}",
    "/evp_proxy/v4/{path:path}",
    "/debugger/v1/input",
    "/debugger/v1/diagnostics",
    "/symdb/v1/input",
    "/dogstatsd/v2/proxy",
)
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


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or ``None`` when it is larger than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _lane_hint(body: bytes) -> Lane:
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


def create_app(
    settings: Settings,
    clock: Clock | None = None,
    backend: Backend | None = None,
    *,
    metrics: AgentMetrics | None = None,
    start_poll_loop: bool = True,
) -> FastAPI:
    """Build the agent app; the RC service's poll loop runs for the app's lifespan."""
    clock = clock or SystemClock()
    metrics = metrics or AgentMetrics(settings.run_id)
    if backend is None:
        backend = HttpBackend(
            settings.backend_url, settings.api_key, timeout_s=settings.backend_timeout_s
        )
    service = RcService(settings, clock=clock, backend=backend, metrics=metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if start_poll_loop:
            service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(title="rc-fastlane agent model", lifespan=lifespan)
    app.state.service = service
    app.state.metrics = metrics
    app.state.settings = settings

    async def config_endpoint(request: Request) -> Response:
        t0 = clock.monotonic()
        lane: Lane = "standard"
        outcome = "error_internal"
        try:
            body = await _read_body(request, settings.max_body_bytes)
            if body is None:
                outcome = "error_too_large"
                return JSONResponse(
                    {"error": f"request body larger than {settings.max_body_bytes} bytes"},
                    status_code=413,
                )
            try:
                decoded = decode_request(body)
            except WireError as exc:
                lane, outcome = _lane_hint(body), "error_decode"
                return JSONResponse({"error": str(exc)}, status_code=400)
            if decoded.client is not None:
                lane = lane_of(decoded.client.products)
            try:
                served = await service.client_get_configs(decoded)
            except Unavailable as exc:
                outcome = "error_unavailable"
                return JSONResponse({"error": str(exc)}, status_code=500)
            except AgentError as exc:
                outcome = "error_invalid"
                return JSONResponse({"error": str(exc)}, status_code=500)
            response = served.response
            if response.config_status:
                outcome = "config_expired"
            else:
                outcome = "no_update" if response.is_empty else "update"
            return Response(response.to_json_bytes(), media_type="application/json")
        except Exception as exc:  # the agent keeps serving whatever happens
            log.exception("internal error on /v0.7/config")
            return JSONResponse({"error": f"internal error: {exc!r}"}, status_code=500)
        finally:
            metrics.requests.labels(lane=lane, outcome=outcome).inc()
            metrics.request_duration.labels(lane=lane).observe(clock.monotonic() - t0)

    app.add_api_route("/v0.7/config", config_endpoint, methods=["POST", "GET", "PUT"])

    @app.get("/info")
    async def info() -> JSONResponse:
        return JSONResponse(info_document(settings))

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/metrics")
    async def prometheus() -> Response:
        metrics.active_clients.set(service.clients.count_active())
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def discard(request: Request) -> Response:
        async for _ in request.stream():
            pass
        if request.url.path.endswith("/traces"):
            return JSONResponse({"rate_by_service": {"service:,env:": 1}})
        return JSONResponse({}, status_code=202 if "proxy" in request.url.path else 200)

    for path in DISCARD_ENDPOINTS:
        app.add_api_route(path, discard, methods=["POST", "PUT"], include_in_schema=False)

    return app
