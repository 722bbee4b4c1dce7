"""The driver: runs the policies and the core of one tracer's RC client over a transport.

One `Fetcher` per lane (libdatadog ``SharedFetcher::run``): hold a permit of its lane's pool for
the whole life of the loop (``MultiTargetFetcher`` in ``fetch/multitarget.rs``), then sleep to
the intended send time the `FetchSchedule` gave, POST ``/v0.7/config`` with the core's request,
enforce ``request_timeout_s`` on the clock, apply the answer, and ask the schedule for the next
intended time. Poll lateness (actual send - intended send) and request latency go to an
`RequestObserver`.

`RcClient` holds the fetchers of one tracer; products subscribed after start (dd-trace-go
before 2.8 subscribed FFE_FLAGS only when the provider was created) re-plan the split, and with
``poll_on_subscribe`` (dd-trace-go >= 2.10) make the fetcher carrying them send one request at
once, besides its schedule.

The loops are coroutines run through a `tracer_stub.tasks.Tasks` (asyncio tasks in a stub
process, greenlets under Locust), and a fetcher waits for its permit through `Permits`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable, Hashable, Iterable
from typing import Protocol

from rc_protocol.capabilities import PRODUCT_CAPABILITIES
from rc_protocol.clock import Clock
from tracer_stub.client.core import ClientCore, ClientIdentity, Listener
from tracer_stub.client.policy import (
    FetcherPlan,
    FetchOutcome,
    FetchResult,
    FetchSchedule,
    Lane,
    MultiTargetFetcher,
    PermitPool,
    PolicySettings,
    plan_fetchers,
)
from tracer_stub.client.retry import RetryPlan
from tracer_stub.client.transport import FakeTransport, HttpResponse, HttpTransport, Transport
from tracer_stub.errors import TransportError
from tracer_stub.tasks import AsyncioTasks, TaskHandle, Tasks

__all__ = [
    "AsyncPermits",
    "FakeTransport",
    "Fetcher",
    "HttpTransport",
    "Permits",
    "RcClient",
    "RequestObserver",
    "Transport",
]

log = logging.getLogger(__name__)

CONFIG_PATH = "/v0.7/config"

#: The capabilities of each product, as `plan_fetchers` takes them (built once).
_CAPABILITIES = {
    str(p): frozenset(int(c) for c in caps) for p, caps in PRODUCT_CAPABILITIES.items()
}


class RequestObserver(Protocol):
    """Receives one call per RC request (metrics)."""

    def on_request(
        self, lane: Lane, outcome: str, duration_s: float, lateness_s: float
    ) -> None: ...


class Permits(Protocol):
    """A lane's permit pool as a fetch loop waits on it (`AsyncPermits`, or a greenlet one)."""

    async def acquire(self, holder: Hashable) -> None: ...

    def release(self, holder: Hashable) -> None: ...


class AsyncPermits:
    """Awaitable view of a `PermitPool`: ``await acquire(holder)`` waits its FIFO turn."""

    def __init__(self, pool: PermitPool) -> None:
        self.pool = pool
        self._waiters: dict[Hashable, asyncio.Future[None]] = {}

    async def acquire(self, holder: Hashable) -> None:
        if self.pool.request(holder):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[holder] = future
        try:
            await future
        except asyncio.CancelledError:
            self._waiters.pop(holder, None)
            self.release(holder)
            raise

    def release(self, holder: Hashable) -> None:
        granted = self.pool.release(holder)
        if granted is not None:
            future = self._waiters.pop(granted, None)
            if future is not None and not future.done():
                future.set_result(None)


class LanePermits:
    """The awaitable pools of one `MultiTargetFetcher` (`make` wraps each pool)."""

    def __init__(
        self,
        multitarget: MultiTargetFetcher,
        make: Callable[[PermitPool], Permits] = AsyncPermits,
    ) -> None:
        self.by_lane = {lane: make(pool) for lane, pool in multitarget.pools.items()}


def retry_after_seconds(headers: dict[str, str]) -> float | None:
    """``Retry-After`` in delta-seconds form (the only form agents send); else None."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class Fetcher:
    """One fetch loop: a lane, a core, a schedule and a transport."""

    def __init__(
        self,
        plan: FetcherPlan,
        core: ClientCore,
        transport: Transport,
        clock: Clock,
        rng: random.Random,
        permits: Permits,
        observer: RequestObserver,
        *,
        request_timeout_s: float,
        wire_bytes: str = "array",
        retry: RetryPlan | None = None,
        agent_reached: bool = False,
        tasks: Tasks | None = None,
    ) -> None:
        self.plan = plan
        self.rng = rng
        self.retry = retry or RetryPlan()
        self.agent_reached = agent_reached
        self.started_at = clock.monotonic()
        self.core = core
        self.transport = transport
        self.clock = clock
        self.schedule = FetchSchedule(plan, rng)
        self.permits = permits
        self.observer = observer
        self.request_timeout_s = request_timeout_s
        self.wire_bytes: str = wire_bytes
        self.tasks = tasks or AsyncioTasks()
        self.fetches = 0
        self.holding_permit = False

    @property
    def lane(self) -> Lane:
        return self.plan.lane

    async def run(self) -> None:
        await self.permits.acquire(self)
        self.holding_permit = True
        try:
            intended = self.schedule.first_send_at(self.clock.monotonic())
            while True:
                delay = intended - self.clock.monotonic()
                if delay > 0:
                    await self.clock.sleep(delay)
                intended = await self.fetch_once(intended)
        except Exception:
            # A bug (e.g. in a product listener) ends this loop: say so now, not at close.
            log.exception("RC fetch loop of lane %s stopped: this tracer polls no more", self.lane)
            raise
        finally:
            self.holding_permit = False
            self.permits.release(self)
            with contextlib.suppress(Exception):
                await self.transport.aclose()

    async def poll_now(self) -> None:
        """One request at once, outside the schedule (dd-trace-go >= 2.10 polls on each
        ``Subscribe`` and its ticker keeps its grid); run it as a task of its own."""
        await self._exchange(self.clock.monotonic())

    async def fetch_once(self, intended: float) -> float:
        """Send one request at (about) `intended`; return the next intended send time."""
        completed, result = await self._exchange(intended)
        return self.schedule.after_fetch(intended, completed, result)

    async def _exchange(self, intended: float) -> tuple[float, FetchResult]:
        """One request and its answer applied; when it completed and what the schedule needs."""
        sent = self.clock.monotonic()
        body = self.core.encoded_request("array" if self.wire_bytes == "array" else "base64")
        attempted, outcome, attempt = await self._attempt(body), "", 1
        while isinstance(attempted, str):  # failed: retried inside the HTTP layer (retry.py)
            outcome = attempted
            delay = self.retry.delay_s(
                attempt,
                reached=self.agent_reached,
                since_start_s=self.clock.monotonic() - self.started_at,
                rng=self.rng,
            )
            if delay is None:
                break
            self.observer.on_request(self.lane, outcome, self.clock.monotonic() - sent, 0.0)
            await self.clock.sleep(delay)
            attempt += 1
            attempted = await self._attempt(body)
        response = None if isinstance(attempted, str) else attempted
        completed = self.clock.monotonic()
        self.fetches += 1
        if response is None:
            self.core.last_error = f"request to {CONFIG_PATH} failed: {outcome}"
            result = FetchResult(FetchOutcome.ERROR)
        elif response.status == 429:
            outcome = "rate_limited"
            self.core.apply_response(response.status, response.body)
            result = FetchResult(
                FetchOutcome.RATE_LIMITED, retry_after_s=retry_after_seconds(response.headers)
            )
        else:
            applied = self.core.apply_response(response.status, response.body)
            outcome = str(applied.kind)
            if applied.ok:
                result = FetchResult(
                    FetchOutcome.OK, server_refresh_interval_s=applied.server_refresh_interval_s
                )
            else:
                log.debug("RC response rejected: %s", applied.error)
                result = FetchResult(FetchOutcome.ERROR)
        self.observer.on_request(self.lane, outcome, completed - sent, sent - intended)
        return completed, result

    async def _attempt(self, body: bytes) -> HttpResponse | str:
        """One HTTP attempt: the response, or the failure (``timeout``, ``transport_error``)."""
        try:
            response = await self.tasks.wait_for(
                self.clock,
                self.transport.post(CONFIG_PATH, body, self.request_timeout_s),
                self.request_timeout_s,
            )
        except TimeoutError:
            return "timeout"
        except TransportError as exc:
            log.debug("RC request failed: %s", exc)
            return "transport_error"
        except Exception:
            # A bug in a transport must not end the poll loop silently: log it, count it, go on.
            log.exception("RC request to %s raised unexpectedly", CONFIG_PATH)
            return "transport_error"
        self.agent_reached = True
        return response


class RcClient:
    """The RC client of one tracer: its fetchers (one per lane) and their tasks."""

    def __init__(
        self,
        settings: PolicySettings,
        *,
        runtime_id: str,
        identity: Callable[[str], ClientIdentity],
        transport_factory: Callable[[Lane], Transport],
        clock: Clock,
        rng: random.Random,
        permits: LanePermits,
        observer: RequestObserver,
        listener: Listener,
        wire_bytes: str = "array",
        report_errors: bool = False,
        client_id_factory: Callable[[], str] = lambda: str(uuid.uuid4()),
        tasks: Tasks | None = None,
    ) -> None:
        self.settings = settings
        self.runtime_id = runtime_id
        self._identity = identity
        self._transport_factory = transport_factory
        self.clock = clock
        self.rng = rng
        self.permits = permits
        self.observer = observer
        self.listener = listener
        self.wire_bytes = wire_bytes
        self.report_errors = report_errors
        self._client_id_factory = client_id_factory
        self.tasks = tasks or AsyncioTasks()
        self.products: tuple[str, ...] = ()
        self.fetchers: dict[Lane, Fetcher] = {}
        self._tasks: dict[Lane, TaskHandle] = {}
        self._extra: list[TaskHandle] = []  # poll_on_subscribe's one-off requests

    def start(self, products: Iterable[str]) -> None:
        """Plan the fetchers for `products` and start their loops (tracer start)."""
        self.products = tuple(dict.fromkeys(products))
        self._replan()

    def subscribe(self, product: str) -> None:
        """Add a product after start; the next request of its fetcher asks for it, at once
        with ``poll_on_subscribe`` (dd-trace-go >= 2.10), else at its next scheduled poll."""
        if product in self.products:
            return
        self.products = (*self.products, product)
        existing = set(self.fetchers)
        self._replan()
        if self.settings.poll_on_subscribe:
            for lane, fetcher in self.fetchers.items():
                if lane in existing and product in fetcher.core.products:
                    self._extra.append(
                        self.tasks.spawn(fetcher.poll_now(), f"rc-poll-{self.runtime_id}-{lane}")
                    )

    def _replan(self) -> None:
        for plan in plan_fetchers(self.settings, self.products, _CAPABILITIES):
            existing = self.fetchers.get(plan.lane)
            if existing is not None:
                existing.core.set_products(plan.products, plan.capabilities)
                continue
            core = ClientCore(
                self._identity(self._client_id_factory()),
                plan.products,
                plan.capabilities,
                report_errors=self.report_errors,
            )
            core.subscribe(self.listener)
            fetcher = Fetcher(
                plan,
                core,
                self._transport_factory(plan.lane),
                self.clock,
                self.rng,
                self.permits.by_lane[plan.lane],
                self.observer,
                request_timeout_s=self.settings.request_timeout_s,
                wire_bytes=self.wire_bytes,
                retry=RetryPlan(self.settings.request_retry),
                agent_reached=self.settings.agent_reached_at_start,
                tasks=self.tasks,
            )
            self.fetchers[plan.lane] = fetcher
            self._tasks[plan.lane] = self.tasks.spawn(
                fetcher.run(), f"rc-fetcher-{self.runtime_id}-{plan.lane}"
            )

    async def aclose(self) -> None:
        """Stop every fetch loop (releasing its permit) and close its transport."""
        tasks = [*self._tasks.values(), *self._extra]
        self._tasks.clear()
        self._extra.clear()
        await self.tasks.cancel(tasks)
