"""A stub process: builds its tracers, serves /metrics and /health, starts them on a barrier.

Sequence: build every tracer (so that process start-up cost is paid before the herd starts),
serve ``GET /metrics`` (Prometheus text) and ``GET /health`` on ``host:port``, wait for the start
instant ``T``, then start tracer ``i`` at ``T + i * boot_stagger_ms``. Tracers keep polling
until `Host.stop`.

The start instant (docs/contracts.md, "The start signal"): with ``start_signal: at``, ``T`` is
``start_at`` (unset: now). With ``start_signal: http`` the process answers
``GET /ready-to-start`` and waits for ``POST /start {"start_at": T}`` (:meth:`Host.release`);
``start_at``, when set, is then a deadline: not released by then, it starts at it.

Permit pools: by default each tracer has its own ``MultiTargetFetcher`` (a real tracer is its
own process, so hosting many per process must not change behaviour); with
``shared_multitarget`` every tracer of the process shares one (the PHP sidecar case).

The HTTP endpoint is a tiny asyncio server on the same loop as the tracers (one request per
connection), so scrapes cost no thread and no framework.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST

from rc_protocol.clock import Clock, SystemClock, wait_for
from tracer_stub.client.driver import LanePermits
from tracer_stub.client.policy import Lane, MultiTargetFetcher
from tracer_stub.client.transport import HttpTransport, Transport
from tracer_stub.metrics import StubMetrics
from tracer_stub.settings import Settings
from tracer_stub.threads import ThreadBank
from tracer_stub.tracer import SimulatedTracer

__all__ = ["Host"]

log = logging.getLogger(__name__)

TransportFactory = Callable[[int, Lane], Transport]

MAX_START_BODY = 4096
"""Largest ``POST /start`` body read (it is ``{"start_at": T}``)."""


@dataclass(frozen=True)
class Reply:
    """An HTTP answer of the process's endpoint."""

    status: int
    body: bytes
    content_type: str = "application/json"


def _json(status: int, doc: object) -> Reply:
    return Reply(status, json.dumps(doc).encode())


class Host:
    """The tracers of one process and their shared /metrics endpoint."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        transport_factory: TransportFactory | None = None,
        metrics: StubMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.metrics = metrics or StubMetrics(settings.run_id)
        self._transport_factory = transport_factory or self._http_transport
        self._rng = random.Random(settings.seed)
        # One parked thread per tracer, started now, before the barrier (tracer_stub.threads).
        self.threads = ThreadBank(settings.tracers)
        shared = (
            LanePermits(MultiTargetFetcher.from_settings(settings.policy_settings()))
            if settings.shared_multitarget
            else None
        )
        self.tracers: list[SimulatedTracer] = []
        for i in range(settings.tracers):
            index = settings.tracer_index_base + i
            permits = shared or LanePermits(
                MultiTargetFetcher.from_settings(settings.policy_settings())
            )
            self.tracers.append(
                SimulatedTracer(
                    index,
                    settings,
                    clock=self.clock,
                    transport_factory=self._factory_for(index),
                    permits=permits,
                    metrics=self.metrics,
                    rng=random.Random(self._rng.getrandbits(64)),
                    runner=self.threads.submit,
                )
            )
        self._server: asyncio.Server | None = None
        self._starter: asyncio.Task[None] | None = None
        self.port: int | None = None
        self._released = asyncio.Event()
        self.release_at: float | None = None
        self._release_reply: Reply | None = None
        self.started_at: float | None = None
        """The instant the tracers started from (``T``), once known."""

    def _http_transport(self, index: int, lane: Lane) -> Transport:
        del index, lane
        return HttpTransport(
            self.settings.agent_url,
            keepalive=self.settings.http_keepalive,
            user_agent=f"rc-fastlane-tracer-stub/{self.settings.language}",
        )

    def _factory_for(self, index: int) -> Callable[[Lane], Transport]:
        def make(lane: Lane) -> Transport:
            return self._transport_factory(index, lane)

        return make

    # -- lifecycle --------------------------------------------------------------------------

    async def serve(self) -> int:
        """Start the HTTP endpoint; return the bound port."""
        self._server = await asyncio.start_server(
            self._handle_http, self.settings.host, self.settings.port
        )
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        return self.port

    def begin(self) -> asyncio.Task[None]:
        """Schedule the start barrier and the boot of every tracer."""
        self._starter = asyncio.get_running_loop().create_task(self._start_all())
        return self._starter

    def release(self, start_at: float) -> Reply:
        """``POST /start``: start the tracers at ``start_at`` (contracts, "The start signal")."""
        if self.settings.start_signal != "http":
            return _json(409, {"error": "this process starts at its start_at "
                               "(RC_STUB_START_SIGNAL is not http)"})  # fmt: skip
        if self.release_at is not None:
            if start_at == self.release_at and self._release_reply is not None:
                return self._release_reply
            return _json(409, {"error": f"already released for start_at={self.release_at}"})
        if self.started_at is not None:
            return _json(409, {"error": f"already started at {self.started_at} (deadline)"})
        late = max(0.0, self.clock.time() - start_at)
        self.release_at = start_at
        self._release_reply = _json(200, {"start_at": start_at, "late_s": round(late, 6)})
        self._released.set()
        return self._release_reply

    def readiness(self) -> Reply:
        """``GET /ready-to-start``: loaded (every tracer built before serving) and waiting."""
        doc: dict[str, object] = {
            "ready": True,
            "started": self.started_at is not None or self.release_at is not None,
            "tracers": len(self.tracers),
        }
        start = self.release_at if self.release_at is not None else self.started_at
        if start is not None:
            doc["start_at"] = start
        return _json(200, doc)

    async def _start_instant(self) -> float | None:
        """``T``: when to start (``None``: now)."""
        start_at = self.settings.start_at
        if self.settings.start_signal != "http":
            return start_at
        timeout = None if start_at is None else max(0.0, start_at - self.clock.time())
        try:
            await wait_for(self.clock, self._released.wait(), timeout)
        except TimeoutError:
            log.warning("no POST /start before the deadline start_at=%s: starting at it", start_at)
            return start_at
        return self.release_at

    async def _start_all(self) -> None:
        start_at = await self._start_instant()
        self.started_at = self.clock.time() if start_at is None else start_at
        delay = 0.0 if start_at is None else start_at - self.clock.time()
        if delay > 0:
            log.info("waiting %.3f s for the start barrier (start_at=%s)", delay, start_at)
            await self.clock.sleep(delay)
        elif start_at is not None and delay < -0.05:
            log.warning(
                "start_at=%s passed %.3f s ago (process started late): starting now",
                start_at,
                -delay,
            )
        base = self.clock.monotonic()
        stagger = self.settings.boot_stagger_ms / 1000.0
        # All at once: every tracer starts, then their provider threads wake (ThreadBank.held).
        with contextlib.nullcontext() if stagger > 0 else self.threads.held():
            for i, tracer in enumerate(self.tracers):
                if stagger > 0:
                    wait = base + i * stagger - self.clock.monotonic()
                    if wait > 0:
                        await self.clock.sleep(wait)
                await tracer.start()
        log.info("started %d tracers", len(self.tracers))

    async def stop(self) -> None:
        """Stop every tracer and the HTTP endpoint."""
        if self._starter is not None:
            self._starter.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._starter
        await asyncio.gather(*(t.aclose() for t in self.tracers), return_exceptions=True)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        self.threads.close()

    @property
    def settled(self) -> int:
        return sum(1 for t in self.tracers if t.settled)

    # -- HTTP -------------------------------------------------------------------------------

    async def _handle_http(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ")
            method = parts[0] if parts else b""
            path = parts[1].split(b"?", 1)[0] if len(parts) > 1 else b""
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length" and value.strip().isdigit():
                    length = int(value)
            if length > MAX_START_BODY:
                reply = _json(413, {"error": f"body larger than {MAX_START_BODY} bytes"})
            else:
                body = await reader.readexactly(length) if length else b""
                reply = self._answer(method, path, body)
            writer.write(
                f"HTTP/1.1 {reply.status} {_PHRASES.get(reply.status, '')}\r\n"
                f"Content-Type: {reply.content_type}\r\nContent-Length: {len(reply.body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + reply.body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _answer(self, method: bytes, path: bytes, body: bytes) -> Reply:
        if path == b"/start":
            if method != b"POST":
                return _json(405, {"error": 'POST /start {"start_at": <unix seconds>}'})
            return self._on_start(body)
        if method != b"GET":
            return Reply(405, b"GET only\n", "text/plain")
        if path == b"/metrics":
            return Reply(200, self.metrics.render(), CONTENT_TYPE_LATEST)
        if path == b"/health":
            return Reply(200, b'{"status": "ok"}')
        if path == b"/ready-to-start":
            return self.readiness()
        return Reply(404, b"try /metrics, /health, /ready-to-start or POST /start\n", "text/plain")

    def _on_start(self, body: bytes) -> Reply:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        start_at = doc.get("start_at") if isinstance(doc, dict) else None
        if (
            isinstance(start_at, bool)
            or not isinstance(start_at, int | float)
            or not math.isfinite(start_at)
        ):
            return _json(400, {"error": 'expected {"start_at": <unix seconds, a number>}'})
        return self.release(float(start_at))


_PHRASES = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 413: "Payload Too Large"}  # fmt: skip
