"""Settings of the agent model: one frozen dataclass, read from the environment at the edge.

Every constant of the model is a field whose default is the real Datadog Agent's (see
``pkg/config/remote/service/service.go``: ``defaultRefreshInterval``, ``defaultClientsTTL``,
``newClientBlockTTL``, ``defaultCacheBypassLimit``, ...) or, for the fast lane, the proposal's
Part B (``remote_configuration.fast_lane.*``).

Environment: ``RC_AGENT_<FIELD>`` (field name upper-cased), plus the real names as aliases
(an ``RC_AGENT_*`` variable wins over its alias); flags ``--<field-with-dashes>`` win over both
(:mod:`rc_protocol.settings` reads them all, with its one unset rule and error type):

==================================================  ===============================
alias                                               field
==================================================  ===============================
``DD_REMOTE_CONFIGURATION_REFRESH_INTERVAL``        ``refresh_interval_s``
``DD_REMOTE_CONFIGURATION_CLIENTS_TTL_SECONDS``     ``clients_ttl_s``
``DD_REMOTE_CONFIGURATION_CLIENTS_CACHE_BYPASS_LIMIT`` ``cache_bypass_limit``
``DD_REMOTE_CONFIGURATION_MAX_BACKOFF_INTERVAL``    ``max_backoff_interval_s``
``DD_REMOTE_CONFIGURATION_FAST_LANE_CACHE_BYPASS_LIMIT`` ``fast_lane_cache_bypass_limit``
``DD_REMOTE_CONFIGURATION_FAST_LANE_BLOCK_TTL_MS``  ``fast_lane_block_ttl_ms``
``DD_API_KEY``                                      ``api_key``
``DD_HOSTNAME``                                     ``hostname``
==================================================  ===============================

Durations accept Go duration strings (``"5s"``, ``"1m30s"``, ``"500ms"``) or a bare number of
seconds (the real agent would read a bare number as nanoseconds; the model takes seconds).

The raw settings keep what the operator asked for; :meth:`Settings.resolve` applies the real
agent's validation (``WithRefreshInterval``, ``WithClientTTL``, ``WithClientCacheBypassLimit``,
``WithMaxBackoffInterval``) and returns the effective values with the warnings the agent logs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal, TypeVar, get_args

from agent.errors import SettingsError
from rc_protocol.settings import EnvSettings, setting

Policy = Literal["legacy", "fastlane"]
POLICIES: tuple[str, ...] = get_args(Policy)

ENV_PREFIX = "RC_AGENT_"

# service.go constants
DEFAULT_REFRESH_INTERVAL_S = 60.0  # defaultRefreshInterval
MINIMAL_REFRESH_INTERVAL_S = 5.0  # minimalRefreshInterval
DEFAULT_CLIENTS_TTL_S = 30.0  # defaultClientsTTL
MAX_CLIENTS_TTL_S = 60.0  # maxClientsTTL
DEFAULT_CACHE_BYPASS_LIMIT = 5  # defaultCacheBypassLimit
MIN_CACHE_BYPASS_LIMIT = 1  # minCacheBypassLimit
MAX_CACHE_BYPASS_LIMIT = 10  # maxCacheBypassLimit
MINIMAL_MAX_BACKOFF_S = 120.0  # minimalMaxBackoffTime
MAXIMAL_MAX_BACKOFF_S = 300.0  # maximalMaxBackoffTime
# Proposal Part B5
DEFAULT_FAST_LANE_CACHE_BYPASS_LIMIT = 50
DEFAULT_FAST_LANE_BLOCK_TTL_MS = 500.0

_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

T = TypeVar("T", float, float | None)


def parse_duration_s(text: str) -> float:
    """Parse a Go duration (``"1m30s"``) or a bare number of seconds into seconds."""
    raw = text.strip()
    try:
        return float(raw)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for match in _GO_DURATION.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_S[match.group(2)]
        pos = match.end()
    if pos != len(raw) or not raw:
        raise SettingsError(f"cannot parse duration {text!r}: use e.g. '5s', '1m', '500ms' or 5")
    return total


def duration(default: T, help: str, *, env: tuple[str, ...] = ()) -> T:
    """A duration setting in seconds: a Go duration (``"1m30s"``) or a bare number of seconds."""
    return setting(
        default,
        help,
        env=env,
        parse=parse_duration_s,
        expected="a duration such as 5s, 1m30s, 500ms, or a number of seconds",
        metavar="DURATION",
    )


@dataclass(frozen=True)
class Settings(EnvSettings):
    """Every knob of the agent model; defaults are the real agent's."""

    env_prefix = ENV_PREFIX
    settings_error = SettingsError

    host: str = setting("127.0.0.1", "HTTP listen address")
    port: int = setting(8126, "HTTP listen port (the trace-agent's default is 8126)")
    policy: Policy = setting(
        "legacy", "agent policy: legacy (today's agent) or fastlane (proposal Part B)"
    )
    backend_url: str = setting(
        "http://127.0.0.1:8081",
        "base URL of the RC backend (POST {url}/api/v0.1/configurations)",
    )
    api_key: str = setting(
        "", "value of the DD-Api-Key header sent to the backend", env=("DD_API_KEY",), secret=True
    )
    refresh_interval_s: float | None = duration(
        None,
        "remote_configuration.refresh_interval; unset = 60 s and the backend may override it; "
        "set (>= 5 s) = fixed",
        env=("DD_REMOTE_CONFIGURATION_REFRESH_INTERVAL",),
    )
    clients_ttl_s: float = duration(
        DEFAULT_CLIENTS_TTL_S,
        "remote_configuration.clients.ttl_seconds (accepted 5-60 s, else 30)",
        env=("DD_REMOTE_CONFIGURATION_CLIENTS_TTL_SECONDS",),
    )
    cache_bypass_limit: int = setting(
        DEFAULT_CACHE_BYPASS_LIMIT,
        "remote_configuration.clients.cache_bypass_limit per window (accepted 1-10, else 5)",
        env=("DD_REMOTE_CONFIGURATION_CLIENTS_CACHE_BYPASS_LIMIT",),
    )
    new_client_block_ttl_s: float = duration(
        2.0, "newClientBlockTTL: one budget for both bypass waits"
    )
    refresh_spacing_s: float = duration(
        1.0, "minimum spacing between two refreshes (director version is epoch s)"
    )
    max_backoff_interval_s: float = duration(
        MAXIMAL_MAX_BACKOFF_S,
        "remote_configuration.max_backoff_interval (clamped 120-300 s)",
        env=("DD_REMOTE_CONFIGURATION_MAX_BACKOFF_INTERVAL",),
    )
    fast_lane_cache_bypass_limit: int = setting(
        DEFAULT_FAST_LANE_CACHE_BYPASS_LIMIT,
        "remote_configuration.fast_lane.cache_bypass_limit (fastlane policy)",
        env=("DD_REMOTE_CONFIGURATION_FAST_LANE_CACHE_BYPASS_LIMIT",),
    )
    fast_lane_block_ttl_ms: float = setting(
        DEFAULT_FAST_LANE_BLOCK_TTL_MS,
        "remote_configuration.fast_lane.block_ttl_ms (fastlane policy)",
        env=("DD_REMOTE_CONFIGURATION_FAST_LANE_BLOCK_TTL_MS",),
    )
    max_body_bytes: int = setting(
        5 * 1024 * 1024,
        "model-only guard, not a real constant: largest /v0.7/config body accepted (larger: "
        "413); the real ConfigHandler reads the whole body with no limit",
    )
    backend_timeout_s: float = duration(
        30.0, "model-only guard on one backend call (the real agent sets none)"
    )
    hostname: str = setting(
        "rc-agent-model", "hostname reported to the backend", env=("DD_HOSTNAME",)
    )
    agent_version: str = setting("7.70.0", "agent version reported to the backend and on /info")
    trace_agent_env: str = setting("", "trace_agent_env reported to the backend")
    run_id: str = setting("", "run id exported as agent_rc_run_info{run_id}")
    seed: int | None = setting(None, "seed of the backoff jitter RNG (unset = random)")
    serve_cost_ms: float = setting(
        0.0,
        "diagnostic, not a real constant: time ClientGetConfigs holds the lock while building "
        "one response (TUF reads, predicates, files); 0 = only the model's own CPU time. "
        "Measures the lock-contention hypothesis of docs/baseline-fidelity.md",
    )
    rc_unavailable_s: float = duration(
        0.0,
        "diagnostic, not a real constant: seconds after start during which RC does not serve "
        "(/v0.7/config answers 500, no refresh yet), as an agent booted together with its "
        "fleet; 0 = ready at start. See docs/baseline-fidelity.md",
    )
    prefetch_products: str = setting(
        "",
        "calibration only, not a real setting: comma-separated products the start-up refresh "
        "asks the backend for as if clients had reported them (the `instant` scenario's warm "
        "cache); empty = the real agent",
    )
    log_level: str = setting("INFO", "logging level")

    def __post_init__(self) -> None:
        self.require(self.policy in POLICIES, "policy", "one of " + "|".join(POLICIES))
        self.require(self.serve_cost_ms >= 0, "serve_cost_ms", "a number >= 0")
        self.require(self.rc_unavailable_s >= 0, "rc_unavailable_s", "a number >= 0")
        self.require(
            self.log_level.upper() in logging.getLevelNamesMapping(),
            "log_level",
            "DEBUG|INFO|WARNING|ERROR|CRITICAL",
        )

    def resolve(self) -> Resolved:
        """Apply the real agent's option validation; see :class:`Resolved`."""
        warnings: list[str] = []
        # WithRefreshInterval: below minimalRefreshInterval -> warn, default, override allowed.
        if self.refresh_interval_s is None:
            refresh, override = DEFAULT_REFRESH_INTERVAL_S, True
        elif self.refresh_interval_s < MINIMAL_REFRESH_INTERVAL_S:
            warnings.append(
                f"refresh_interval_s is set to {self.refresh_interval_s}s which is below the "
                f"minimum of {MINIMAL_REFRESH_INTERVAL_S}s - using default refresh interval "
                f"{DEFAULT_REFRESH_INTERVAL_S}s"
            )
            refresh, override = DEFAULT_REFRESH_INTERVAL_S, True
        else:
            refresh, override = self.refresh_interval_s, False
        # WithClientTTL: outside [minimalRefreshInterval, maxClientsTTL] -> default.
        ttl = self.clients_ttl_s
        if not MINIMAL_REFRESH_INTERVAL_S <= ttl <= MAX_CLIENTS_TTL_S:
            warnings.append(f"clients_ttl_s={ttl} is not within 5-60 s; defaulting to 30 s")
            ttl = DEFAULT_CLIENTS_TTL_S
        # WithClientCacheBypassLimit: outside [1, 10] -> default.
        limit = self.cache_bypass_limit
        if not MIN_CACHE_BYPASS_LIMIT <= limit <= MAX_CACHE_BYPASS_LIMIT:
            warnings.append(f"cache_bypass_limit={limit} is not within 1-10; defaulting to 5")
            limit = DEFAULT_CACHE_BYPASS_LIMIT
        # WithMaxBackoffInterval: clamped to [minimalMaxBackoffTime, maximalMaxBackoffTime].
        max_backoff = min(max(self.max_backoff_interval_s, MINIMAL_MAX_BACKOFF_S),
                          MAXIMAL_MAX_BACKOFF_S)  # fmt: skip
        if max_backoff != self.max_backoff_interval_s:
            warnings.append(
                f"max_backoff_interval_s={self.max_backoff_interval_s} clamped to {max_backoff}"
            )
        fast_limit = self.fast_lane_cache_bypass_limit
        if fast_limit < 1:  # model guard: the proposal gives no range
            warnings.append(f"fast_lane_cache_bypass_limit={fast_limit} < 1; using 50")
            fast_limit = DEFAULT_FAST_LANE_CACHE_BYPASS_LIMIT
        return Resolved(
            refresh_interval_s=refresh,
            refresh_override_allowed=override,
            clients_ttl_s=ttl,
            cache_bypass_limit=limit,
            max_backoff_interval_s=max_backoff,
            fast_lane_cache_bypass_limit=fast_limit,
            warnings=tuple(warnings),
        )


@dataclass(frozen=True)
class Resolved:
    """Effective values after the real agent's option validation, and its warnings."""

    refresh_interval_s: float
    refresh_override_allowed: bool
    clients_ttl_s: float
    cache_bypass_limit: int
    max_backoff_interval_s: float
    fast_lane_cache_bypass_limit: int
    warnings: tuple[str, ...] = ()
