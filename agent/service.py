"""The RC service: ``CoreAgentService`` of ``pkg/config/remote/service/service.go``, modelled.

Mechanisms, each from the real code:

- **One lock** (``s.mu``, :class:`~agent.lock.ServiceLock`): ``ClientGetConfigs`` holds it for
  the whole call except during the bypass waits; ``refresh()`` holds it except around the
  backend call and the 1 s spacing sleep.
- **New clients bypass the cache** (``ClientGetConfigs``): a client not seen within the TTL is
  first marked ``seen`` (so the refresh it triggers lists it), then the lock is released, a
  response future is handed to the poll loop over an *unbuffered* channel, and the request waits
  for the loop to complete it. Both waits share one budget (``newClientBlockTTL`` = 2 s; the
  fast lane's own budget under ``fastlane``); when it runs out the request goes on and is served
  from the cache (``IncTimeout``, counted as ``timed_out``). Then it relocks.
- **The poll loop and refresh()**: :mod:`agent.refresh`.
- **Serving cost** (``serve_cost_ms``, a diagnostic, 0 by default): the real
  ``ClientGetConfigs`` builds the response with ``s.mu`` held; the knob holds the lock that long
  per response, so that lock contention can be measured (``docs/baseline-fidelity.md``).
- **Late RC** (``rc_unavailable_s``, a diagnostic, 0 by default, or the harness's
  ``rc_available_at``): ``/v0.7/config`` answers 500 and the start-up refresh waits that long,
  as an agent booted together with its fleet (before it is up, the trace-agent's
  ``ConfigHandler`` answers 500: its gRPC call to the core agent fails).
- **Design alternatives** (settings defaulting to the real agent; docs/design-space.md):
  ``fast_lane_match: any`` (:mod:`agent.policy`), ``bypass_single_flight`` (:mod:`agent.bypass`),
  ``bypass_on_new_products`` (an active client listing a product it did not list before
  bypasses too, datadog-agent PR #47113), ``prefetch_products`` (warm products at start-up).
- **Serving at once** (:meth:`RcService.serve_now`): a request that needs no wait (an active
  client, or a new one whose bypass has no budget, with the lock free) is served without
  yielding to the event loop, which on one loop is holding the lock for that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from agent.backend_client import Backend, ClientMessages
from agent.backoff import ExpBackoff
from agent.bypass import BypassRequest, SingleFlight
from agent.clients import ActiveClients
from agent.errors import Unavailable
from agent.limiter import FixedWindowLimiter
from agent.lock import ServiceLock
from agent.metrics import AgentMetrics
from agent.policy import AgentPolicy, Lane, lane_of, make_policy
from agent.refresh import RefreshLoop
from agent.rendezvous import Rendezvous
from agent.response import Encoded, ResponseCache, Served
from agent.settings import Settings
from agent.store import Store
from agent.validate import validate_request
from rc_protocol.clock import Clock, wait_for
from rc_protocol.wire import Client, ClientGetConfigsRequest

log = logging.getLogger("agent.service")


__all__ = ["BypassRequest", "RcService", "Served"]


class RcService(RefreshLoop):
    """The agent's RC service; start it with :meth:`start`, stop it with :meth:`stop`.

    The poll loop and ``refresh()`` are :class:`~agent.refresh.RefreshLoop`'s."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock,
        backend: Backend,
        metrics: AgentMetrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.resolved = settings.resolve()
        for warning in self.resolved.warnings:
            log.warning("%s", warning)
        self.clock = clock
        self.backend = backend
        self.metrics = metrics or AgentMetrics(settings.run_id)
        self.rng = rng or random.Random(settings.seed)
        self.policy: AgentPolicy = make_policy(settings, self.resolved)
        self.lock = ServiceLock()
        self.responses = ResponseCache()
        self.clients: ActiveClients[Client] = ActiveClients(
            self.resolved.clients_ttl_s, clock.monotonic, clock.time
        )
        self.store = Store()
        self.client_messages = ClientMessages()
        self.backoff = ExpBackoff(self.resolved.max_backoff_interval_s)
        self.backoff_errors = 0
        self.refresh_interval_s = self.resolved.refresh_interval_s
        self.override_allowed = self.resolved.refresh_override_allowed
        self.channels: Rendezvous[BypassRequest] = Rendezvous(clock, self.policy.channels)
        self.single_flight = SingleFlight() if settings.bypass_single_flight else None
        now = clock.time()
        self.limiters = {
            channel: FixedWindowLimiter(capacity, self.refresh_interval_s, now)
            for channel, capacity in self.policy.limiter_capacity.items()
        }
        self.products: set[str] = set()
        # Calibration only (``prefetch_products``): the real agent starts with no products.
        self.new_products: set[str] = {
            p.strip() for p in settings.prefetch_products.split(",") if p.strip()
        }
        self.first_update = True
        self.last_update_mono: float | None = None
        self.last_update_err: str | None = None
        self._org_uuid_root: int | None = None
        self._loop_task: asyncio.Task[None] | None = None
        late = settings.rc_unavailable_s
        if settings.rc_available_at is not None:  # set by the harness: a wall-clock instant
            late = max(0.0, settings.rc_available_at - clock.time())
        self.available_at = clock.monotonic() + late

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """``Start()``: spawn the poll loop (its first act is an immediate refresh)."""
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._poll_loop(), name="rc-poll-loop")

    async def stop(self) -> None:
        """Stop the poll loop and close the backend client."""
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.backend.aclose()

    # ---- ClientGetConfigs ------------------------------------------------------------------

    async def client_get_configs(self, request: ClientGetConfigsRequest) -> Served:
        """Serve one tracer request; raises ``InvalidRequest``/``ResponseError`` (HTTP 500)."""
        lane = lane_of(request.client.products if request.client is not None else ())
        self._check_available()
        waited = 0.0
        t0 = self.clock.monotonic()
        await self.lock.acquire()
        waited += self.clock.monotonic() - t0
        held = True
        bypassed = False
        try:
            validate_request(request)
            client = request.client
            assert client is not None  # validated
            if self._needs_bypass(client):
                bypassed = True
                self.clients.seen(client.id, client)
                self.lock.release()
                held = False
                await self._bypass(client.products)
                t1 = self.clock.monotonic()
                await self.lock.acquire()
                held = True
                waited += self.clock.monotonic() - t1
            self.clients.seen(client.id, client)
            if self.settings.serve_cost_ms > 0:
                # Diagnostic (default 0): the cost of building the response with s.mu held.
                await self.clock.sleep(self.settings.serve_cost_ms / 1000.0)
            return Served(lane, self._respond_locked(request), bypassed)
        finally:
            if held:
                self.lock.release()
            self.metrics.lock_wait_of[lane].observe(waited)

    def serve_now(
        self, request: ClientGetConfigsRequest, lane: Lane | None = None, *, valid: bool = False
    ) -> Served | None:
        """Serve a request that needs no wait, without yielding to the loop; else ``None``.

        :meth:`client_get_configs`'s rules in its order, for the common case: the lock is free
        and nobody queues for it (taking it is what ``acquire`` would do), ``serve_cost_ms`` is
        0, and the client is active or its bypass has no budget (handed over only to a poll loop
        waiting right now); the critical section then runs in one go, which on one event loop
        is holding the lock. Otherwise ``None``, having changed nothing: the caller awaits
        :meth:`client_get_configs`, as a request arriving a moment later. ``valid``: this very
        request object passed ``validate_request`` before (validation is a pure function of it).
        """
        self._check_available()
        if self.settings.serve_cost_ms > 0 or not self.lock.try_acquire():
            return None
        if lane is None:
            lane = lane_of(request.client.products if request.client is not None else ())
        deferred = False
        bypassed = False
        try:
            if not valid:
                validate_request(request)
            client = request.client
            assert client is not None  # validated
            if self._needs_bypass(client):
                bypass_lane = self.policy.bypass_lane(client.products)
                plan = self.policy.plan(bypass_lane)
                if plan.block_ttl_s > 0 or self.single_flight is not None:
                    deferred = True  # its bypass waits (or joins a shared refresh)
                    return None
                # A bypass with no budget waits for nothing: handed to the poll loop only if it
                # sits in its select right now, and served from the cache either way.
                self.clients.seen(client.id, client)
                done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self.channels.offer(plan.channel, BypassRequest(plan.channel, done, [bypass_lane]))
                self.metrics.bypass.labels(lane=bypass_lane, result="timed_out").inc()
                bypassed = True
            self.clients.seen(client.id, client)
            return Served(lane, self._respond_locked(request), bypassed)
        finally:
            self.lock.release()
            if not deferred:
                self.metrics.lock_wait_of[lane].observe(0.0)

    def _check_available(self) -> None:
        if self.clock.monotonic() < self.available_at:
            raise Unavailable(
                "remote configuration is not serving yet (rc_unavailable_s): retry later"
            )

    def _respond_locked(self, request: ClientGetConfigsRequest) -> Encoded:
        return self.responses.respond(
            self.store, request, now_wall=self.clock.time(), initialized=not self.first_update
        )

    def _needs_bypass(self, client: Client) -> bool:
        """A new (or expired) client bypasses the cache; with ``bypass_on_new_products`` so does
        an active client listing a product it did not list before (PR #47113's condition
        ``!active || hasNewProducts``)."""
        if not self.clients.active(client.id):
            return True
        if not self.settings.bypass_on_new_products:
            return False
        previous = self.clients.last(client.id)
        return previous is not None and not set(client.products) <= set(previous.products)

    async def _bypass(self, products: list[str]) -> None:
        """Hand a response to the poll loop, then wait for it, within one shared budget."""
        lane = self.policy.bypass_lane(products)
        plan = self.policy.plan(lane)
        start = self.clock.monotonic()
        if self.single_flight is not None:
            request, new = self.single_flight.join(plan.channel, lane, products)
            if new:
                self.channels.put(plan.channel, request)
            handed = True
        else:
            loop = asyncio.get_running_loop()
            request = BypassRequest(plan.channel, loop.create_future(), [lane])
            handed = await self.channels.send(plan.channel, request, plan.block_ttl_s)
        done = request.done
        # select { case <-response: case <-clock.After(partialNewClientBlockTTL): }
        remaining = plan.block_ttl_s - (self.clock.monotonic() - start)
        if handed and not done.done() and remaining > 0:
            with contextlib.suppress(TimeoutError):
                await wait_for(self.clock, asyncio.shield(done), remaining)
        if not done.done():  # IncTimeout: the budget ran out during the hand-off or the wait
            self.metrics.bypass.labels(lane=lane, result="timed_out").inc()
