"""Settings of a tracer stub process: one frozen dataclass, read at the edge only.

Every field is an environment variable ``RC_STUB_<FIELD>`` and a flag ``--<field-with-dashes>``
(``python -m tracer_stub --help`` lists them all with their defaults; :mod:`rc_protocol.settings`
reads them, with its one unset rule and error type). The real tracer and proposal names are read
as aliases; an ``RC_STUB_*`` variable wins over its alias, a flag over both:

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

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal
from urllib.parse import SplitResult, urlsplit

from rc_protocol.settings import EnvSettings, setting
from tracer_stub.client.policy import (
    ClientPolicy,
    FirstPoll,
    PolicySettings,
    PollScheduling,
)
from tracer_stub.client.retry import RETRY_STYLES
from tracer_stub.errors import SettingsError
from tracer_stub.profiles import PROFILES, profile_values

__all__ = ["ENV_PREFIX", "Settings"]

ENV_PREFIX = "RC_STUB_"

#: The client policy's defaults are defined once, in `PolicySettings`; the fields of the same
#: name here take them over, and `Settings.policy_settings` hands them back by name.
_POLICY = PolicySettings()
_POLICY_FIELDS = tuple(f.name for f in fields(PolicySettings) if f.name != "policy")


@dataclass(frozen=True)
class Settings(EnvSettings):
    """Settings of one stub process (all hosted tracers share them)."""

    env_prefix = ENV_PREFIX
    settings_error = SettingsError

    host: str = setting("127.0.0.1", "listen address of /metrics and /health")
    port: int = setting(0, "listen port of /metrics and /health (0 = any free port)")
    tracers: int = setting(1, "how many simulated tracers this process hosts")
    tracer_index_base: int = setting(
        0, "global index of the first hosted tracer (the `tracer` label)"
    )
    start_at: float | None = setting(
        None, "unix wall time at which every tracer starts (unset = now)"
    )
    boot_stagger_ms: float = setting(
        0.0, "delay between the starts of consecutive hosted tracers (0 = all at once)"
    )
    run_id: str = setting("", "run id exported as tracer_run_info{run_id}")
    agent_url: str = setting(
        "http://127.0.0.1:8126",
        "agent base URL (127.0.0.1 only in this project)",
        env=("DD_TRACE_AGENT_URL",),
    )
    profile: str = setting(
        "",
        "client profile (tracer_stub.profiles: "
        + ", ".join(PROFILES)
        + "): sets every client timing field not given explicitly; empty = none",
    )
    client_policy: ClientPolicy = setting(_POLICY.policy, "legacy | phase1 | fastlane")
    products: tuple[str, ...] = setting(
        ("APM_TRACING", "FFE_FLAGS"), "comma-separated RC products the tracer subscribes"
    )
    poll_interval_s: float = setting(
        _POLICY.poll_interval_s,
        "standard poll interval (libdatadog shared.rs: 5 s)",
        env=("DD_REMOTE_CONFIG_POLL_INTERVAL_SECONDS",),
    )
    first_poll: FirstPoll = setting(
        _POLICY.first_poll,
        "immediate (libdatadog, dd-trace-go >= 2.10) | after_interval (Go <= 2.9)",
    )
    poll_scheduling: PollScheduling = setting(
        _POLICY.poll_scheduling, "fixed_delay (libdatadog) | fixed_rate (Go ticker)"
    )
    ffe_subscription: Literal["start", "provider"] = setting(
        "start", "start (FFE_FLAGS at tracer start) | provider (Go < 2.8: at provider)"
    )
    request_timeout_s: float = setting(
        _POLICY.request_timeout_s, "HTTP timeout of one poll (libdd-common: 3 s)"
    )
    fast_lane_enabled: bool = setting(
        _POLICY.fast_lane_enabled,
        "kill switch of the fastlane policy's split; A6 ships DD_RC_FAST_LANE_ENABLED=false, "
        "true here because client_policy=fastlane models the feature switched on",
        env=("DD_RC_FAST_LANE_ENABLED",),
    )
    fast_lane_interval_ms: float = setting(
        _POLICY.fast_lane_interval_ms,
        "fast lane poll interval (A6: 1000)",
        env=("DD_RC_FAST_LANE_INTERVAL_MS",),
    )
    fast_lane_initial_interval_ms: float = setting(
        _POLICY.fast_lane_initial_interval_ms,
        "delay of the first fast lane poll (A6: 0 = immediate)",
        env=("DD_RC_FAST_LANE_INITIAL_INTERVAL_MS",),
    )
    max_backoff_s: float = setting(_POLICY.max_backoff_s, "backoff cap (A5: 30 s)")
    backoff_max_exponent: int = setting(
        _POLICY.backoff_max_exponent, "backoff exponent cap (A5: 2**min(errors, 3))"
    )
    standard_permits: int = setting(
        _POLICY.standard_permits, "MultiTargetFetcher standard permits (DEFAULT_CLIENTS_LIMIT 100)"
    )
    fast_lane_permits: int = setting(
        _POLICY.fast_lane_permits, "MultiTargetFetcher fast lane permits (A3: 20)"
    )
    request_retry: str = setting(
        _POLICY.request_retry,
        "retries of one request after a timeout or network error: none (libdatadog, Go) | "
        "dd-trace-js (exporter request.js/retry.js; tracer_stub.client.retry)",
    )
    agent_reached_at_start: bool = setting(
        _POLICY.agent_reached_at_start,
        "the tracer reached the agent before its first poll (dd-trace-js: telemetry at init), "
        "which takes dd-trace-js retries out of their startup phase",
    )
    shared_multitarget: bool = setting(
        False, "all tracers of this process under one MultiTargetFetcher (PHP sidecar)"
    )
    wire_bytes: Literal["array", "base64"] = setting(
        "array", "bytes fields in requests: array (libdatadog) | base64 (Go, JS)"
    )
    http_keepalive: bool = setting(True, "keep the agent connection open between polls")
    report_errors: bool = setting(
        False, "report apply errors in client.state.has_error (libdatadog agent mode: no)"
    )
    service: str = setting("rc-stub", "DD_SERVICE of the simulated tracers", env=("DD_SERVICE",))
    service_suffix_index: bool = setting(
        True, "append -<tracer index> to the service of each tracer"
    )
    env: str = setting("prod", "DD_ENV of the simulated tracers", env=("DD_ENV",))
    version: str = setting(
        "1.0.0", "DD_VERSION (app_version) of the simulated tracers", env=("DD_VERSION",)
    )
    language: str = setting("go", "client_tracer.language")
    tracer_version: str = setting(
        "v2.5.0", "client_tracer.tracer_version (dd-trace-go v2.5.0 ran the proposal's test)"
    )
    provider_mode: Literal["event", "wait"] = setting(
        "event", "event (non-blocking set_provider) | wait (set_provider_and_wait)"
    )
    provider_init_timeout_s: float = setting(
        30.0, "provider init timeout (dd-trace-go defaultInitTimeout: 30 s)"
    )
    flag_key: str = setting("rc-fastlane-flag", "the flag each tracer evaluates once ready")
    flag_default: bool = setting(False, "default value of that (boolean) flag")
    tracer_start_cost_ms: float = setting(0.0, "simulated extra cost of tracer start-up")
    seed: int | None = setting(None, "seed of the jitter RNG (unset = random)")
    log_level: str = setting("INFO", "logging level")

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
                    raise self.invalid(name, value, "|".join(m.value for m in kind)) from None
        checks: list[tuple[bool, str, str]] = [
            (self.profile in ("", *PROFILES), "profile", "|".join(("", *PROFILES))),
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
            (self.request_retry in RETRY_STYLES, "request_retry", "|".join(RETRY_STYLES)),
            (self.provider_mode in ("event", "wait"), "provider_mode", "event|wait"),
            (self.provider_init_timeout_s > 0, "provider_init_timeout_s", "a number > 0"),
            (self.tracer_start_cost_ms >= 0, "tracer_start_cost_ms", "a number >= 0"),
            (bool(self.products), "products", "a non-empty comma-separated list"),
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
            self.require(ok, name, expected)

    @classmethod
    def presets(cls, explicit: Mapping[str, Any]) -> Mapping[str, Any]:
        """The client profile's values, beneath every explicit one."""
        name = explicit.get("profile", "")
        if name not in PROFILES:
            return {}  # "" (no profile), or an unknown name that __post_init__ refuses
        return profile_values(str(name))

    def policy_settings(self) -> PolicySettings:
        """The client policy's view of these settings (its fields, same names, plus the policy)."""
        shared = {name: getattr(self, name) for name in _POLICY_FIELDS}
        return PolicySettings(policy=self.client_policy, **shared)


def _port_ok(url: SplitResult) -> bool:
    try:
        return url.port is None or 0 < url.port < 65536
    except ValueError:
        return False
