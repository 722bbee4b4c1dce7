"""The agent's exception tree (one base, ``AgentError``).

::

    AgentError
    ├── SettingsError      a setting (flag or environment variable) has a value the agent
    │                      cannot use (also an rc_protocol.errors.SettingsError)
    ├── InvalidRequest     a /v0.7/config request fails validation (HTTP 500, like gRPC
    │                      InvalidArgument through the trace-agent's HTTP layer)
    ├── ResponseError      the response cannot be built from the local state (HTTP 500)
    ├── Unavailable        RC is not serving yet (``rc_unavailable_s`` diagnostic; HTTP 500,
    │                      like the trace-agent when its gRPC call to the core agent fails)
    ├── BackendError       the RC backend call failed (status, timeout, undecodable body)
    └── StoreError         a backend response does not verify against its targets metadata
"""

from __future__ import annotations

from rc_protocol.errors import SettingsError as SharedSettingsError


class AgentError(Exception):
    """Base of every error raised by the agent model."""


class SettingsError(AgentError, SharedSettingsError):
    """A setting (flag or environment variable) has a value that cannot be used; the message
    names the variable or flag, the value and what is expected (:mod:`rc_protocol.settings`)."""


class InvalidRequest(AgentError):
    """A client request failed validation; the message names the offending field."""


class ResponseError(AgentError):
    """The response to a client could not be built (e.g. a bad tracer predicate)."""


class Unavailable(AgentError):
    """RC does not serve yet (the ``rc_unavailable_s`` diagnostic); answered with HTTP 500."""


class BackendError(AgentError):
    """The RC backend answered with an error, timed out, or sent an undecodable body."""


class StoreError(AgentError):
    """A backend update does not verify (missing target file, length or sha256 mismatch)."""
