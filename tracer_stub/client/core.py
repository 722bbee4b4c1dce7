"""The sans-IO core of one RC client (one fetcher): its state, its requests, its validation.

A faithful model of libdatadog's ``ConfigFetcher::fetch_once`` (``libdd-remote-config``
``fetch/fetcher.rs``), the strictest of the real clients:

- the request carries ``root_version`` (1), ``targets_version``, one ``config_state`` and one
  ``cached_target_files`` entry per stored file, the opaque ``backend_client_state`` from the
  last targets, the client id, products, capabilities and ``client_tracer``;
- 404 means RC is inactive: every config is removed; any other non-200 is an error;
- a body of at most 3 bytes (``{}``) means no change;
- ``targets`` is base64 of the signed targets JSON, parsed strictly (``rc_protocol.targets``);
  its ``custom.opaque_backend_state`` becomes the next ``backend_client_state`` at once;
- the paths in ``client_configs`` select what is applied; stored files not listed are removed;
- for each target: a stored file with the same hash is skipped, a target without an entry in
  ``target_files`` is skipped ("not meant for us"), ``raw`` is base64, a sha256 mismatch is an
  error, ``custom.v`` must be an integer;
- every ``client_configs`` path must end up stored, or the update is an error; only then is
  ``targets_version`` updated and subscribers told (``on_fetch``).

As in libdatadog, files stored before an error stay stored (they show in the next request's
cached files); subscribers only hear about a successful update, as the diff between what they
were last told and what is stored.

In agent mode libdatadog never reports ``has_error`` (errors are only logged); the
``report_errors`` flag turns reporting on (dd-trace-go style: the last error, once).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from rc_protocol.capabilities import encode_capabilities
from rc_protocol.errors import PathError, ProtocolError
from rc_protocol.paths import ConfigPath
from rc_protocol.targets import SignedTargets, parse_signed_targets
from rc_protocol.wire import (
    BytesEncoding,
    ClientGetConfigsRequest,
    ClientGetConfigsResponse,
    ConfigState,
    TargetFileHash,
    TargetFileMeta,
    decode_response,
    encode_request,
    tracer_request,
)

__all__ = [
    "ApplyKind",
    "ApplyResult",
    "ChangeKind",
    "ClientCore",
    "ClientIdentity",
    "ConfigChange",
    "StoredFile",
]

ACKNOWLEDGED = 2
ERROR = 3


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """Who a client is: the ``client`` and ``client_tracer`` fields that never change."""

    client_id: str
    runtime_id: str
    language: str
    tracer_version: str
    service: str
    env: str
    app_version: str


@dataclass(slots=True)
class StoredFile:
    """One applied config file (libdatadog ``StoredTargetFile``)."""

    path: str
    product: str
    config_id: str
    version: int
    sha256: str
    length: int
    raw: bytes
    apply_state: int = ACKNOWLEDGED
    apply_error: str = ""


class ChangeKind(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """A change subscribers of a product hear about."""

    kind: ChangeKind
    product: str
    path: str
    version: int
    raw: bytes | None  # None when removed


class ApplyKind(StrEnum):
    UPDATED = "update"  # a new targets version was applied (maybe with no file change)
    NO_CHANGE = "no_change"  # body <= 3 bytes
    INACTIVE = "inactive"  # 404: RC inactive, everything removed
    ERROR = "error"  # non-200/404 status
    REJECTED = "rejected"  # a 200 body that failed validation


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What applying one response did."""

    kind: ApplyKind
    changes: tuple[ConfigChange, ...] = ()
    error: str = ""
    server_refresh_interval_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.kind in (ApplyKind.UPDATED, ApplyKind.NO_CHANGE, ApplyKind.INACTIVE)


#: Called for each change after a successful update; returns an apply error (the config is
#: then reported with apply_state 3, as a product callback's failure is) or ``None``.
Listener = Callable[[ConfigChange], "str | None"]


class ClientCore:
    """State and rules of one RC client; no I/O, no clock."""

    def __init__(
        self,
        identity: ClientIdentity,
        products: Iterable[str],
        capabilities: Iterable[int],
        *,
        report_errors: bool = False,
    ) -> None:
        self.identity = identity
        self.products: tuple[str, ...] = tuple(products)
        self.capabilities: frozenset[int] = frozenset(capabilities)
        self._encoded_capabilities = encode_capabilities(self.capabilities)
        self.report_errors = report_errors
        self.root_version = 1
        self.targets_version = 0
        self.backend_client_state = b""
        self.files: dict[str, StoredFile] = {}
        self.last_error = ""
        self._delivered: dict[str, tuple[str, int]] = {}  # path -> (sha256, version) told
        self._listeners: list[Listener] = []
        # The encoded request only changes with the state: a thousand tracers polling every
        # second mostly resend the same bytes, so they are cached per state generation.
        self._generation = 0
        self._encoded: tuple[int, str, bytes] | None = None

    # -- subscriptions ----------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` for every change of every product after a successful update."""
        self._listeners.append(listener)

    def set_products(self, products: Iterable[str], capabilities: Iterable[int]) -> None:
        """Change what the next request asks for (a product subscribed after start)."""
        self.products = tuple(products)
        self.capabilities = frozenset(capabilities)
        self._encoded_capabilities = encode_capabilities(self.capabilities)
        self._generation += 1

    def set_apply_state(self, path: str, error: str | None) -> None:
        """Record that applying `path` failed (apply_state 3) or succeeded (2)."""
        stored = self.files.get(path)
        if stored is not None:
            stored.apply_state = ERROR if error else ACKNOWLEDGED
            stored.apply_error = error or ""
            self._generation += 1

    # -- request ----------------------------------------------------------------------------

    def encoded_request(self, bytes_as: BytesEncoding = "array") -> bytes:
        """The JSON body of the next request, cached while the state is unchanged.

        A body that reports an error is built fresh and never cached: the error is sent once
        (`build_request` clears it), and the next request must not repeat it.
        """
        if self.report_errors and self.last_error:
            return encode_request(self.build_request(), bytes_as=bytes_as)
        cached = self._encoded
        if cached is not None and cached[0] == self._generation and cached[1] == bytes_as:
            return cached[2]
        body = encode_request(self.build_request(), bytes_as=bytes_as)
        self._encoded = (self._generation, bytes_as, body)
        return body

    def build_request(self) -> ClientGetConfigsRequest:
        ident = self.identity
        has_error = self.report_errors and bool(self.last_error)
        error = self.last_error if has_error else ""
        if has_error:
            self.last_error = ""  # reported once (dd-trace-go, dd-trace-js)
        return tracer_request(
            client_id=ident.client_id,
            runtime_id=ident.runtime_id,
            products=self.products,
            capabilities=self._encoded_capabilities,
            language=ident.language,
            tracer_version=ident.tracer_version,
            service=ident.service,
            env=ident.env,
            app_version=ident.app_version,
            root_version=self.root_version,
            targets_version=self.targets_version,
            config_states=[
                ConfigState(
                    id=f.config_id,
                    version=f.version,
                    product=f.product,
                    apply_state=f.apply_state,
                    apply_error=f.apply_error,
                )
                for f in self.files.values()
            ],
            backend_client_state=self.backend_client_state,
            has_error=has_error,
            error=error,
            cached_target_files=[
                TargetFileMeta(
                    path=f.path,
                    length=f.length,
                    hashes=[TargetFileHash(algorithm="sha256", hash=f.sha256)],
                )
                for f in self.files.values()
            ],
        )

    # -- response ---------------------------------------------------------------------------

    def apply_response(self, status: int, body: bytes) -> ApplyResult:
        """Apply one HTTP answer of ``/v0.7/config``; never raises for bad input."""
        if status != 200:
            if status == 404:
                self._generation += 1
                self.files.clear()
                return ApplyResult(ApplyKind.INACTIVE, self._notify())
            text = body[:200].decode("utf-8", "replace")
            return self._fail(
                ApplyKind.ERROR, f"Server did not accept remote config request: {status} {text}"
            )
        if len(body) <= 3:
            return ApplyResult(ApplyKind.NO_CHANGE)
        self._generation += 1
        try:
            return self._apply(body)
        except (ProtocolError, ValueError) as exc:
            return self._fail(ApplyKind.REJECTED, str(exc))

    def _fail(self, kind: ApplyKind, message: str) -> ApplyResult:
        self.last_error = message
        return ApplyResult(kind, error=message)

    def _apply(self, body: bytes) -> ApplyResult:
        response, signed = _read_response(body)
        # libdatadog keeps the string's bytes (`opaque_backend_state.as_bytes()`), undecoded.
        self.backend_client_state = signed.opaque_backend_state.encode()
        refresh = signed.agent_refresh_interval

        incoming = {f.path: f.raw for f in response.target_files}
        config_paths: set[str] = set()
        for path in response.client_configs:
            try:
                ConfigPath.parse(path)
            except PathError:
                continue  # libdatadog: warn!("Failed parsing remote config path")
            config_paths.add(path)

        for path in [p for p in self.files if p not in config_paths]:
            del self.files[path]

        for path, meta in signed.targets.items():
            try:
                parsed = ConfigPath.parse(path)
            except PathError:
                continue
            if not meta.sha256:
                continue  # libdatadog: warn!("Found a target file without hashes")
            stored = self.files.get(path)
            if stored is not None and stored.sha256 == meta.sha256:
                continue
            raw = incoming.get(path)
            if raw is None:
                continue  # "If the file isn't there, it's not meant for us."
            computed = hashlib.sha256(raw).hexdigest()
            if computed != meta.sha256:
                raise ValueError(
                    f"Computed hash of file {computed} did not match remote config targets "
                    f"file hash {meta.sha256} for path {path}"
                )
            if not isinstance(meta.version, int) or isinstance(meta.version, bool):
                raise ValueError(f"Failed parsing version from remote config path {path}")
            self.files[path] = StoredFile(
                path=path,
                product=parsed.product,
                config_id=parsed.config_id,
                version=meta.version,
                sha256=computed,
                length=len(raw),
                raw=raw,
            )

        for path in config_paths:
            if path not in self.files:
                raise ValueError(f"Found {path} in client_configs response, but it isn't stored.")

        self.targets_version = signed.version
        return ApplyResult(
            ApplyKind.UPDATED,
            self._notify(),
            server_refresh_interval_s=float(refresh) if refresh else None,
        )

    def _notify(self) -> tuple[ConfigChange, ...]:
        changes: list[ConfigChange] = []
        for path in [p for p in self._delivered if p not in self.files]:
            _, version = self._delivered.pop(path)
            product = _product_of(path)
            changes.append(ConfigChange(ChangeKind.REMOVED, product, path, version, None))
        for path, f in self.files.items():
            told = self._delivered.get(path)
            if told is not None and told[0] == f.sha256:
                continue
            kind = ChangeKind.ADDED if told is None else ChangeKind.UPDATED
            self._delivered[path] = (f.sha256, f.version)
            changes.append(ConfigChange(kind, f.product, path, f.version, f.raw))
        for change in changes:
            for listener in self._listeners:
                error = listener(change)
                if change.kind is not ChangeKind.REMOVED:
                    self.set_apply_state(change.path, error)
        return tuple(changes)


@functools.lru_cache(maxsize=64)
def _read_response(body: bytes) -> tuple[ClientGetConfigsResponse, SignedTargets]:
    """The response and its signed targets, decoded once per distinct body in this process.

    Pure (and its results are only read): the tracers a stub process hosts receive the same
    bytes from the agent, and decoding them is a simulation cost that a real tracer, alone in
    its process, pays once too. A body that fails raises each time (nothing is cached)."""
    response = decode_response(body)
    return response, parse_signed_targets(response.targets)


def _product_of(path: str) -> str:
    try:
        return ConfigPath.parse(path).product
    except PathError:
        return ""
