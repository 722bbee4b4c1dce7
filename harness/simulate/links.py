"""In-memory links: tracer → agent (``/v0.7/config``) and agent → backend (``/configurations``).

No sockets, no HTTP framework, no serialisation the models do not already do:

- :class:`AgentLink` is a tracer's `Transport` to its agent. The tracer's client core sends the
  same JSON body it sends over HTTP and applies the same JSON answer; in between, the link does
  what the agent's HTTP layer does around the service (``agent/app.py``, ``/v0.7/config``):
  a body over ``max_body_bytes`` → 413, a body ``decode_request`` refuses → 400, an error of
  ``RcService.client_get_configs`` → 500 with ``{"error": ...}``, else 200 with the response's
  JSON; and it counts ``agent_rc_requests_total``/``agent_rc_request_duration_seconds`` as the
  app does. ``tests/harness/test_simulate_links.py`` holds it to the app's answers.
- :class:`BackendLink` is an agent's `Backend` (``agent.backend_client``): the shared
  :class:`SimBackend` answers with the fake backend's own pieces (``fake_backend.state``:
  capacity, fault plan, catalogue, director; ``answer_configurations``) in the order its app
  applies them, and refuses as ``HttpBackend`` reports a non-200 (``BackendError``). Every
  call is recorded for the backend's view (calls over time, rejections, refresh latency).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agent.errors import AgentError, BackendError, Unavailable
from agent.metrics import AgentMetrics
from agent.policy import Lane, lane_of
from agent.service import RcService
from fake_backend.configurations import answer_configurations
from fake_backend.state import BackendState
from rc_protocol.clock import Clock
from rc_protocol.errors import WireError
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.wire import ClientGetConfigsRequest, decode_request
from tracer_stub.client.transport import HttpResponse

__all__ = ["AgentLink", "BackendCall", "BackendLink", "BackendRefusal", "SimBackend"]

_JSON = {"content-type": "application/json"}


def _error(status: int, message: str) -> HttpResponse:
    return HttpResponse(status, _JSON, json.dumps({"error": message}).encode())


class BackendRefusal(BackendError):
    """The backend answered a non-200 status; the message is ``HttpBackend``'s for it."""

    def __init__(self, what: str, status: int) -> None:
        kind = "4XX status code" if 400 <= status <= 499 else "non-200 response code"
        super().__init__(f"{what}: {kind}: {status}")
        self.status = status


class AgentLink:
    """A tracer's in-memory connection to its agent's ``/v0.7/config``."""

    def __init__(
        self, service: RcService, metrics: AgentMetrics, clock: Clock, cache_size: int = 1024
    ) -> None:
        self.service = service
        self.metrics = metrics
        self.clock = clock
        self.max_body_bytes = service.settings.max_body_bytes
        # decode_request is a pure function of the bytes, and a tracer whose state has not
        # changed resends the same bytes: the decoded request is kept (never mutated).
        self._decoded: dict[bytes, ClientGetConfigsRequest] = {}
        self._cache_size = cache_size
        self._counted: dict[tuple[str, str], Any] = {}
        self._timed: dict[str, Any] = {}

    def _decode(self, body: bytes) -> ClientGetConfigsRequest:
        decoded = self._decoded.get(body)
        if decoded is None:
            decoded = decode_request(body)
            if len(self._decoded) >= self._cache_size:
                self._decoded.clear()
            self._decoded[body] = decoded
        return decoded

    def _count(self, lane: str, outcome: str, seconds: float) -> None:
        counter = self._counted.get((lane, outcome))
        if counter is None:
            counter = self._counted[lane, outcome] = self.metrics.requests.labels(
                lane=lane, outcome=outcome
            )
        counter.inc()
        timer = self._timed.get(lane)
        if timer is None:
            timer = self._timed[lane] = self.metrics.request_duration.labels(lane=lane)
        timer.observe(seconds)

    async def post(self, path: str, body: bytes, timeout: float) -> HttpResponse:
        del path, timeout  # one endpoint; the tracer enforces its timeout on the clock
        t0 = self.clock.monotonic()
        lane: Lane = "standard"
        outcome = "error_internal"
        try:
            if len(body) > self.max_body_bytes:
                outcome = "error_too_large"
                return _error(413, f"request body larger than {self.max_body_bytes} bytes")
            try:
                decoded = self._decode(body)
            except WireError as exc:
                outcome = "error_decode"
                return _error(400, str(exc))
            if decoded.client is not None:
                lane = lane_of(decoded.client.products)
            try:
                served = await self.service.client_get_configs(decoded)
            except Unavailable as exc:
                outcome = "error_unavailable"
                return _error(500, str(exc))
            except AgentError as exc:
                outcome = "error_invalid"
                return _error(500, str(exc))
            response = served.response
            if response.config_status:
                outcome = "config_expired"
            else:
                outcome = "no_update" if response.is_empty else "update"
            return HttpResponse(200, _JSON, response.to_json_bytes())
        finally:
            self._count(lane, outcome, self.clock.monotonic() - t0)

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class BackendCall:
    """One ``/configurations`` call as the backend and its agent saw it (virtual seconds)."""

    arrived: float
    ended: float
    status: int


@dataclass
class SimBackend:
    """The one backend every simulated agent calls; records every configurations call."""

    state: BackendState
    clock: Clock
    calls: list[BackendCall] = field(default_factory=list)

    async def configurations(self, request: pb.LatestConfigsRequest) -> pb.LatestConfigsResponse:
        """Answer one agent refresh, or raise ``BackendError`` as ``HttpBackend`` would."""
        arrived = self.clock.monotonic()
        capacity = self.state.capacity
        status = 500
        try:
            if not capacity.limited:
                reply = await self._serve(request)
            else:
                rejection = capacity.admit(arrived)
                if rejection is not None:
                    self.state.metrics.capacity_rejected.labels(reason=rejection.reason).inc()
                    raise BackendRefusal("POST /api/v0.1/configurations", 429)
                async with capacity.slot(self.clock) as waited:
                    self.state.metrics.queue_wait.observe(waited)
                    reply = await self._serve(request)
            status = 200
            return reply
        except BackendRefusal as exc:
            status = exc.status
            raise
        finally:
            ended = self.clock.monotonic()
            self.calls.append(BackendCall(arrived, ended, status))
            self.state.metrics.observe("configurations", status, ended - arrived, 0)

    async def _faults(self, endpoint: str) -> None:
        decision = self.state.faults.decide(self.clock.monotonic())
        for kind in decision.kinds:
            self.state.metrics.fault(kind)
        if decision.delay_s > 0:
            await self.clock.sleep(decision.delay_s)
        if decision.status is not None:
            raise BackendRefusal(endpoint, decision.status)

    async def _serve(self, request: pb.LatestConfigsRequest) -> pb.LatestConfigsResponse:
        await self._faults("POST /api/v0.1/configurations")
        state = self.state
        return answer_configurations(
            request,
            state.catalogue,
            state.director,
            state.settings,
            now=self.clock.time(),
            refresh_interval_s=state.capacity.refresh_interval(self.clock.monotonic()),
        )

    async def org_uuid(self) -> str:
        """``GET /api/v0.1/org`` (faults apply, as in the app; capacity does not)."""
        await self._faults("GET /api/v0.1/org")
        return self.state.settings.org_uuid


class BackendLink:
    """One agent's in-memory connection to the shared backend (``agent.backend_client.Backend``)."""

    def __init__(self, backend: SimBackend) -> None:
        self.backend = backend

    async def latest_configs(self, request: pb.LatestConfigsRequest) -> pb.LatestConfigsResponse:
        return await self.backend.configurations(request)

    async def org_uuid(self) -> str:
        return await self.backend.org_uuid()

    async def aclose(self) -> None:
        return None
