"""The poll loop and ``refresh()`` of the RC service (``service.go``), as a base of
:class:`~agent.service.RcService`.

- **The poll loop** (``startWithAgentPollLoop``): one ``refresh()`` at start-up, *before* the
  loop (so the first backend call is immediate), then forever a ``select`` over the bypass
  channel(s) and a fresh ``clock.After(calculateRefreshInterval())`` timer. A bypass message
  refreshes when the limiter allows (``refreshed``) or is answered at once (``rate_limited``,
  ``IncRateLimit``); either way the loop starts a new full timer.
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
import logging
import random

from agent.backend_client import (
    Backend,
    ClientMessages,
    RequestState,
    build_latest_configs_request,
)
from agent.backoff import ExpBackoff
from agent.bypass import BypassRequest, SingleFlight
from agent.clients import ActiveClients
from agent.errors import AgentError, BackendError
from agent.limiter import FixedWindowLimiter
from agent.lock import ServiceLock
from agent.metrics import AgentMetrics
from agent.policy import AgentPolicy
from agent.rendezvous import Rendezvous
from agent.settings import Settings
from agent.store import Store
from rc_protocol.clock import Clock
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.wire import Client

log = logging.getLogger("agent.service")


class RefreshLoop:
    """The poll loop and ``refresh()``; the state they share is set up by ``RcService``."""

    settings: Settings
    clock: Clock
    backend: Backend
    metrics: AgentMetrics
    rng: random.Random
    policy: AgentPolicy
    lock: ServiceLock
    clients: ActiveClients[Client]
    client_messages: ClientMessages
    store: Store
    backoff: ExpBackoff
    backoff_errors: int
    refresh_interval_s: float
    override_allowed: bool
    channels: Rendezvous[BypassRequest]
    single_flight: SingleFlight | None
    limiters: dict[str, FixedWindowLimiter]
    products: set[str]
    new_products: set[str]
    first_update: bool
    last_update_mono: float | None
    last_update_err: str | None
    available_at: float
    _org_uuid_root: int | None

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
                    active_clients=self.client_messages.of(active, self.clients.last_seen_ms),
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
