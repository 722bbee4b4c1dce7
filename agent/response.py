"""Build a tracer's ``ClientGetConfigsResponse`` from the store (end of ``ClientGetConfigs``).

1. Once the agent has had a successful update, an expired director timestamp answers
   ``{targets, config_status: CONFIG_STATUS_EXPIRED}`` (``flushCacheResponseLocked``).
2. ``hasUpdate = director targets version != client.state.targets_version``; no update -> ``{}``.
   Only the version is compared: a client that adds a product at the current version gets
   ``{}``, and so does a new client (version 0) facing an agent that never refreshed (0).
3. ``roots``: director roots newer than ``client.state.root_version`` (``getNewDirectorRoots``).
4. ``executeTracerPredicates``: product in ``client.products``, ``custom.expires`` not passed,
   tracer predicates match (:mod:`agent.predicates`). ``client_configs`` lists all matches.
5. Diff: a matched file is sent unless the client's ``cached_target_files`` entry has the same
   length and an equal hash for a common algorithm (go-tuf ``FileMetaEqual``); cached hashes
   are hex, and a non-hex one fails the request (``makeFileMetaMap``).
6. ``{roots, targets (raw signed targets), target_files, client_configs}``; files sorted by path.

:class:`ResponseCache` keeps the encoded answers: a response depends only on the store's state,
the client's ``root_version``, ``products`` and ``cached_target_files`` (and, when a target has
tracer predicates or an expiry, on who the client is and the time: those stores are never
cached, ``Store.per_client``). A fleet booting at once asks the same question a thousand times;
the agent answers it once and sends the same bytes.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

from agent.errors import ResponseError, StoreError
from agent.policy import Lane
from agent.predicates import config_expired, execute_predicate, predicates_v1
from agent.store import Store
from rc_protocol.errors import PathError
from rc_protocol.paths import ConfigPath
from rc_protocol.targets import TargetMeta
from rc_protocol.wire import (
    ClientGetConfigsRequest,
    ClientGetConfigsResponse,
    TargetFile,
    TargetFileMeta,
)

CONFIG_STATUS_OK = 0
CONFIG_STATUS_EXPIRED = 1


def matched_configs(store: Store, request: ClientGetConfigsRequest, now_wall: float) -> list[str]:
    """``executeTracerPredicates``: the director target paths this client should hold."""
    client = request.client
    assert client is not None
    wanted = set(client.products)
    tracer = client.client_tracer if client.is_tracer else None
    matched: list[str] = []
    for path, meta in sorted(store.target_metas.items()):
        try:
            product = ConfigPath.parse(path).product
        except PathError as exc:
            raise ResponseError(f"director target path {path!r} is invalid: {exc}") from exc
        if product not in wanted or config_expired(meta.expires, now_wall):
            continue
        predicates = predicates_v1(meta.tracer_predicates)
        if predicates is None or execute_predicate(client.id, tracer, predicates):
            matched.append(path)
    return matched


def _cached_hashes(meta: TargetFileMeta) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for h in meta.hashes:
        try:
            out[h.algorithm] = bytes.fromhex(h.hash)
        except ValueError as exc:
            raise ResponseError(
                f"failed to decode hash of cached_target_files entry {meta.path!r}: {exc}"
            ) from exc
    return out


def file_meta_equal(cached: dict[str, bytes] | None, cached_length: int, meta: TargetMeta) -> bool:
    """go-tuf ``FileMetaEqual``: same length and equal hashes for at least one common algorithm."""
    if cached is None or cached_length != meta.length:
        return False
    expected = {"sha256": bytes.fromhex(meta.sha256)} if meta.sha256 else {}
    common = [alg for alg in expected if alg in cached]
    return bool(common) and all(cached[alg] == expected[alg] for alg in common)


def build_response(
    store: Store, request: ClientGetConfigsRequest, *, now_wall: float, initialized: bool
) -> ClientGetConfigsResponse:
    """The response to a validated request (see the module docstring for the steps)."""
    client = request.client
    assert client is not None and client.state is not None
    if initialized and store.expired(now_wall):
        return ClientGetConfigsResponse(
            targets=store.targets_raw, config_status=CONFIG_STATUS_EXPIRED
        )
    if store.targets_version == client.state.targets_version:
        return ClientGetConfigsResponse()
    try:
        roots = store.roots_after(client.state.root_version)
    except StoreError as exc:  # a root the agent does not hold
        raise ResponseError(str(exc)) from exc
    matched = matched_configs(store, request, now_wall)
    cached = {m.path: (_cached_hashes(m), m.length) for m in request.cached_target_files}
    metas = store.target_metas
    to_send: list[str] = []
    for path in matched:
        hashes, length = cached.get(path, (None, 0))
        if not file_meta_equal(hashes, length, metas[path]):
            to_send.append(path)
    return ClientGetConfigsResponse(
        roots=roots,
        targets=store.targets_raw,
        target_files=[TargetFile(path=p, raw=store.files[p]) for p in to_send],
        client_configs=matched,
        config_status=CONFIG_STATUS_OK,
    )


Outcome = Literal["update", "no_update", "config_expired"]


@dataclass(frozen=True, slots=True)
class Encoded:
    """A response and its JSON bytes (``ClientGetConfigsResponse.to_json_bytes``)."""

    response: ClientGetConfigsResponse
    body: bytes

    @property
    def outcome(self) -> Outcome:
        """The ``agent_rc_requests_total`` outcome of this answer."""
        if self.response.config_status:
            return "config_expired"
        return "no_update" if self.response.is_empty else "update"


@dataclass(frozen=True)
class Served:
    """The outcome of one ``RcService.client_get_configs`` call (for the HTTP layer)."""

    lane: Lane
    encoded: Encoded
    bypassed: bool

    @property
    def response(self) -> ClientGetConfigsResponse:
        """The response sent (``encoded.body`` is its JSON)."""
        return self.encoded.response


NO_UPDATE = Encoded(ClientGetConfigsResponse(), b"{}")


def encode(response: ClientGetConfigsResponse) -> Encoded:
    """``response`` with its bytes."""
    return Encoded(response, response.to_json_bytes())


class ResponseCache:
    """Encoded responses by (store generation, root version, products, cached files).

    ``limit`` bounds the entries (the cache is emptied when it is reached, and whenever the
    store moves on): the keys that miss are clients with unusual cached files, few in a fleet.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self.hits = 0
        self.misses = 0
        self._generation = -1
        self._entries: dict[Hashable, Encoded] = {}

    def respond(
        self, store: Store, request: ClientGetConfigsRequest, *, now_wall: float, initialized: bool
    ) -> Encoded:
        """What :func:`build_response` answers, encoded, from the cache when it can be."""
        client = request.client
        assert client is not None and client.state is not None
        if initialized and store.expired(now_wall):
            return encode(build_response(store, request, now_wall=now_wall, initialized=True))
        if store.targets_version == client.state.targets_version:
            return NO_UPDATE
        if store.per_client:
            return encode(
                build_response(store, request, now_wall=now_wall, initialized=initialized)
            )
        if store.generation != self._generation or len(self._entries) >= self.limit:
            self._entries.clear()
            self._generation = store.generation
        key = (
            client.state.root_version,
            frozenset(client.products),
            tuple(
                (m.path, m.length, tuple((h.algorithm, h.hash) for h in m.hashes))
                for m in request.cached_target_files
            ),
        )
        hit = self._entries.get(key)
        if hit is not None:
            self.hits += 1
            return hit
        self.misses += 1
        built = encode(build_response(store, request, now_wall=now_wall, initialized=initialized))
        self._entries[key] = built
        return built
