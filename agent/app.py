"""The agent as an ASGI app (FastAPI): :class:`~agent.endpoints.Endpoints` behind one route.

``python -m agent`` serves the same endpoints with its own HTTP server (:mod:`agent.server`,
several times cheaper per request); this app is the in-process form the tests drive through
``httpx.ASGITransport``, and what ``--http-server uvicorn`` serves. The service's poll loop runs
for the app's lifespan. The routing table, the status codes and the bodies are the endpoints';
see :mod:`agent.endpoints` for what each path answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response

from agent.backend_client import Backend, HttpBackend
from agent.endpoints import Answer, Endpoints, info_document
from agent.metrics import AgentMetrics
from agent.service import RcService
from agent.settings import Settings
from rc_protocol.clock import Clock, SystemClock

__all__ = ["build_endpoints", "create_app", "info_document"]

ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


def build_endpoints(
    settings: Settings,
    clock: Clock | None = None,
    backend: Backend | None = None,
    *,
    metrics: AgentMetrics | None = None,
) -> Endpoints:
    """The service and its endpoints; an :class:`HttpBackend` to ``backend_url`` by default."""
    clock = clock or SystemClock()
    metrics = metrics or AgentMetrics(settings.run_id)
    if backend is None:
        backend = HttpBackend(
            settings.backend_url, settings.api_key, timeout_s=settings.backend_timeout_s
        )
    service = RcService(settings, clock=clock, backend=backend, metrics=metrics)
    return Endpoints(settings, service, metrics, clock)


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


def _response(answer: Answer) -> Response:
    return Response(answer.body, status_code=answer.status, media_type=answer.content_type)


def create_app(
    settings: Settings,
    clock: Clock | None = None,
    backend: Backend | None = None,
    *,
    metrics: AgentMetrics | None = None,
    start_poll_loop: bool = True,
) -> FastAPI:
    """Build the agent app; the RC service's poll loop runs for the app's lifespan."""
    endpoints = build_endpoints(settings, clock, backend, metrics=metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        endpoints.start(poll_loop=start_poll_loop)
        try:
            yield
        finally:
            await endpoints.stop()

    app = FastAPI(title="rc-fastlane agent model", lifespan=lifespan)
    app.state.endpoints = endpoints
    app.state.service = endpoints.service
    app.state.metrics = endpoints.metrics
    app.state.settings = settings

    async def handle(request: Request) -> Response:
        path = request.url.path
        handler = endpoints.find(request.method, path)
        if isinstance(handler, Answer):
            return _response(handler)
        result = handler(path, await _read_body(request, settings.max_body_bytes))
        return _response(result if isinstance(result, Answer) else await result)

    app.add_api_route("/{path:path}", handle, methods=ALL_METHODS, include_in_schema=False)
    return app
