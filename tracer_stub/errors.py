"""Exceptions of the tracer stub.

One tree under one base, so that ``__main__`` maps every stub failure to one line::

    StubError
    ├── SettingsError   a setting (env var or flag) has a value the stub cannot use
    │                   (also an rc_protocol.errors.SettingsError, a ValueError)
    ├── ApplyError      an RC response a real client (libdatadog) would reject
    └── TransportError  the agent could not be reached or answered garbage at the HTTP level
"""

from __future__ import annotations

from rc_protocol.errors import SettingsError as SharedSettingsError


class StubError(Exception):
    """Base of every error raised by `tracer_stub`."""


class SettingsError(StubError, SharedSettingsError):
    """A setting is invalid; the message names the setting (and its env var) and what to use."""


class ApplyError(StubError):
    """An RC response was rejected by the client core; the message names the path or field."""


class TransportError(StubError):
    """An HTTP exchange with the agent failed (connect, timeout, malformed HTTP)."""
