"""The secrets of one run, fresh for every run and given only to the components that use them.

- ``api_key``: the fake ``DD_API_KEY`` (32 hex digits, the shape of a real key, never a real
  one) that the backend expects and the agent sends; tracers never see it.
- ``admin_token``: the bearer token of the backend's admin API (``RC_BACKEND_ADMIN_TOKEN``),
  which only the harness itself calls (faults and config changes during a run).

Neither is written to the results folder.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Credentials:
    """A run's API key and admin token (see the module docstring)."""

    api_key: str = field(repr=False)
    admin_token: str = field(repr=False)

    @classmethod
    def fresh(cls) -> Credentials:
        """New random values, as every run gets."""
        return cls(api_key=secrets.token_hex(16), admin_token=secrets.token_urlsafe(24))

    def backend_env(self) -> dict[str, str]:
        """What the backend needs: the key it expects and its admin token."""
        return {"DD_API_KEY": self.api_key, "RC_BACKEND_ADMIN_TOKEN": self.admin_token}

    def agent_env(self) -> dict[str, str]:
        """What the agent needs: the key it sends to the backend."""
        return {"DD_API_KEY": self.api_key}

    def admin_headers(self) -> dict[str, str]:
        """Headers of a call to the backend's admin API."""
        return {"Authorization": f"Bearer {self.admin_token}"}
