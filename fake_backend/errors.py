"""The fake backend's exceptions: one base, so callers can catch everything from this package.

```
BackendError
├── SettingsError     a setting (env var or CLI flag) has a value we cannot use
│                     (also an rc_protocol.errors.SettingsError)
├── CatalogueError    an admin change names an unknown product or carries a bad payload
└── FaultSpecError    a fault window or rate given at run time is out of range
```
"""

from __future__ import annotations

from rc_protocol.errors import SettingsError as SharedSettingsError


class BackendError(Exception):
    """Base of every error raised by `fake_backend`."""


class SettingsError(BackendError, SharedSettingsError):
    """A setting has a value that cannot be used; the message names the setting."""


class CatalogueError(BackendError):
    """A catalogue change is invalid; the message names the product or config."""


class FaultSpecError(BackendError):
    """A fault specification is invalid; the message names the field."""
