"""The RC service: ``CoreAgentService`` of ``pkg/config/remote/service/service.go``, modelled.

Mechanisms, each from the real code:

- **One lock** (``s.mu``, an ``asyncio.Lock``): ``ClientGetConfigs`` holds it for the whole call
  except during the bypass waits; ``refresh()`` holds it except around the backend call and the
  1 s spacing sleep.
- **New clients bypass the cache** (``ClientGetConfigs``): a client not seen within the TTL is
  first marked ``seen`` (so the refresh it triggers lists it), then the lock is released, a
  response future is handed to the poll loop over an *unbuffered* channel, and the request waits
  for the loop to complete it. Both waits share one budget (``newClientBlockTTL`` = 2 s; the
  fast lane's own budget under ``fastlane``); when it runs out the request goes on and is served
  from the cache (``IncTimeout``, counted as ``timed_out``). Then it relocks.
- **The poll loop** (``startWithAgentPollLoop``): one ``refresh()`` at start-up, *before* the
  loop (so the first backend call is immediate), then forever a ``select`` over the bypass
  channel(s) and a fresh ``clock.After(calculateRefreshInterval())`` timer. A bypass message
  refreshes when the limiter allows (``refreshed``) or is answered at once (``rate_limited``,
  ``IncRateLimit``); either way the loop starts a new full timer.
- **Diagnostics** (default 0, not real constants; docs/baseline-fidelity.md):
  ``serve_cost_ms`` holds the lock that long per response (the real ``ClientGetConfigs`` reads
  the TUF store with ``s.mu`` held, so under CPU contention requests and refreshes queue behind
  it); ``rc_unavailable_s`` (or the harness's ``rc_available_at``) makes ``/v0.7/config`` answer
  500 and delays the start-up refresh, as an agent booted together with its fleet (before it is
  up, the trace-agent's ``ConfigHandler`` answers 500: its gRPC call to the core agent fails).
- **Design alternatives** (settings defaulting to the real agent; docs/design-space.md):
  ``fast_lane_match: any`` (:mod:`agent.policy`), ``bypass_single_flight`` (:mod:`agent.bypass`),
  ``bypass_on_new_products`` (an active client listing a product it did not list before
  bypasses too, datadog-agent PR #47113), ``prefetch_products`` (warm products at start-up).
- **refresh()**: 1 s spacing since the last *successful* update (``lastUpdateTimestamp`` is set
  only on success), sleeping with the lock released; collect active clients (pruning) and new
  products; fetch the org UUID if none is stored (``StoredOrgUUID``, lock held); build
  ``LatestConfigsRequest``; call the backend with the lock released; on error backoff +1 and
  ``lastUpdateErr`` (sent as ``has_error``/``error`` next time); on success apply (a
  verification failure counts as an error too), apply the backend's ``agent_refresh_interval``
  to the refresh interval and the limiter window(s) when the override is allowed, promote new
  products, backoff -2.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass

from agent.backend_client import (
    Backend,
    RequestState,
    build_latest_configs_request,
    client_to_pb,
)
from agent.backoff import ExpBackoff
from agent.bypass import BypassRequest, SingleFlight
from agent.clients import ActiveClients
from agent.errors import AgentError, BackendError, Unavailable
from agent.limiter import FixedWindowLimiter
from agent.metrics import AgentMetrics
from agent.policy import AgentPolicy, Lane, lane_of, make_policy
from agent.rendezvous import Rendezvous
from agent.response import build_response
from agent.settings import Settings
from agent.store import Store
from agent.validate import validate_request
from rc_protocol.clock import Clock, wait_for
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.wire import Client, ClientGetConfigsRequest, ClientGetConfigsResponse

log = logging.getLogger("agent.service")


@dataclass(frozen=True)
class Served:
    """The outcome of one ``client_get_configs`` call (for the HTTP layer and metrics)."""

    lane: Lane
    response: ClientGetConfigsResponse
    bypassed: bool


class RcService:
    """The agent's RC service; start it with :meth:`start`, stop it with :meth:`stop`."""

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
        self.lock = asyncio.Lock()
        self.clients: ActiveClients[Client] = ActiveClients(
            self.resolved.clients_ttl_s, clock.monotonic, clock.time
        )
        self.store = Store()
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
        if self.clock.monotonic() < self.available_at:
            raise Unavailable(
                "remote configuration is not serving yet (rc_unavailable_s): retry later"
            )
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
            response = build_response(
                self.store,
                request,
                now_wall=self.clock.time(),
                initialized=not self.first_update,
            )
            return Served(lane, response, bypassed)
        finally:
            if held:
                self.lock.release()
            self.metrics.lock_wait.labels(lane=lane).observe(waited)

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
                self.channels.offer(plan.channel, request)
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

    # ---- poll loop -------------------------------------------------------------------------

    def calculate_refresh_interval(self) -> float:
        """``calculateRefreshInterval``: the refresh interval plus the current backoff."""
        return self.refresh_interval_s + self.backoff.duration_s(self.backoff_errors, self.rng)

    async def _poll_loop(self) -> None:
        delay = self.available_at - self.clock.monotonic()
        if delay > 0:  # rc_unavailable_s: RC (and its first refresh) starts late
            await self.clock.sleep(delay)
        await self.refresh("startup")
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive any bug; the next select still runs
                log.exception("poll loop iteration failed")

    async def poll_once(self) -> None:
        """One iteration of the poll loop's ``select`` (public for tests)."""
        got = await self.channels.receive(self.calculate_refresh_interval())
        if got is None:
            await self.refresh("periodic")
            return
        channel, bypass = got
        flight = self.single_flight
        if flight is not None:
            flight.taken(bypass)  # joiners now ride it while it runs
        allowed = self.limiters[channel].allow(self.clock.time())
        result = "refreshed" if allowed else "rate_limited"
        try:
            if allowed:
                await self.refresh(self.policy.reason_of(channel))
        finally:
            if flight is not None:
                flight.finished(bypass)
            for lane in bypass.riders:  # every client this hand-off answers
                self.metrics.bypass.labels(lane=lane, result=result).inc()
            if not bypass.done.done():
                bypass.done.set_result(None)  # close(response)

    # ---- refresh ---------------------------------------------------------------------------

    async def refresh(self, reason: str) -> bool:
        """``refresh()``: one backend round trip; True on success. Never raises (but cancels)."""
        try:
            ok = await self._refresh()
        except AgentError as exc:  # defensive: refresh errors are counted, never fatal
            log.warning("refresh failed: %s", exc)
            ok = False
        except Exception:  # a model bug: counted and logged, and the poll loop lives on
            log.exception("refresh (%s) raised", reason)
            ok = False
        self.metrics.refreshes.labels(reason=reason, result="ok" if ok else "error").inc()
        return ok

    async def _refresh(self) -> bool:
        held = False
        try:
            await self.lock.acquire()
            held = True
            if self.last_update_mono is not None:
                earliest = self.last_update_mono + self.settings.refresh_spacing_s
                now = self.clock.monotonic()
                if now < earliest:
                    self.lock.release()
                    held = False
                    await self.clock.sleep(earliest - now)
                    await self.lock.acquire()
                    held = True
            active = self.clients.active_clients()
            self.metrics.active_clients.set(len(active))
            self._refresh_products_locked(active)
            if self.single_flight is not None:
                self.single_flight.collected(self.products | self.new_products)
            if not await self._org_uuid_locked():
                return False
            versions = self.store.versions(first_update=self.first_update)
            request = build_latest_configs_request(
                RequestState(
                    hostname=self.settings.hostname,
                    agent_version=self.settings.agent_version,
                    trace_agent_env=self.settings.trace_agent_env,
                    org_uuid=self.store.org_uuid,
                    config_snapshot_version=versions.config_snapshot,
                    config_root_version=versions.config_root,
                    director_root_version=versions.director_root,
                    products=self.products,
                    new_products=self.new_products,
                    active_clients=[
                        client_to_pb(c, self.clients.last_seen_ms(c.id)) for c in active
                    ],
                    backend_client_state=self.store.opaque_backend_state,
                    last_error=self.last_update_err,
                )
            )
            self.lock.release()
            held = False
            t0 = self.clock.monotonic()
            error: AgentError | None = None
            try:
                response = await self.backend.latest_configs(request)
            except AgentError as exc:
                error = exc
            except Exception as exc:  # a backend bug is a failed refresh, not a dead loop
                log.exception("backend call raised")
                error = BackendError(f"backend call raised {exc!r}")
            self.metrics.backend_duration.observe(self.clock.monotonic() - t0)
            await self.lock.acquire()
            held = True
            return self._apply_locked(response if error is None else None, error)
        finally:
            if held:
                self.lock.release()

    def _refresh_products_locked(self, active: list[Client]) -> None:
        """``refreshProductsLocked``: products of active clients not yet known are new."""
        for client in active:
            self.new_products.update(p for p in client.products if p not in self.products)

    async def _org_uuid_locked(self) -> bool:
        """``StoredOrgUUID``: fetched from the backend once per config root, *lock held*.

        The real uptane client calls ``FetchOrgData`` (``GET /api/v0.1/org``) when no UUID is
        stored for the current config root version, from inside ``refresh()`` with ``s.mu``
        held; a failure ends the refresh with an error before the backend call, without
        touching the backoff or ``lastUpdateErr``.
        """
        root = self.store.config_root_version
        if self.store.org_uuid and self._org_uuid_root == root:
            return True
        try:
            self.store.org_uuid = await self.backend.org_uuid()
        except AgentError as exc:  # anything else is a bug, counted by refresh()
            log.warning("could not get the org uuid: %s", exc)
            return False
        self._org_uuid_root = root
        return True

    def _apply_locked(
        self, response: pb.LatestConfigsResponse | None, error: AgentError | None
    ) -> bool:
        """The second half of ``refresh()``, with the lock held again."""
        self.last_update_err = None
        if error is not None or response is None:
            self.backoff_errors = self.backoff.inc_error(self.backoff_errors)
            self.last_update_err = f"api: {error}"
            log.warning("could not refresh Remote Config: %s", error)
            return False
        try:
            self.store.apply(response)
        except AgentError as exc:
            self.backoff_errors = self.backoff.inc_error(self.backoff_errors)
            self.last_update_err = f"tuf: {exc}"
            log.warning("could not apply Remote Config update: %s", exc)
            return False
        if self.override_allowed:
            recommended = self.store.agent_refresh_interval_s
            # getRefreshIntervalLocked: only [1 s, 1 min] is accepted.
            if 1 <= recommended <= 60 and recommended != self.refresh_interval_s:
                self.refresh_interval_s = float(recommended)
                for limiter in self.limiters.values():
                    limiter.window_s = float(recommended)
                log.info("refresh interval overridden to %ss by the backend", recommended)
        self.last_update_mono = self.clock.monotonic()
        self.first_update = False
        self.products |= self.new_products
        self.new_products = set()
        self.backoff_errors = self.backoff.dec_error(self.backoff_errors)
        self.metrics.targets_version.set(self.store.targets_version)
        return True
