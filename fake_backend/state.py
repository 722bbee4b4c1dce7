"""The backend's mutable state, shared by the API routes and the admin routes of one app."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from fake_backend.capacity import Capacity
from fake_backend.catalogue import Catalogue
from fake_backend.corrupt import BadUfc
from fake_backend.director import Director
from fake_backend.errors import FaultSpecError, SettingsError
from fake_backend.faults import FaultPlan, Window, WindowKind, parse_windows
from fake_backend.metrics import BackendMetrics
from fake_backend.payloads import default_builders
from fake_backend.settings import Settings
from rc_protocol.clock import Clock


@dataclass
class BackendState:
    """Everything one app instance owns; built from settings by `from_settings`."""

    settings: Settings
    clock: Clock
    catalogue: Catalogue
    director: Director
    faults: FaultPlan
    metrics: BackendMetrics
    capacity: Capacity
    bad_ufc: BadUfc = field(default_factory=BadUfc)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> BackendState:
        """Build the catalogue, director and faults; setting windows start at `clock` now."""
        builders = default_builders(
            settings.flag_key, settings.flag_environment, settings.asm_data_bytes
        )
        origin = clock.monotonic()
        windows = _setting_windows(settings, "rate_limit_windows", WindowKind.RATE_LIMIT, origin)
        windows += _setting_windows(settings, "outage_windows", WindowKind.OUTAGE, origin)
        return cls(
            settings=settings,
            clock=clock,
            catalogue=Catalogue.with_defaults(settings.org_id, settings.products, builders),
            director=Director(
                agent_refresh_interval_s=settings.agent_refresh_interval_s,
                expires_s=settings.targets_expires_s,
            ),
            faults=FaultPlan(
                rng=random.Random(settings.seed),
                latency_ms=settings.latency_ms,
                latency_spread_ms=settings.latency_spread_ms,
                error_rate=settings.error_rate,
                error_status=settings.error_status,
                outage_status=settings.outage_status,
                windows=windows,
            ),
            metrics=BackendMetrics(settings.run_id),
            capacity=capacity_of(settings),
        )

    def describe_faults(self) -> dict[str, object]:
        """Current faults, window times relative to now (ended windows dropped)."""
        now = self.clock.monotonic()
        self.faults.prune(now)
        return self.faults.describe(now)

    def describe(self) -> dict[str, object]:
        """The `/admin/state` document."""
        return {
            "faults": self.describe_faults(),
            "catalogue": {
                "org_id": self.catalogue.org_id,
                "snapshot_version": self.catalogue.snapshot_version,
                "configs": self.catalogue.describe(),
            },
            "targets_version": self.director.latest_version,
            "target_files": self.settings.target_files,
        }


def _setting_windows(
    settings: Settings, name: str, kind: WindowKind, origin: float
) -> list[Window]:
    """Parse the window setting `name`; a bad value is a `SettingsError` naming where it is set."""
    spec = getattr(settings, name)
    try:
        return parse_windows(spec, kind, origin)
    except FaultSpecError as exc:
        raise SettingsError(
            f"setting {name}={spec!r} is invalid: {exc} ({Settings.where(name)})", field=name
        ) from None


def capacity_of(settings: Settings) -> Capacity:
    """The capacity model the settings describe (`fake_backend.capacity`)."""
    return Capacity(
        calls_per_s=settings.capacity_calls_per_s,
        burst=settings.capacity_burst,
        concurrency=settings.capacity_concurrency,
        service_s=settings.capacity_service_ms / 1000.0,
        queue_limit=settings.capacity_queue,
        overload_refresh_interval_s=settings.overload_refresh_interval_s,
        overload_hold_s=settings.overload_hold_s,
    )
