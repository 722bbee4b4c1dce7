"""Settings of the fake RC backend: one frozen dataclass, read from the environment at the edge.

Every field `f` is read from `RC_BACKEND_<F>` (upper-cased field name, see docs/contracts.md),
and can be overridden by the CLI flag `--<f with dashes>`. The API key is the real agent's
`DD_API_KEY`. Durations carry their unit in the name (`_s`, `_ms`).

Defaults are the real backend's behaviour where the reference docs know it (org id 2 as in
the example path `datadog/2/FFE_FLAGS/...` of agent-rc-service.md, `agent_refresh_interval`
unset, no faults: the proposal's load test found "no evidence of backend-side rate limiting
or slow responses"). Where the real value is unknown (payload sizes, targets expiry) the
default is a documented assumption.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fake_backend.errors import SettingsError
from fake_backend.faults import ERROR_STATUSES

ENV_PREFIX = "RC_BACKEND_"
API_KEY_ENV = "DD_API_KEY"

TARGET_FILES_MODES = ("changed", "all")


@dataclass(frozen=True)
class Settings:
    """Everything the fake backend depends on. Build with `from_env` in `__main__` only."""

    host: str = field(default="127.0.0.1", metadata={"help": "HTTP listen address."})
    port: int = field(
        default=8081,
        metadata={"help": "HTTP listen port (the agent's default backend_url points here)."},
    )
    run_id: str = field(
        default="", metadata={"help": "Run id exported as `backend_rc_run_info{run_id}`."}
    )
    api_key: str | None = field(
        default=None,
        metadata={
            "help": "Expected `DD-Api-Key` (from DD_API_KEY). Unset: any non-empty key is accepted."
        },
    )
    org_id: int = field(
        default=2,
        metadata={
            "help": "Org id in config paths `datadog/<org_id>/<PRODUCT>/<config_id>/config`."
        },
    )
    org_uuid: str = field(
        default="8f7ad9a1-7e3b-4c1c-9f4e-000000000002",
        metadata={"help": "Org uuid returned by `GET /api/v0.1/org`."},
    )
    rc_enabled: bool = field(default=True, metadata={"help": "`OrgStatusResponse.enabled`."})
    rc_authorized: bool = field(default=True, metadata={"help": "`OrgStatusResponse.authorized`."})
    products: tuple[str, ...] = field(
        default=("FFE_FLAGS",),
        metadata={
            "help": "Products in the catalogue (comma list): FFE_FLAGS, ASM_DATA, APM_TRACING."
        },
    )
    flag_key: str = field(
        default="rc-fastlane-flag",
        metadata={
            "help": "Key of the one boolean flag of the FFE_FLAGS config (the stub evaluates it)."
        },
    )
    flag_environment: str = field(
        default="prod", metadata={"help": "`environment.name` of the UFC payload."}
    )
    asm_data_bytes: int = field(
        default=300 * 1024,
        metadata={
            "help": "Approximate size of the ASM_DATA config (valid JSON); assumed hundreds of KiB."
        },
    )
    agent_refresh_interval_s: int | None = field(
        default=None,
        metadata={
            "help": "Targets custom.agent_refresh_interval (s); unset = absent (real default)."
        },
    )
    target_files: str = field(
        default="changed",
        metadata={
            "help": (
                "Target files to send: `changed` (new products, and files changed since the "
                "agent's config snapshot: the real incremental protocol) or `all` (every "
                "file of the requested products, on every call)."
            )
        },
    )
    targets_expires_s: int = field(
        default=5 * 365 * 24 * 3600,
        metadata={
            "help": "Lifetime of signed targets; assumed years, as in the reference example."
        },
    )
    latency_ms: int = field(
        default=0, metadata={"help": "Fixed latency added to backend API answers."}
    )
    latency_spread_ms: int = field(
        default=0,
        metadata={"help": "Uniform random latency in [0, spread] added on top of `latency_ms`."},
    )
    error_rate: float = field(
        default=0.0,
        metadata={
            "help": "Probability in [0, 1] that a configurations call fails with `error_status`."
        },
    )
    error_status: int = field(
        default=500, metadata={"help": "Status of injected errors: 500 or 503."}
    )
    seed: int = field(
        default=0, metadata={"help": "Seed of the fault RNG (latency spread and error rate)."}
    )
    rate_limit_windows: str = field(
        default="",
        metadata={"help": "429 windows, seconds from start: `start-end[,start-end...]`."},
    )
    outage_windows: str = field(
        default="",
        metadata={"help": "Outage windows (API calls answer `outage_status`): `start-end,...`."},
    )
    outage_status: int = field(
        default=503, metadata={"help": "Status answered during an outage window."}
    )

    _ALIASES: ClassVar[Mapping[str, str]] = {"api_key": API_KEY_ENV}

    def __post_init__(self) -> None:
        _check(0 <= self.port <= 65535, "port", self.port, "a port in 0..65535")
        _check(self.org_id > 0, "org_id", self.org_id, "a positive integer")
        _check(len(self.products) > 0, "products", self.products, "at least one product")
        _check(self.asm_data_bytes > 0, "asm_data_bytes", self.asm_data_bytes, "> 0")
        _check(
            self.agent_refresh_interval_s is None or self.agent_refresh_interval_s > 0,
            "agent_refresh_interval_s",
            self.agent_refresh_interval_s,
            "a positive number of seconds or unset",
        )
        _check(
            self.target_files in TARGET_FILES_MODES,
            "target_files",
            self.target_files,
            " or ".join(TARGET_FILES_MODES),
        )
        _check(self.targets_expires_s > 0, "targets_expires_s", self.targets_expires_s, "> 0")
        _check(self.latency_ms >= 0, "latency_ms", self.latency_ms, ">= 0")
        _check(self.latency_spread_ms >= 0, "latency_spread_ms", self.latency_spread_ms, ">= 0")
        _check(0.0 <= self.error_rate <= 1.0, "error_rate", self.error_rate, "in [0, 1]")
        _check(
            self.error_status in ERROR_STATUSES,
            "error_status",
            self.error_status,
            " or ".join(map(str, ERROR_STATUSES)),
        )
        _check(400 <= self.outage_status <= 599, "outage_status", self.outage_status, "a 4xx/5xx")

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable read for `field`."""
        return cls._ALIASES.get(field, ENV_PREFIX + field.upper())

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Settings from `environ` (`RC_BACKEND_*`, `DD_API_KEY`), then `overrides` on top.

        Raises `SettingsError` naming the variable when a value cannot be parsed.
        """
        values: dict[str, Any] = {}
        for field_name, kind in cls.field_types().items():
            name = cls.env_name(field_name)
            raw = environ.get(name)
            if raw is not None:
                values[field_name] = parse_value(kind, raw, name)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        """Field name → resolved type, for the CLI."""
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def parse_value(kind: Any, raw: str, name: str) -> Any:
    """Parse `raw` as the field type `kind`; `name` is the env var or flag, for the message."""
    optional = False
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        optional, kind = True, args[0]
    text = raw.strip()
    if optional and text.lower() in ("", "none", "null", "unset"):
        return None
    try:
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if typing.get_origin(kind) is tuple:
            return tuple(p.strip() for p in text.split(",") if p.strip())
        return raw
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a valid {_type_name(kind)}: {exc}") from None


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def _check(ok: bool, field: str, value: object, expected: str) -> None:
    if not ok:
        raise SettingsError(
            f"setting {field}={value!r} is invalid: expected {expected} "
            f"(set {Settings.env_name(field)} or --{field.replace('_', '-')})"
        )
