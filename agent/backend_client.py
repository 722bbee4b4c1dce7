"""The I/O boundary to the RC backend: a ``Backend`` protocol, the HTTP client and a fake.

``HttpBackend`` mirrors ``HTTPClient.Fetch`` (``pkg/config/remote/api/http.go``): it POSTs the
protobuf ``LatestConfigsRequest`` to ``{backend_url}/api/v0.1/configurations`` with headers
``Content-Type: application/x-protobuf`` and ``DD-Api-Key``; any non-200 answer is an error
(401 "unauthorized", other 4xx including 429 the "proxy" error, 5xx generic), and so are a
transport failure and an undecodable body. The real agent sets no timeout on this call; the
model adds ``backend_timeout_s`` (default 30 s) only so that a wedged backend cannot hang it.

``build_latest_configs_request`` mirrors ``buildLatestConfigsRequest`` (``util.go``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from agent.errors import BackendError
from rc_protocol.clock import Clock
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.wire import Client

POLL_ENDPOINT = "/api/v0.1/configurations"
ORG_ENDPOINT = "/api/v0.1/org"


class Backend(Protocol):
    """Something that answers the agent's ``LatestConfigsRequest``."""

    async def latest_configs(self, request: pb.LatestConfigsRequest) -> pb.LatestConfigsResponse:
        """Fetch the latest configs; raise :class:`BackendError` on any failure."""
        ...

    async def org_uuid(self) -> str:
        """``FetchOrgData``: the org UUID (``GET /api/v0.1/org``); raise BackendError."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def client_to_pb(client: Client, last_seen_ms: int) -> pb.Client:
    """Convert a wire ``Client`` into the protobuf ``Client`` sent in ``active_clients``."""
    out = pb.Client(
        id=client.id,
        products=list(client.products),
        is_tracer=client.is_tracer,
        is_agent=client.is_agent,
        is_updater=client.is_updater,
        last_seen=last_seen_ms,
        capabilities=client.capabilities,
    )
    if client.state is not None:
        st = client.state
        out.state.CopyFrom(
            pb.ClientState(
                root_version=st.root_version,
                targets_version=st.targets_version,
                config_states=[
                    pb.ConfigState(
                        id=c.id,
                        version=c.version,
                        product=c.product,
                        apply_state=c.apply_state,
                        apply_error=c.apply_error,
                    )
                    for c in st.config_states
                ],
                has_error=st.has_error,
                error=st.error,
                backend_client_state=st.backend_client_state,
            )
        )
    if client.client_tracer is not None:
        t = client.client_tracer
        out.client_tracer.CopyFrom(
            pb.ClientTracer(
                runtime_id=t.runtime_id,
                language=t.language,
                tracer_version=t.tracer_version,
                service=t.service,
                extra_services=list(t.extra_services),
                env=t.env,
                app_version=t.app_version,
                tags=list(t.tags),
                process_tags=list(t.process_tags),
                container_tags=list(t.container_tags),
            )
        )
    if client.client_agent is not None:
        a = client.client_agent
        out.client_agent.CopyFrom(
            pb.ClientAgent(
                name=a.name,
                version=a.version,
                cluster_name=a.cluster_name,
                cluster_id=a.cluster_id,
                cws_workloads=list(a.cws_workloads),
            )
        )
    return out


class ClientMessages:
    """:func:`client_to_pb` with a memory, for ``refresh()``'s list of active clients.

    The agent keeps each decoded request by its bytes (:mod:`agent.endpoints`), so a client
    polling with an unchanged state is the very same ``Client`` object at every refresh: it is
    converted once and only its ``last_seen`` is set again. With thousands of active clients the
    conversion was most of a refresh's CPU, all of it spent with the service lock held and the
    event loop blocked, which the real agent's Go code does not pay.
    """

    def __init__(self) -> None:
        self._kept: dict[int, tuple[Client, pb.Client]] = {}

    def of(self, clients: Iterable[Client], last_seen_ms: Callable[[str], int]) -> list[pb.Client]:
        """One message per client, in order, each with its ``last_seen``."""
        kept: dict[int, tuple[Client, pb.Client]] = {}
        out = []
        for client in clients:
            hit = self._kept.get(id(client))
            if hit is None or hit[0] is not client:
                hit = (client, client_to_pb(client, 0))
            message = hit[1]
            message.last_seen = last_seen_ms(client.id)
            kept[id(client)] = hit
            out.append(message)
        self._kept = kept  # clients no longer active are forgotten
        return out


@dataclass(frozen=True)
class RequestState:
    """What ``refresh()`` collects under the lock to build the backend request."""

    hostname: str
    agent_version: str
    trace_agent_env: str
    org_uuid: str
    config_snapshot_version: int
    config_root_version: int
    director_root_version: int
    products: Iterable[str]
    new_products: Iterable[str]
    active_clients: Iterable[pb.Client]
    backend_client_state: bytes
    last_error: str | None
    tags: Iterable[str] = ()


def build_latest_configs_request(state: RequestState) -> pb.LatestConfigsRequest:
    """``buildLatestConfigsRequest``: the protobuf body of one refresh."""
    return pb.LatestConfigsRequest(
        hostname=state.hostname,
        agentVersion=state.agent_version,
        current_config_snapshot_version=state.config_snapshot_version,
        current_config_root_version=state.config_root_version,
        current_director_root_version=state.director_root_version,
        products=sorted(state.products),
        new_products=sorted(state.new_products),
        active_clients=list(state.active_clients),
        backend_client_state=state.backend_client_state,
        has_error=state.last_error is not None,
        error=state.last_error or "",
        trace_agent_env=state.trace_agent_env,
        org_uuid=state.org_uuid,
        tags=list(state.tags),
    )


class HttpBackend:
    """POSTs protobuf to a real (or fake) RC backend over HTTP."""

    def __init__(
        self,
        backend_url: str,
        api_key: str,
        *,
        timeout_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = backend_url.rstrip("/") + POLL_ENDPOINT
        self.org_url = backend_url.rstrip("/") + ORG_ENDPOINT
        self._headers = {"Content-Type": "application/x-protobuf", "DD-Api-Key": api_key}
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def _call(self, method: str, url: str, content: bytes) -> bytes:
        what = f"{method} {url}"
        try:
            answer = await self._client.request(method, url, content=content, headers=self._headers)
        except httpx.TimeoutException as exc:
            raise BackendError(f"{what} timed out: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise BackendError(
                f"failed to issue request {what}: {exc!r}; is the backend running?"
            ) from exc
        if answer.status_code == 401:
            raise BackendError(
                f"{what}: 401 unauthorized. Please make sure your API key is valid "
                "and has the Remote Config scope"
            )
        if 400 <= answer.status_code <= 499:
            raise BackendError(f"{what}: 4XX status code: {answer.status_code}")
        if answer.status_code != 200:
            raise BackendError(f"{what}: non-200 response code: {answer.status_code}")
        return answer.content

    async def latest_configs(self, request: pb.LatestConfigsRequest) -> pb.LatestConfigsResponse:
        raw = await self._call("POST", self.url, request.SerializeToString())
        response = pb.LatestConfigsResponse()
        try:
            response.ParseFromString(raw)
        except Exception as exc:  # google.protobuf.message.DecodeError (untyped module)
            raise BackendError(f"POST {self.url}: failed to decode response: {exc}") from exc
        return response

    async def org_uuid(self) -> str:
        raw = await self._call("GET", self.org_url, b"")
        response = pb.OrgDataResponse()
        try:
            response.ParseFromString(raw)
        except Exception as exc:  # google.protobuf.message.DecodeError (untyped module)
            raise BackendError(f"GET {self.org_url}: failed to decode response: {exc}") from exc
        return str(response.uuid)

    async def aclose(self) -> None:
        await self._client.aclose()


Responder = Callable[[pb.LatestConfigsRequest], pb.LatestConfigsResponse]


@dataclass
class FakeBackend:
    """An in-process backend for tests: answers with ``responder``, after ``delay_s``.

    ``gate``, when set, holds every ``latest_configs`` call until the test sets it (to keep a
    refresh running). ``fail_next`` makes the next N ``latest_configs`` calls raise
    :class:`BackendError`. Every request is kept. ``org_uuid`` only waits ``delay_s`` and
    counts its calls in ``org_calls``.
    """

    responder: Responder
    clock: Clock
    delay_s: float = 0.0
    gate: asyncio.Event | None = None
    fail_next: int = 0
    requests: list[pb.LatestConfigsRequest] = field(default_factory=list)
    in_flight: int = 0
    org: str = "00000000-0000-0000-0000-000000000002"
    org_calls: int = 0

    async def latest_configs(self, request: pb.LatestConfigsRequest) -> pb.LatestConfigsResponse:
        self.requests.append(request)
        self.in_flight += 1
        try:
            if self.delay_s > 0:
                await self.clock.sleep(self.delay_s)
            if self.gate is not None:
                await self.gate.wait()
            if self.fail_next > 0:
                self.fail_next -= 1
                raise BackendError("fake backend: injected error (503)")
            return self.responder(request)
        finally:
            self.in_flight -= 1

    async def org_uuid(self) -> str:
        self.org_calls += 1
        if self.delay_s > 0:
            await self.clock.sleep(self.delay_s)
        return self.org

    async def aclose(self) -> None:
        return None
