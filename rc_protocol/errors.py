"""Exceptions of the shared protocol package.

One tree under one base, so that a service can map every protocol failure at its edge::

    ProtocolError
    ├── PathError            a config path that is not datadog/<org>/<P>/<id>/<name> or employee/...
    ├── WireDecodeError      a /v0.7/config body that is not a JSON object (agent answers 400)
    ├── WireValidationError  a JSON object with wrong field types (agent answers 500)
    ├── TargetsError         a signed targets.json that real clients would reject
    ├── UfcError             an FFE_FLAGS payload (UFC JSON) that real parsers would reject
    └── WaitTimeout          poll_until / apoll_until gave up (also a TimeoutError)
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every error raised by `rc_protocol`."""


class PathError(ProtocolError, ValueError):
    """A remote-config path could not be parsed; the message names the path."""


class WireDecodeError(ProtocolError, ValueError):
    """The request body is not decodable JSON, or not a JSON object (HTTP 400 in the agent)."""


class WireValidationError(ProtocolError, ValueError):
    """The request is JSON but a field has the wrong type (HTTP 500 in the agent).

    The message names the field path, e.g. ``client.state.root_version``.
    """


class TargetsError(ProtocolError, ValueError):
    """A signed targets document is missing something real clients require."""


class UfcError(ProtocolError, ValueError):
    """A UFC (FFE_FLAGS) payload is invalid; the message names the flag or field."""


class WaitTimeout(ProtocolError, TimeoutError):
    """A `poll_until` / `apoll_until` wait ran out of time; the message names what it waited for."""
