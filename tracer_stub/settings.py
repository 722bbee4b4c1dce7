"""Settings of a tracer stub process: one frozen dataclass, read at the edge only.

Every field is an environment variable ``RC_STUB_<FIELD>`` and a flag ``--<field-with-dashes>``
(``python -m tracer_stub --help`` lists them all with their defaults). The real tracer and
proposal names are read as aliases; an ``RC_STUB_*`` variable wins over its alias:

=========================================  ==========================
alias                                      field
=========================================  ==========================
``DD_TRACE_AGENT_URL``                     ``agent_url``
``DD_REMOTE_CONFIG_POLL_INTERVAL_SECONDS`` ``poll_interval_s``
``DD_RC_FAST_LANE_ENABLED``                ``fast_lane_enabled``
``DD_RC_FAST_LANE_INTERVAL_MS``            ``fast_lane_interval_ms``
``DD_RC_FAST_LANE_INITIAL_INTERVAL_MS``    ``fast_lane_initial_interval_ms``
``DD_SERVICE`` / ``DD_ENV`` / ``DD_VERSION`` ``service`` / ``env`` / ``version``
=========================================  ==========================

Defaults are the real ones (see ``tracer_stub.client.policy`` for where each comes from), with
one deliberate exception: ``fast_lane_enabled`` defaults to true, while the proposal's A6 table
ships ``DD_RC_FAST_LANE_ENABLED`` as false. The switch only matters under ``client_policy:
fastlane``, which models the proposal's client with the fast lane turned on; set it false to
model that client with its shipped default (it then behaves as ``phase1``).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import logging
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Self
from urllib.parse import SplitResult, urlsplit

from tracer_stub.client.policy import (
    ClientPolicy,
    FirstPoll,
    PolicySettings,
    PollScheduling,
)
from tracer_stub.errors import SettingsError

__all__ = ["ENV_PREFIX", "Settings"]

ENV_PREFIX = "RC_STUB_"

ALIASES: dict[str, str] = {
    "agent_url": "DD_TRACE_AGENT_URL",
    "poll_interval_s": "DD_REMOTE_CONFIG_POLL_INTERVAL_SECONDS",
    "fast_lane_enabled": "DD_RC_FAST_LANE_ENABLED",
    "fast_lane_interval_ms": "DD_RC_FAST_LANE_INTERVAL_MS",
    "fast_lane_initial_interval_ms": "DD_RC_FAST_LANE_INITIAL_INTERVAL_MS",
    "service": "DD_SERVICE",
    "env": "DD_ENV",
    "version": "DD_VERSION",
}

#: The client policy's defaults are defined once, in `PolicySettings`; the fields of the same
#: name here take them over, and `Settings.policy_settings` hands them back by name.
_POLICY = PolicySettings()
_POLICY_FIELDS = tuple(f.name for f in fields(PolicySettings) if f.name != "policy")

HELP: dict[str, str] = {
    "host": "listen address of /metrics and /health",
    "port": "listen port of /metrics and /health (0 = any free port)",
    "tracers": "how many simulated tracers this process hosts",
    "tracer_index_base": "global index of the first hosted tracer (the `tracer` label)",
    "start_at": "unix wall time at which every tracer starts (unset = now)",
    "boot_stagger_ms": "delay between the starts of consecutive hosted tracers (0 = all at once)",
    "run_id": "run id exported as tracer_run_info{run_id}",
    "agent_url": "agent base URL (127.0.0.1 only in this project)",
    "service": "DD_SERVICE of the simulated tracers",
    "service_suffix_index": "append -<tracer index> to the service of each tracer",
    "env": "DD_ENV of the simulated tracers",
    "version": "DD_VERSION (app_version) of the simulated tracers",
    "language": "client_tracer.language",
    "tracer_version": "client_tracer.tracer_version (dd-trace-go v2.5.0 ran the proposal's test)",
    "products": "comma-separated RC products the tracer subscribes",
    "client_policy": "legacy | phase1 | fastlane",
    "poll_interval_s": "standard poll interval (libdatadog shared.rs: 5 s)",
    "first_poll": "immediate (libdatadog, dd-trace-go >= 2.10) | after_interval (Go <= 2.9)",
    "poll_scheduling": "fixed_delay (libdatadog) | fixed_rate (Go ticker)",
    "ffe_subscription": "start (FFE_FLAGS at tracer start) | provider (Go < 2.8: at provider)",
    "request_timeout_s": "HTTP timeout of one poll (libdd-common: 3 s)",
    "fast_lane_enabled": (
        "kill switch of the fastlane policy's split; A6 ships DD_RC_FAST_LANE_ENABLED=false, "
        "true here because client_policy=fastlane models the feature switched on"
    ),
    "fast_lane_interval_ms": "fast lane poll interval (A6: 1000)",
    "fast_lane_initial_interval_ms": "delay of the first fast lane poll (A6: 0 = immediate)",
    "max_backoff_s": "backoff cap (A5: 30 s)",
    "backoff_max_exponent": "backoff exponent cap (A5: 2**min(errors, 3))",
    "standard_permits": "MultiTargetFetcher standard permits (DEFAULT_CLIENTS_LIMIT 100)",
    "fast_lane_permits": "MultiTargetFetcher fast lane permits (A3: 20)",
    "shared_multitarget": "all tracers of this process under one MultiTargetFetcher (PHP sidecar)",
    "wire_bytes": "bytes fields in requests: array (libdatadog) | base64 (Go, JS)",
    "http_keepalive": "keep the agent connection open between polls",
    "report_errors": "report apply errors in client.state.has_error (libdatadog agent mode: no)",
    "provider_mode": "event (non-blocking set_provider) | wait (set_provider_and_wait)",
    "provider_init_timeout_s": "provider init timeout (dd-trace-go defaultInitTimeout: 30 s)",
    "flag_key": "the flag each tracer evaluates once ready",
    "flag_default": "default value of that (boolean) flag",
    "tracer_start_cost_ms": "simulated extra cost of tracer start-up",
    "seed": "seed of the jitter RNG (unset = random)",
    "log_level": "logging level",
}


@dataclass(frozen=True)
class Settings:
    """Settings of one stub process (all hosted tracers share them)."""

    host: str = "127.0.0.1"
    port: int = 0
    tracers: int = 1
    tracer_index_base: int = 0
    start_at: float | None = None
    boot_stagger_ms: float = 0.0
    run_id: str = ""
    agent_url: str = "http://127.0.0.1:8126"
    service: str = "rc-stub"
    service_suffix_index: bool = True
    env: str = "prod"
    version: str = "1.0.0"
    language: str = "go"
    tracer_version: str = "v2.5.0"
    products: str = "APM_TRACING,FFE_FLAGS"
    client_policy: ClientPolicy = _POLICY.policy
    poll_interval_s: float = _POLICY.poll_interval_s
    first_poll: FirstPoll = _POLICY.first_poll
    poll_scheduling: PollScheduling = _POLICY.poll_scheduling
    ffe_subscription: str = "start"
    request_timeout_s: float = _POLICY.request_timeout_s
    fast_lane_enabled: bool = _POLICY.fast_lane_enabled
    fast_lane_interval_ms: float = _POLICY.fast_lane_interval_ms
    fast_lane_initial_interval_ms: float = _POLICY.fast_lane_initial_interval_ms
    max_backoff_s: float = _POLICY.max_backoff_s
    backoff_max_exponent: int = _POLICY.backoff_max_exponent
    standard_permits: int = _POLICY.standard_permits
    fast_lane_permits: int = _POLICY.fast_lane_permits
    shared_multitarget: bool = False
    wire_bytes: str = "array"
    http_keepalive: bool = True
    report_errors: bool = False
    provider_mode: str = "event"
    provider_init_timeout_s: float = 30.0
    flag_key: str = "rc-fastlane-flag"
    flag_default: bool = False
    tracer_start_cost_ms: float = 0.0
    seed: int | None = None
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        for name, kind in (
            ("client_policy", ClientPolicy),
            ("first_poll", FirstPoll),
            ("poll_scheduling", PollScheduling),
        ):
            value = getattr(self, name)
            if not isinstance(value, kind):
                try:
                    object.__setattr__(self, name, kind(value))
                except ValueError:
                    choices = "|".join(m.value for m in kind)
                    raise SettingsError(
                        f"setting {name} = {value!r} is invalid: expected {choices} "
                        f"(env {ENV_PREFIX}{name.upper()} or --{name.replace('_', '-')})"
                    ) from None
        checks: list[tuple[bool, str, str]] = [
            (self.tracers >= 1, "tracers", "an integer >= 1"),
            (self.tracer_index_base >= 0, "tracer_index_base", "an integer >= 0"),
            (self.boot_stagger_ms >= 0, "boot_stagger_ms", "a number >= 0"),
            (self.poll_interval_s > 0, "poll_interval_s", "a number > 0"),
            (self.request_timeout_s > 0, "request_timeout_s", "a number > 0"),
            (self.fast_lane_interval_ms > 0, "fast_lane_interval_ms", "a number > 0"),
            (self.fast_lane_initial_interval_ms >= 0, "fast_lane_initial_interval_ms", ">= 0"),
            (self.max_backoff_s > 0, "max_backoff_s", "a number > 0"),
            (self.backoff_max_exponent >= 0, "backoff_max_exponent", "an integer >= 0"),
            (self.standard_permits >= 1, "standard_permits", "an integer >= 1"),
            (self.fast_lane_permits >= 1, "fast_lane_permits", "an integer >= 1"),
            (self.ffe_subscription in ("start", "provider"), "ffe_subscription", "start|provider"),
            (self.wire_bytes in ("array", "base64"), "wire_bytes", "array|base64"),
            (self.provider_mode in ("event", "wait"), "provider_mode", "event|wait"),
            (self.provider_init_timeout_s > 0, "provider_init_timeout_s", "a number > 0"),
            (bool(self.product_list), "products", "a non-empty comma-separated list"),
            (
                self.log_level.upper() in logging.getLevelNamesMapping(),
                "log_level",
                "DEBUG|INFO|WARNING|ERROR|CRITICAL",
            ),
        ]
        url = urlsplit(self.agent_url)
        checks.append(
            (
                url.scheme == "http" and bool(url.hostname) and _port_ok(url),
                "agent_url",
                "an http://host:port URL",
            )
        )
        for ok, name, expected in checks:
            if not ok:
                raise SettingsError(
                    f"setting {name} = {getattr(self, name)!r} is invalid: expected {expected} "
                    f"(env {ENV_PREFIX}{name.upper()} or --{name.replace('_', '-')})"
                )

    @property
    def product_list(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.products.split(",") if p.strip())

    def policy_settings(self) -> PolicySettings:
        """The client policy's view of these settings (its fields, same names, plus the policy)."""
        shared = {name: getattr(self, name) for name in _POLICY_FIELDS}
        return PolicySettings(policy=self.client_policy, **shared)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Self:
        """Build settings from ``RC_STUB_*`` variables (and their ``DD_*`` aliases)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            source = ENV_PREFIX + f.name.upper()
            if raw is None and f.name in ALIASES:
                raw = environ.get(ALIASES[f.name])
                source = ALIASES[f.name]
            if raw is not None:
                values[f.name] = _convert(f.name, _field_type(f), raw, source)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add one ``--flag`` per field (default None: unset flags leave env/defaults alone)."""
        for f in fields(cls):
            default = f.default
            shown = "unset" if default is None else str(getattr(default, "value", default))
            env = ENV_PREFIX + f.name.upper()
            alias = f" or {ALIASES[f.name]}" if f.name in ALIASES else ""
            parser.add_argument(
                "--" + f.name.replace("_", "-"),
                dest=f.name,
                default=None,
                metavar=_field_type(f).__name__.upper(),
                help=f"{HELP.get(f.name, '')} [default: {shown}; env {env}{alias}]",
            )

    @classmethod
    def from_env_and_args(cls, environ: Mapping[str, str], args: argparse.Namespace) -> Self:
        overrides: dict[str, Any] = {}
        for f in fields(cls):
            raw = getattr(args, f.name, None)
            if raw is not None:
                flag = "--" + f.name.replace("_", "-")
                overrides[f.name] = _convert(f.name, _field_type(f), raw, flag)
        return cls.from_env(environ, **overrides)

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)


def _port_ok(url: SplitResult) -> bool:
    try:
        return url.port is None or 0 < url.port < 65536
    except ValueError:
        return False


def _field_type(f: dataclasses.Field[Any]) -> type:
    hints = typing.get_type_hints(Settings)
    tp = hints[f.name]
    if isinstance(tp, types.UnionType):
        args: Sequence[type] = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0]
    assert isinstance(tp, type)
    return tp


def _convert(name: str, tp: type, raw: str, source: str) -> Any:
    text = raw.strip()
    try:
        if tp is bool:
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if tp is int:
            return int(text)
        if tp is float:
            return None if text == "" and name == "start_at" else float(text)
        if issubclass(tp, enum.Enum):
            choices = "|".join(str(m.value) for m in tp)
            try:
                return tp(text)
            except ValueError:
                raise ValueError(f"expected {choices}") from None
        return text
    except ValueError as exc:
        raise SettingsError(f"{source}={raw!r} is invalid for setting {name}: {exc}") from None
