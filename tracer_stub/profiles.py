"""Client profiles: named presets of the stub's client timing, one per real tracer client.

A profile sets every client timing field of :class:`tracer_stub.settings.Settings` (first poll,
scheduling, interval, HTTP timeout, request retries, FFE subscription moment, byte encoding,
language and version; the real tracers' profiles also their measured products); a field given
explicitly (environment, flag, scenario key) still overrides it. Each value comes from
``reference/tracer-rc-clients.md`` (the real sources, or measurements of the real packages made
here, ``docs/real-tracers.md``); the comment beside it says which.

>>> sorted(PROFILES)
['dd-trace-js-5.132', 'ddtrace-py-4.16', 'go-2.10', 'go-2.5', 'libdatadog']
>>> PROFILES["ddtrace-py-4.16"].values["request_timeout_s"]
2.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Profile:
    """A named preset of client settings, with where its values come from."""

    name: str
    description: str
    values: Mapping[str, Any]


TIMING_FIELDS = (
    "first_poll",
    "poll_scheduling",
    "poll_interval_s",
    "request_timeout_s",
    "ffe_subscription",
    "wire_bytes",
    "shared_multitarget",
    "request_retry",
    "agent_reached_at_start",
    "language",
    "tracer_version",
)
"""The fields every profile sets."""


def _profile(name: str, description: str, **values: Any) -> Profile:
    missing = set(TIMING_FIELDS) - set(values)
    assert not missing, f"profile {name} leaves {sorted(missing)} unset"
    return Profile(name, description, MappingProxyType(values))


PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        p.name: p
        for p in (
            _profile(
                "go-2.5",
                "dd-trace-go v2.5.0, the client of the proposal's load test",
                first_poll="after_interval",  # <= 2.9: first poll after one interval
                poll_scheduling="fixed_rate",  # time.Ticker
                poll_interval_s=5.0,  # DD_REMOTE_CONFIG_POLL_INTERVAL_SECONDS default
                request_timeout_s=10.0,  # the client's HTTP timeout
                ffe_subscription="provider",  # < 2.8: FFE_FLAGS subscribed with the provider
                wire_bytes="base64",  # Go's encoding/json for []byte
                shared_multitarget=False,
                request_retry="none",  # a failed poll waits for the next tick
                agent_reached_at_start=False,
                language="go",
                tracer_version="v2.5.0",
            ),
            _profile(
                "go-2.10",
                "dd-trace-go >= 2.10: polls at once on every Subscribe, FFE_FLAGS at start",
                first_poll="immediate",  # >= 2.10: a poll on each Subscribe (dd-trace-go #4958)
                poll_scheduling="fixed_rate",
                poll_interval_s=5.0,
                request_timeout_s=10.0,
                ffe_subscription="start",  # >= 2.8: subscribed at tracer start (#4495)
                wire_bytes="base64",
                shared_multitarget=False,
                request_retry="none",
                agent_reached_at_start=False,
                language="go",
                tracer_version="v2.10.0",
            ),
            _profile(
                "ddtrace-py-4.16",
                "ddtrace-py 4.16 (libdatadog's RC client in-process), measured here",
                first_poll="immediate",  # after GET /info lists /v0.7/config
                poll_scheduling="fixed_delay",  # libdatadog shared.rs: fetch, then sleep
                poll_interval_s=5.0,
                request_timeout_s=2.0,  # DD_TRACE_AGENT_TIMEOUT_SECONDS, measured: 2.0 s
                ffe_subscription="start",  # subscribed at `import ddtrace.auto`, measured
                wire_bytes="array",  # libdatadog sends bytes as JSON arrays
                shared_multitarget=False,
                request_retry="none",  # libdatadog: next poll 5 s after the timeout, measured
                agent_reached_at_start=True,
                language="python",
                tracer_version="4.16.0",
                # measured: the first /v0.7/config of ddtrace 4.16 with FFE from RC
                products=(
                    "AGENT_CONFIG",
                    "ASM_FEATURES",
                    "LIVE_DEBUGGING_SYMBOL_DB",
                    "APM_TRACING",
                    "AGENT_TASK",
                    "FFE_FLAGS",
                ),
            ),
            _profile(
                "dd-trace-js-5.132",
                "dd-trace-js 5.132, measured here",
                first_poll="immediate",  # first poll on the first subscribe
                poll_scheduling="fixed_delay",  # next poll scheduled after completion
                poll_interval_s=5.0,
                request_timeout_s=2.0,  # exporter default `timeout || 2000`, measured: ~2 s
                ffe_subscription="start",
                wire_bytes="base64",
                shared_multitarget=False,
                request_retry="dd-trace-js",  # request.js retries once, 5-7.5 s later, measured
                agent_reached_at_start=True,
                language="node",  # client_tracer.language of dd-trace-js, measured
                tracer_version="5.132.0",
                # measured: the first /v0.7/config of dd-trace 5.132 with FFE from RC
                products=("APM_TRACING", "AGENT_CONFIG", "AGENT_TASK", "ASM_FEATURES", "FFE_FLAGS"),
            ),
            _profile(
                "libdatadog",
                "libdatadog's RC client as dd-trace-php's sidecar runs it",
                first_poll="immediate",
                poll_scheduling="fixed_delay",  # shared.rs
                poll_interval_s=5.0,  # shared.rs
                request_timeout_s=3.0,  # libdd-common/src/lib.rs
                ffe_subscription="start",
                wire_bytes="array",
                shared_multitarget=True,  # one MultiTargetFetcher for the sidecar's targets
                request_retry="none",
                agent_reached_at_start=False,
                language="php",
                tracer_version="1.10.0",
            ),
        )
    }
)
"""Every profile by name."""


def profile_values(name: str) -> Mapping[str, Any]:
    """The values of profile ``name``; ``""`` is no profile. Unknown names raise KeyError."""
    return PROFILES[name].values if name else {}
