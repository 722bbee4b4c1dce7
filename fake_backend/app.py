"""The fake RC backend's HTTP app: a thin layer over the catalogue, director and fault policy.

Routes (the real backend's, as the agent calls them, datadog-agent `pkg/config/remote/api/http.go`):

- `POST /api/v0.1/configurations`: protobuf `LatestConfigsRequest` in, `LatestConfigsResponse`
  out (`application/x-protobuf`), see `fake_backend.configurations`;
- `GET /api/v0.1/org`: `OrgDataResponse{uuid}`; `GET /api/v0.1/status`:
  `OrgStatusResponse{enabled, authorized}`;
- `GET /metrics` (Prometheus text), `GET /health` (`{"status": "ok"}`), `/admin/...` (JSON,
  see `fake_backend.admin`).

Every `/api/v0.1/*` call goes through the same steps: the `DD-Api-Key` check first (401 with a
plain message when missing, or when it differs from `DD_API_KEY` if one is set), so that a
keyless call consumes nothing of the seeded fault sequence and counts no fault; then the fault
decision (latency, then outage / 429 / random error); then the handler. A body larger than
`max_body_bytes` answers 413 on every route before anything reads it (`fake_backend.limits`),
an undecodable body 400 with a message; the service keeps serving after any bad input.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from prometheus_client import CONTENT_TYPE_LATEST

from fake_backend.admin import build_admin_router
from fake_backend.configurations import answer_configurations
from fake_backend.faults import FaultKind
from fake_backend.limits import BodyLimit
from fake_backend.settings import Settings
from fake_backend.state import BackendState
from rc_protocol.clock import Clock, SystemClock
from rc_protocol.proto import remoteconfig_pb2 as pb

log = logging.getLogger("fake_backend")

PROTOBUF = "application/x-protobuf"
API_KEY_HEADER = "DD-Api-Key"

Handler = Callable[[Request], Awaitable[Response]]


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    """The backend app for `settings`; `clock` drives latency, windows and versions."""
    clock = clock if clock is not None else SystemClock()
    state = BackendState.from_settings(settings, clock)
    app = FastAPI(title="rc-fastlane fake RC backend", docs_url=None, redoc_url=None)
    app.state.backend = state
    metrics = state.metrics

    async def api_call(endpoint: str, request: Request, handler: Handler) -> Response:
        started = clock.monotonic()
        refused = _check_api_key(settings, request)
        if refused is not None:
            metrics.observe(
                endpoint, refused.status_code, clock.monotonic() - started, len(refused.body)
            )
            return refused
        decision = state.faults.decide(started)
        for kind in decision.kinds:
            metrics.fault(kind)
        if decision.delay_s > 0:
            await clock.sleep(decision.delay_s)
        if decision.status is not None:
            headers = {}
            if decision.retry_after_s is not None:
                headers["Retry-After"] = str(decision.retry_after_s)
            response: Response = PlainTextResponse(
                decision.message, status_code=decision.status, headers=headers
            )
        else:
            try:
                response = await handler(request)
            except Exception as exc:  # a bug here must not take the backend down mid-run
                log.exception("fake backend failed to answer %s", request.url.path)
                response = PlainTextResponse(
                    f"fake backend error answering {request.url.path}: {exc!r}", status_code=500
                )
        metrics.observe(
            endpoint, response.status_code, clock.monotonic() - started, len(response.body)
        )
        return response

    async def configurations(request: Request) -> Response:
        body = await request.body()
        try:
            message = pb.LatestConfigsRequest.FromString(body)
        except DecodeError as exc:
            return PlainTextResponse(
                f"body of POST /api/v0.1/configurations is not a protobuf "
                f"LatestConfigsRequest ({len(body)} bytes): {exc}",
                status_code=400,
            )
        if message.has_error:
            log.warning(
                "agent %s reports its last update failed: %s",
                message.agent_uuid or message.hostname or "?",
                message.error,
            )
        corruption = state.faults.corruption(clock.monotonic())
        changed = state.bad_ufc.sync(state.catalogue, corruption == "ufc")
        if changed:
            log.warning(changed)
        if corruption is not None:
            metrics.fault(FaultKind.BAD_PAYLOAD)
        reply = answer_configurations(
            message,
            state.catalogue,
            state.director,
            settings,
            now=clock.time(),
            corruption=corruption,
            refresh_interval_s=state.capacity.refresh_interval(clock.monotonic()),
        )
        return Response(reply.SerializeToString(), media_type=PROTOBUF)

    async def org(request: Request) -> Response:
        reply = pb.OrgDataResponse(uuid=settings.org_uuid)
        return Response(reply.SerializeToString(), media_type=PROTOBUF)

    async def status(request: Request) -> Response:
        reply = pb.OrgStatusResponse(enabled=settings.rc_enabled, authorized=settings.rc_authorized)
        return Response(reply.SerializeToString(), media_type=PROTOBUF)

    @app.post("/api/v0.1/configurations")
    async def post_configurations(request: Request) -> Response:
        capacity = state.capacity  # fake_backend.capacity: unlimited unless configured
        if not capacity.limited:
            return await api_call("configurations", request, configurations)
        rejection = capacity.admit(clock.monotonic())
        if rejection is not None:
            metrics.capacity_rejected.labels(reason=rejection.reason).inc()
            refused = PlainTextResponse(
                rejection.message,
                status_code=429,
                headers={"Retry-After": str(rejection.retry_after_s)},
            )
            metrics.observe("configurations", 429, 0.0, len(refused.body))
            return refused
        async with capacity.slot(clock) as waited:
            metrics.queue_wait.observe(waited)
            return await api_call("configurations", request, configurations)

    @app.get("/api/v0.1/org")
    async def get_org(request: Request) -> Response:
        return await api_call("org", request, org)

    @app.get("/api/v0.1/status")
    async def get_status(request: Request) -> Response:
        return await api_call("status", request, status)

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/metrics")
    async def get_metrics() -> Response:
        # The gauge is derived state: read from the director when scraped, not on every call.
        metrics.targets_version.set(state.director.latest_version)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.middleware("http")
    async def count_admin(request: Request, call_next: Handler) -> Response:
        if not request.url.path.startswith("/admin"):
            return await call_next(request)
        started = clock.monotonic()
        response = await call_next(request)
        metrics.requests.labels(endpoint="admin", status=str(response.status_code)).inc()
        metrics.duration.labels(endpoint="admin").observe(clock.monotonic() - started)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own handler echoes the input back, and fails (a 500) on a NaN in it.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        return JSONResponse({"error": problems}, status_code=422)

    app.include_router(build_admin_router(state, settings.admin_token))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


def _check_api_key(settings: Settings, request: Request) -> Response | None:
    key = request.headers.get(API_KEY_HEADER, "")
    if not key:
        return PlainTextResponse(
            f"missing {API_KEY_HEADER} header: set the agent's DD_API_KEY", status_code=401
        )
    if settings.api_key is not None and key != settings.api_key:
        return PlainTextResponse(
            f"{API_KEY_HEADER} does not match the backend's DD_API_KEY", status_code=401
        )
    return None
