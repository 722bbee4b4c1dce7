"""A stub process: builds its tracers, serves /metrics and /health, starts them on a barrier.

Sequence: build every tracer (so that process start-up cost is paid before the herd starts),
serve ``GET /metrics`` (Prometheus text) and ``GET /health`` on ``host:port``, wait until
``start_at`` (unix wall seconds; unset = now), then start tracer ``i`` at
``start_at + i * boot_stagger_ms``. Tracers keep polling until `Host.stop`.

Permit pools: by default each tracer has its own ``MultiTargetFetcher`` (a real tracer is its
own process, so hosting many per process must not change behaviour); with
``shared_multitarget`` every tracer of the process shares one (the PHP sidecar case).

The HTTP endpoint is a tiny asyncio server on the same loop as the tracers (one request per
connection), so scrapes cost no thread and no framework.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST

from rc_protocol.clock import Clock, SystemClock
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

    async def _start_all(self) -> None:
        start_at = self.settings.start_at
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
            parts = head.split(b"\r\n", 1)[0].split(b" ")
            method = parts[0] if parts else b""
            path = parts[1].split(b"?", 1)[0] if len(parts) > 1 else b""
            if method != b"GET":
                status, ctype, body = "405 Method Not Allowed", "text/plain", b"GET only\n"
            elif path == b"/metrics":
                status, ctype = "200 OK", CONTENT_TYPE_LATEST
                body = self.metrics.render()
            elif path == b"/health":
                status, ctype, body = "200 OK", "application/json", b'{"status": "ok"}'
            else:
                status, ctype, body = "404 Not Found", "text/plain", b"try /metrics or /health\n"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
