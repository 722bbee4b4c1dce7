"""Pydantic models of the tracer-facing `/v0.7/config` endpoint.

The trace-agent (`cmd/trace-agent/config/remote/config.go` ``ConfigHandler``) decodes the JSON
body with Go's ``encoding/json`` into the protobuf-generated ``ClientGetConfigsRequest``
(datadog-agent `pkg/proto/datadog/remoteconfig/remoteconfig.proto`) and answers with
``json.Marshal`` of ``ClientGetConfigsResponse``. These models reproduce what that means:

- keys are the proto field names (``root_version``, ``client_tracer``...); unknown keys are
  ignored; ``null`` for any field leaves its zero value (so a body of ``null`` is an empty
  request, which the agent's semantic checks then reject);
- types are strict, as in Go: a string where a number is expected, ``1.0`` or ``-1`` for a
  ``uint64``, a number for a bool, are all errors;
- ``bytes`` fields (`WireBytes`) accept a base64 string (Go, JS, old Python tracers) or a JSON
  array of ints 0..255 (libdatadog, so ddtrace-py >= 4.14): Go's ``encoding/json`` accepts both
  for ``[]byte``. They serialise as base64;
- the response is encoded like Go's ``json.Marshal`` of the generated struct: every field is
  ``omitempty``, so an empty response is exactly ``{}`` and empty lists are left out.

Not modelled: ``encoding/json``'s case-insensitive key matching (``"Client"`` would match
``client`` in Go; here it is an unknown key and ignored).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Annotated, Any, Literal, NoReturn

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SerializationInfo,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from rc_protocol.errors import WireDecodeError, WireError, WireValidationError

__all__ = [
    "Client",
    "ClientAgent",
    "ClientGetConfigsRequest",
    "ClientGetConfigsResponse",
    "ClientState",
    "ClientTracer",
    "ClientUpdater",
    "ConfigState",
    "TargetFile",
    "TargetFileHash",
    "TargetFileMeta",
    "WireBytes",
    "WireDecodeError",
    "WireError",
    "WireValidationError",
    "decode_request",
    "decode_response",
    "encode_request",
    "tracer_request",
]

BytesEncoding = Literal["base64", "array"]

_UINT64_MAX = 2**64 - 1
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def _validate_wire_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"not valid base64 ({exc})") from None
    if isinstance(value, (list, tuple)):
        for item in value:
            if type(item) is not int or not 0 <= item <= 255:
                raise ValueError(f"byte array element {item!r} is not an integer in 0..255")
        return bytes(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise ValueError(
        f"expected a base64 string or an array of integers 0..255, got {type(value).__name__}"
    )


def _serialize_wire_bytes(value: bytes, info: SerializationInfo) -> Any:
    if not info.mode_is_json():
        return value
    context = info.context
    if isinstance(context, dict) and context.get("bytes_as") == "array":
        return list(value)
    return base64.b64encode(value).decode("ascii")


#: A protobuf ``bytes`` field on the JSON wire: accepts a base64 string or an array of byte
#: values, serialises as base64 (or as an array with ``context={"bytes_as": "array"}``).
WireBytes = Annotated[
    bytes,
    PlainValidator(_validate_wire_bytes, json_schema_input_type=str | list[int]),
    PlainSerializer(_serialize_wire_bytes, when_used="always"),
]

Uint64 = Annotated[int, Field(ge=0, le=_UINT64_MAX)]
Int64 = Annotated[int, Field(ge=_INT64_MIN, le=_INT64_MAX)]


class _WireModel(BaseModel):
    """Common config: strict types, unknown keys ignored, ``null`` means "zero value"."""

    model_config = ConfigDict(extra="ignore", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_zero_value(cls, data: Any) -> Any:
        if data is None:
            return {}
        if isinstance(data, dict) and None in data.values():
            return {k: v for k, v in data.items() if v is not None}
        return data


class ConfigState(_WireModel):
    """One applied config as the client reports it (`ConfigState`)."""

    id: str = ""
    version: Uint64 = 0
    product: str = ""
    apply_state: Uint64 = 0
    """1 unacknowledged, 2 acknowledged, 3 error."""
    apply_error: str = ""


class ClientState(_WireModel):
    """The client's TUF and config state (`ClientState`)."""

    root_version: Uint64 = 0
    targets_version: Uint64 = 0
    config_states: list[ConfigState] = Field(default_factory=list)
    has_error: bool = False
    error: str = ""
    backend_client_state: WireBytes = b""


class ClientTracer(_WireModel):
    """Tracer identity (`ClientTracer`)."""

    runtime_id: str = ""
    language: str = ""
    tracer_version: str = ""
    service: str = ""
    extra_services: list[str] = Field(default_factory=list)
    env: str = ""
    app_version: str = ""
    tags: list[str] = Field(default_factory=list)
    process_tags: list[str] = Field(default_factory=list)
    container_tags: list[str] = Field(default_factory=list)


class ClientAgent(_WireModel):
    """Agent identity, for agent-side clients (`ClientAgent`)."""

    name: str = ""
    version: str = ""
    cluster_name: str = ""
    cluster_id: str = ""
    cws_workloads: list[str] = Field(default_factory=list)


class ClientUpdater(_WireModel):
    """Installer identity (`ClientUpdater`); packages are kept as raw JSON objects."""

    tags: list[str] = Field(default_factory=list)
    packages: list[dict[str, Any]] = Field(default_factory=list)
    available_disk_space: Uint64 = 0


class Client(_WireModel):
    """An RC client (`Client`). Exactly one of `is_tracer`/`is_agent`/`is_updater` is expected."""

    state: ClientState | None = None
    id: str = ""
    products: list[str] = Field(default_factory=list)
    is_tracer: bool = False
    client_tracer: ClientTracer | None = None
    is_agent: bool = False
    client_agent: ClientAgent | None = None
    last_seen: Uint64 = 0
    capabilities: WireBytes = b""
    is_updater: bool = False
    client_updater: ClientUpdater | None = None


class TargetFileHash(_WireModel):
    """One hash of a cached file (`TargetFileHash`); `hash` is lower-case hex."""

    algorithm: str = ""
    hash: str = ""


class TargetFileMeta(_WireModel):
    """A file the client already holds (`TargetFileMeta`)."""

    path: str = ""
    length: Int64 = 0
    hashes: list[TargetFileHash] = Field(default_factory=list)


class ClientGetConfigsRequest(_WireModel):
    """Body of `/v0.7/config` (`ClientGetConfigsRequest`)."""

    client: Client | None = None
    cached_target_files: list[TargetFileMeta] = Field(default_factory=list)


class TargetFile(_WireModel):
    """A config file sent to the client (proto `File`): its path and raw bytes."""

    path: str = ""
    raw: WireBytes = b""


class ClientGetConfigsResponse(_WireModel):
    """Answer of `/v0.7/config` (`ClientGetConfigsResponse`).

    `config_status` is 1 (``CONFIG_STATUS_EXPIRED``) when the director timestamp expired.
    """

    roots: list[WireBytes] = Field(default_factory=list)
    targets: WireBytes = b""
    target_files: list[TargetFile] = Field(default_factory=list)
    client_configs: list[str] = Field(default_factory=list)
    config_status: Uint64 = 0

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to send (the wire form is ``{}``)."""
        return not (
            self.roots
            or self.targets
            or self.target_files
            or self.client_configs
            or self.config_status
        )

    def to_json_bytes(self) -> bytes:
        """Encode like Go's ``json.Marshal`` of the generated struct (all fields omitempty).

        ``{}`` when empty; otherwise only the non-empty fields, in proto order, bytes as base64.
        """
        return self.model_dump_json(exclude_defaults=True).encode()


def _loc(error: ErrorDetails) -> str:
    out = ""
    for part in error["loc"]:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {"function-plain[_validate_wire_bytes()]"}:
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "<body>"


def _raise_wire_error(exc: ValidationError, what: str) -> NoReturn:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    first = errors[0]
    if first["type"] == "json_invalid" or (first["type"] == "model_type" and not first["loc"]):
        raise WireDecodeError(f"{what}: body is not a JSON object: {first['msg']}") from None
    details = "; ".join(f"{_loc(e)}: {e['msg']}" for e in errors[:5])
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    raise WireValidationError(f"{what}: {details}{more}") from None


def decode_request(body: bytes | str) -> ClientGetConfigsRequest:
    """Decode a `/v0.7/config` request body.

    Raises:
        WireDecodeError: not JSON, or JSON that is not an object (``null`` is accepted and gives
            an empty request, as Go's ``json.Unmarshal`` does).
        WireValidationError: a field of the wrong type; the message names the field path.
    """
    try:
        return ClientGetConfigsRequest.model_validate_json(body)
    except ValidationError as exc:
        _raise_wire_error(exc, "/v0.7/config request")


def decode_response(body: bytes | str) -> ClientGetConfigsResponse:
    """Decode a `/v0.7/config` response body (what a tracer receives).

    A body of at most 3 bytes (``{}``) is "no change" for libdatadog (`fetcher.rs`); it decodes
    to an empty response here.

    Raises:
        WireError: the body is not a valid response.
    """
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) <= 3:
        return ClientGetConfigsResponse()
    try:
        return ClientGetConfigsResponse.model_validate_json(raw)
    except ValidationError as exc:
        _raise_wire_error(exc, "/v0.7/config response")


def encode_request(
    request: ClientGetConfigsRequest, *, bytes_as: BytesEncoding = "base64"
) -> bytes:
    """Encode a request as a tracer does; `bytes_as` picks the real encoding of bytes fields.

    ``"base64"``: strings (dd-trace-go, dd-trace-js, ddtrace-py before 4.14).
    ``"array"``: JSON arrays of ints (libdatadog, so ddtrace-py >= 4.14).
    Absent sub-messages are left out; every scalar is written.
    """
    return request.model_dump_json(exclude_none=True, context={"bytes_as": bytes_as}).encode()


def tracer_request(
    *,
    client_id: str,
    runtime_id: str,
    products: Iterable[str],
    capabilities: bytes = b"",
    language: str = "python",
    tracer_version: str = "4.16.0",
    service: str = "svc",
    env: str = "prod",
    app_version: str = "1.0",
    root_version: int = 1,
    targets_version: int = 0,
    config_states: Iterable[ConfigState] = (),
    backend_client_state: bytes = b"",
    has_error: bool = False,
    error: str = "",
    cached_target_files: Iterable[TargetFileMeta] = (),
) -> ClientGetConfigsRequest:
    """Build a tracer's request with the fields real tracers fill (see tracer-rc-clients.md)."""
    return ClientGetConfigsRequest(
        client=Client(
            state=ClientState(
                root_version=root_version,
                targets_version=targets_version,
                config_states=list(config_states),
                has_error=has_error,
                error=error,
                backend_client_state=backend_client_state,
            ),
            id=client_id,
            products=list(products),
            is_tracer=True,
            client_tracer=ClientTracer(
                runtime_id=runtime_id,
                language=language,
                tracer_version=tracer_version,
                service=service,
                env=env,
                app_version=app_version,
            ),
            capabilities=capabilities,
        ),
        cached_target_files=list(cached_target_files),
    )
