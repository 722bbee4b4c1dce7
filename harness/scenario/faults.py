"""The ``faults:`` section of a scenario: timed events measured from the boot instant.

Each event is written ``{kind: K, at_s: T, duration_s: D, ...}`` with the kind's own fields::

    faults:
      - {kind: backend_outage, at_s: 0, duration_s: 10}
      - {kind: agent_restart, at_s: 3, down_s: 1}
      - {kind: tracer_kill, at_s: 2, fraction: 0.1}

``at_s`` counts from the fleet's boot instant (the instant every tracer starts), never from a
component's own start. Who applies what:

- the backend (its fault windows, armed through its admin API with times relative to the boot):
  ``backend_latency``, ``backend_errors``, ``backend_429``, ``backend_outage``, ``bad_payload``;
- the harness, through the runtime, at the instant: ``agent_restart``, ``agent_kill``,
  ``tracer_kill``, ``network_cut`` and ``network_latency`` (between tracers and agent: Docker
  disconnects the tracers' network; the local runtime puts a fault proxy in the way).

The backend's own ``outage_windows`` and ``rate_limit_windows`` settings (seconds, ``"10-20"``)
are the same faults: :func:`from_backend_windows` turns them into events, so that they too
count from the boot instant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field

from fake_backend.errors import FaultSpecError
from fake_backend.faults import WindowKind, parse_windows
from harness.scenario.sections import Section

BACKEND_KINDS = frozenset(
    {"backend_latency", "backend_errors", "backend_429", "backend_outage", "bad_payload"}
)
"""Kinds the backend applies (fault windows armed through its admin API)."""
NETWORK_KINDS = frozenset({"network_cut", "network_latency"})
"""Kinds applied on the path between the tracers and the agent."""


class _Event(Section):
    kind: str = Field(description="what happens (each subclass names its own)")
    at_s: float = Field(ge=0, description="seconds from the boot instant")

    @property
    def end_s(self) -> float | None:
        """When the event ends (seconds from the boot), or None for a one-off action."""
        return None

    def describe(self) -> str:
        """One line for the report: the kind and its own fields."""
        fields = self.model_dump(exclude={"kind", "at_s", "duration_s"})
        extra = ", ".join(f"{k}={v}" for k, v in fields.items())
        span = f"{self.at_s:g}-{self.end_s:g} s" if self.end_s is not None else f"{self.at_s:g} s"
        return f"{self.kind} at {span}" + (f" ({extra})" if extra else "")


class _Window(_Event):
    duration_s: float = Field(gt=0, description="seconds the fault lasts")

    @property
    def end_s(self) -> float:
        return self.at_s + self.duration_s


class BackendLatency(_Window):
    """Backend API answers are slower by ``latency_ms`` plus uniform ``[0, spread_ms]``."""

    kind: Literal["backend_latency"]
    latency_ms: int = Field(ge=0)
    spread_ms: int = Field(default=0, ge=0)


class BackendErrors(_Window):
    """Backend API calls fail with ``status`` with probability ``rate``."""

    kind: Literal["backend_errors"]
    rate: float = Field(default=1.0, gt=0, le=1)
    status: Literal[500, 503] = 500


class Backend429(_Window):
    """Backend API calls answer 429 with ``Retry-After`` (default: the seconds left in the
    window)."""

    kind: Literal["backend_429"]
    retry_after_s: int | None = Field(default=None, ge=0)


class BackendOutage(_Window):
    """Backend API calls answer ``status`` (503: unavailable)."""

    kind: Literal["backend_outage"]
    status: int = Field(default=503, ge=400, le=599)


class BadPayload(_Window):
    """The backend serves a corrupt FFE_FLAGS target, then the good one again: ``hash`` (the
    targets' sha256 does not match the file: the agent rejects the update), ``signature`` (the
    director targets' signature does not verify: the agent rejects it) or ``ufc`` (a file the
    agent accepts and the tracers cannot parse: a new config version, then a fixed one)."""

    kind: Literal["bad_payload"]
    corruption: Literal["hash", "signature", "ufc"] = "hash"


class AgentRestart(_Event):
    """Stop the agent (SIGTERM, as a service restart does), wait ``down_s``, start it again on
    the same address: its state (clients, cache, targets, limiter) is lost, as a real restart
    loses it."""

    kind: Literal["agent_restart"]
    down_s: float = Field(default=0.0, ge=0)

    @property
    def end_s(self) -> float:
        """When the agent is started again."""
        return self.at_s + self.down_s


class AgentKill(_Event):
    """SIGKILL the agent; it is not started again."""

    kind: Literal["agent_kill"]


class TracerKill(_Event):
    """SIGKILL ``ceil(fraction x processes)`` tracer processes (or containers), chosen by a
    random generator seeded with ``seed``: every tracer they host that was not ready yet is
    ``crashed``."""

    kind: Literal["tracer_kill"]
    fraction: float = Field(gt=0, le=1)
    seed: int = 0

    def victims(self, processes: int) -> int:
        """How many of ``processes`` tracer processes are killed.

        >>> TracerKill(kind="tracer_kill", at_s=0, fraction=0.1).victims(4)
        1
        >>> TracerKill(kind="tracer_kill", at_s=0, fraction=0.25).victims(4)
        1
        """
        return min(processes, math.ceil(self.fraction * processes - 1e-9))


class NetworkCut(_Window):
    """The tracers cannot reach the agent (Docker: their network is disconnected; local: the
    fault proxy resets every connection)."""

    kind: Literal["network_cut"]


class NetworkLatency(_Window):
    """Every answer from the agent reaches the tracers ``latency_ms`` late (local runtime:
    the fault proxy; toxiproxy's downstream ``latency`` toxic)."""

    kind: Literal["network_latency"]
    latency_ms: int = Field(gt=0)


FaultEvent = Annotated[
    BackendLatency
    | BackendErrors
    | Backend429
    | BackendOutage
    | BadPayload
    | AgentRestart
    | AgentKill
    | TracerKill
    | NetworkCut
    | NetworkLatency,
    Field(discriminator="kind"),
]
"""One event of the ``faults:`` section."""


def check_sequence(events: Sequence[FaultEvent]) -> None:
    """Refuse what cannot happen: an agent event after the agent was killed for good.

    Raises ``ValueError`` (pydantic reports it under ``faults``)."""
    killed = [e.at_s for e in events if isinstance(e, AgentKill)]
    if not killed:
        return
    first = min(killed)
    later = [e for e in events if isinstance(e, AgentRestart | AgentKill) and e.at_s > first]
    if later:
        raise ValueError(
            f"{later[0].kind} at {later[0].at_s:g} s comes after agent_kill at {first:g} s, "
            "which leaves the agent dead: use agent_restart to bring it back"
        )


def from_backend_windows(
    outage_windows: str, rate_limit_windows: str, outage_status: int = 503
) -> list[FaultEvent]:
    """The backend's ``outage_windows`` / ``rate_limit_windows`` settings as events counted from
    the boot instant (``"0-8"`` is an outage from the boot to 8 s after it).

    >>> [e.describe() for e in from_backend_windows("0-8", "10-12")]
    ['backend_outage at 0-8 s (status=503)', 'backend_429 at 10-12 s (retry_after_s=None)']
    """
    events: list[FaultEvent] = []
    for spec, kind in ((outage_windows, WindowKind.OUTAGE), (rate_limit_windows,
                                                             WindowKind.RATE_LIMIT)):  # fmt: skip
        try:
            windows = parse_windows(spec, kind, origin=0.0)
        except FaultSpecError as exc:
            raise ValueError(str(exc)) from None
        for w in windows:
            if kind is WindowKind.OUTAGE:
                events.append(
                    BackendOutage(
                        kind="backend_outage",
                        at_s=w.start,
                        duration_s=w.end - w.start,
                        status=outage_status,
                    )
                )
            else:
                events.append(
                    Backend429(kind="backend_429", at_s=w.start, duration_s=w.end - w.start)
                )
    return events
