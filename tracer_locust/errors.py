"""Exceptions of the Locust fleet, one tree::

FleetError
├── SettingsError   an RC_LOCUST_* setting (or flag) has a value the fleet cannot use
│                   (also an rc_protocol.errors.SettingsError, a ValueError)
└── WorkersMissing  fewer workers than expected connected within the start-up timeout
"""

from __future__ import annotations

from rc_protocol.errors import SettingsError as SharedSettingsError


class FleetError(Exception):
    """Base of every error raised by `tracer_locust`."""


class SettingsError(FleetError, SharedSettingsError):
    """A setting is invalid; the message names the setting (and its env var) and what to use."""


class WorkersMissing(FleetError):
    """Not every expected worker connected in time; the message says how many did."""
