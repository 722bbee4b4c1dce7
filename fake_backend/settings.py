"""Settings of the fake RC backend: one frozen dataclass, read from the environment at the edge.

Every field `f` is read from `RC_BACKEND_<F>` (upper-cased field name, see docs/contracts.md),
and can be overridden by the CLI flag `--<f with dashes>` (:mod:`rc_protocol.settings` reads
them, with its one unset rule and error type). The API key is also read from the real agent's
`DD_API_KEY`. Durations carry their unit in the name (`_s`, `_ms`).

Defaults are the real backend's behaviour where the reference docs know it (org id 2 as in
the example path `datadog/2/FFE_FLAGS/...` of agent-rc-service.md, `agent_refresh_interval`
unset, no faults: the proposal's load test found "no evidence of backend-side rate limiting
or slow responses"). Where the real value is unknown (payload sizes, targets expiry) the
default is a documented assumption.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from fake_backend.errors import SettingsError
from fake_backend.faults import ERROR_STATUSES
from rc_protocol.settings import EnvSettings, setting

ENV_PREFIX = "RC_BACKEND_"
API_KEY_ENV = "DD_API_KEY"

TargetFiles = Literal["changed", "all"]
TARGET_FILES_MODES: tuple[str, ...] = get_args(TargetFiles)

#: uvicorn's level names (it registers TRACE with `logging` on import).
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


@dataclass(frozen=True)
class Settings(EnvSettings):
    """Everything the fake backend depends on. Build with `from_env` in `__main__` only."""

    env_prefix = ENV_PREFIX
    settings_error = SettingsError

    host: str = setting("127.0.0.1", "HTTP listen address.")
    port: int = setting(8081, "HTTP listen port (the agent's default backend_url points here).")
    run_id: str = setting("", "Run id exported as `backend_rc_run_info{run_id}`.")
    api_key: str | None = setting(
        None,
        "Expected `DD-Api-Key`. Unset: any non-empty key is accepted.",
        env=(API_KEY_ENV,),
        secret=True,
    )
    admin_token: str | None = setting(
        None,
        "Bearer token the admin API (`/admin/*`) requires (`Authorization: Bearer <token>`; "
        "401 without it). Unset: the admin API is open (a backend run by hand). `harness run` "
        "sets a fresh one per run.",
        secret=True,
    )
    max_body_bytes: int = setting(
        16 * 1024 * 1024,
        "Model-only guard, not a real constant: the largest request body accepted on any route "
        "(larger: 413 before any handler). An agent's LatestConfigsRequest is about 190 bytes "
        "per active client (1.9 MB for 10,000; `agent.backend_client`), so 16 MiB leaves room "
        "for far larger fleets.",
    )
    org_id: int = setting(
        2, "Org id in config paths `datadog/<org_id>/<PRODUCT>/<config_id>/config`."
    )
    org_uuid: str = setting(
        "8f7ad9a1-7e3b-4c1c-9f4e-000000000002", "Org uuid returned by `GET /api/v0.1/org`."
    )
    rc_enabled: bool = setting(True, "`OrgStatusResponse.enabled`.")
    rc_authorized: bool = setting(True, "`OrgStatusResponse.authorized`.")
    products: tuple[str, ...] = setting(
        ("FFE_FLAGS",),
        "Products in the catalogue (comma list): FFE_FLAGS, ASM_DATA, APM_TRACING.",
    )
    flag_key: str = setting(
        "rc-fastlane-flag",
        "Key of the one boolean flag of the FFE_FLAGS config (the stub evaluates it).",
    )
    flag_environment: str = setting("prod", "`environment.name` of the UFC payload.")
    asm_data_bytes: int = setting(
        300 * 1024,
        "Approximate size of the ASM_DATA config (valid JSON); assumed hundreds of KiB.",
    )
    agent_refresh_interval_s: int | None = setting(
        None, "Targets custom.agent_refresh_interval (s); unset = absent (real default)."
    )
    target_files: TargetFiles = setting(
        "changed",
        "Target files to send: `changed` (new products, and files changed since the agent's "
        "config snapshot: the real incremental protocol) or `all` (every file of the "
        "requested products, on every call).",
    )
    targets_expires_s: int = setting(
        5 * 365 * 24 * 3600,
        "Lifetime of signed targets; assumed years, as in the reference example.",
    )
    latency_ms: int = setting(0, "Fixed latency added to backend API answers.")
    latency_spread_ms: int = setting(
        0, "Uniform random latency in [0, spread] added on top of `latency_ms`."
    )
    error_rate: float = setting(
        0.0, "Probability in [0, 1] that a configurations call fails with `error_status`."
    )
    error_status: int = setting(500, "Status of injected errors: 500 or 503.")
    seed: int = setting(0, "Seed of the fault RNG (latency spread and error rate).")
    rate_limit_windows: str = setting(
        "", "429 windows, seconds from start: `start-end[,start-end...]`."
    )
    outage_windows: str = setting(
        "", "Outage windows (API calls answer `outage_status`): `start-end,...`."
    )
    outage_status: int = setting(503, "Status answered during an outage window.")
    capacity_calls_per_s: float = setting(
        0.0,
        "Capacity of POST /configurations in calls per second (token bucket; over it: 429 with "
        "Retry-After); 0 = unlimited, the real default as far as known (fake_backend.capacity).",
    )
    capacity_burst: float = setting(
        0.0, "Token bucket size of capacity_calls_per_s; 0 = one second's worth of calls."
    )
    capacity_concurrency: int = setting(
        0, "Configurations calls served at once (others queue FIFO); 0 = unlimited."
    )
    capacity_service_ms: float = setting(
        0.0, "Time one configurations call holds its serving slot (queueing grows with load)."
    )
    capacity_queue: int = setting(
        0, "Calls that may wait for a slot; one more is answered 429 at once; 0 = unlimited."
    )
    overload_refresh_interval_s: int | None = setting(
        None,
        "agent_refresh_interval sent for overload_hold_s after a capacity rejection (pushes "
        "agents back; the agent accepts 1-60 s); unset = never.",
    )
    overload_hold_s: float = setting(
        60.0, "How long after a rejection answers carry overload_refresh_interval_s."
    )
    log_level: str = setting(
        "info", f"Log level, uvicorn's included: {', '.join(LOG_LEVELS)} (any case)."
    )

    def __post_init__(self) -> None:
        require = self.require
        require(0 <= self.port <= 65535, "port", "a port in 0..65535")
        require(self.org_id > 0, "org_id", "a positive integer")
        require(self.max_body_bytes > 0, "max_body_bytes", "a positive number of bytes")
        require(len(self.products) > 0, "products", "at least one product")
        require(self.asm_data_bytes > 0, "asm_data_bytes", "> 0")
        require(
            self.agent_refresh_interval_s is None or self.agent_refresh_interval_s > 0,
            "agent_refresh_interval_s",
            "a positive number of seconds or unset",
        )
        require(
            self.target_files in TARGET_FILES_MODES, "target_files", " or ".join(TARGET_FILES_MODES)
        )
        require(self.targets_expires_s > 0, "targets_expires_s", "> 0")
        require(self.latency_ms >= 0, "latency_ms", ">= 0")
        require(self.latency_spread_ms >= 0, "latency_spread_ms", ">= 0")
        require(0.0 <= self.error_rate <= 1.0, "error_rate", "in [0, 1]")
        require(
            self.error_status in ERROR_STATUSES,
            "error_status",
            " or ".join(map(str, ERROR_STATUSES)),
        )
        require(400 <= self.outage_status <= 599, "outage_status", "a 4xx/5xx")
        for name in ("capacity_calls_per_s", "capacity_burst", "capacity_service_ms"):
            require(getattr(self, name) >= 0, name, ">= 0 (0 = unlimited)")
        for name in ("capacity_concurrency", "capacity_queue"):
            require(getattr(self, name) >= 0, name, "an integer >= 0 (0 = unlimited)")
        require(
            self.overload_refresh_interval_s is None or self.overload_refresh_interval_s > 0,
            "overload_refresh_interval_s",
            "a positive number of seconds or unset",
        )
        require(self.overload_hold_s > 0, "overload_hold_s", "> 0")
        require(self.log_level.lower() in LOG_LEVELS, "log_level", "|".join(LOG_LEVELS))
