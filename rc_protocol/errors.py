"""Exceptions of the shared protocol package.

One tree under one base, so that a service can map every protocol failure at its edge::

    ProtocolError
    ├── PathError            a config path that is not datadog/<org>/<P>/<id>/<name> or employee/...
    ├── WireError            a /v0.7/config body the trace-agent's json.Unmarshal rejects (400)
    │   ├── WireDecodeError      not JSON, or JSON that is not an object
    │   └── WireValidationError  a JSON object with a field of the wrong type (names the field)
    ├── TargetsError         a signed targets.json that real clients would reject
    ├── UfcError             an FFE_FLAGS payload (UFC JSON) that real parsers would reject
    ├── SettingsError        a service setting (env var or flag) with a value it cannot use
    │                        (each service's own SettingsError derives from it)
    └── WaitTimeout          poll_until / apoll_until gave up (also a TimeoutError)
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every error raised by `rc_protocol`."""


class PathError(ProtocolError, ValueError):
    """A remote-config path could not be parsed; the message names the path."""


class WireError(ProtocolError, ValueError):
    """A `/v0.7/config` body could not be decoded into the request type.

    The real trace-agent (`cmd/trace-agent/config/remote/config.go` ``ConfigHandler``) decodes the
    body with Go's ``encoding/json.Unmarshal`` and answers **400** with the error text for any
    failure, syntax and type mismatches alike. Its 500s come later, from the semantic checks of
    ``ClientGetConfigs`` (missing client, ``root_version <= 0``...), which are the agent's.
    """


class WireDecodeError(WireError):
    """The request body is not decodable JSON, or JSON that is not an object."""


class WireValidationError(WireError):
    """The request is a JSON object but a field has the wrong type.

    The message names the field path, e.g. ``client.state.root_version``.
    """


class TargetsError(ProtocolError, ValueError):
    """A signed targets document is missing something real clients require."""


class UfcError(ProtocolError, ValueError):
    """A UFC (FFE_FLAGS) payload is invalid; the message names the flag or field."""


class WaitTimeout(ProtocolError, TimeoutError):
    """A `poll_until` / `apoll_until` wait ran out of time; the message names what it waited for."""


class SettingsError(ProtocolError, ValueError):
    """A setting has a value that cannot be used (:mod:`rc_protocol.settings`).

    The message names the variable or flag, the value and what is expected; ``field`` is the
    settings field and ``expected`` what it accepts, when known (the scenario reuses them).
    """

    def __init__(self, message: str, *, field: str = "", expected: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.expected = expected
