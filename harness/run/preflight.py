"""Preflight: refuse, before anything starts, a fleet this machine cannot run, naming the limit
and the option that avoids it.

Checks (:func:`check`, pure; :class:`HostLimits` reads the machine):

- **Bridge ports** (Docker): every container is one port of the run's Linux bridge, and a bridge
  has ``BR_MAX_PORTS`` = 1,024 port numbers with 0 reserved (``net/bridge/br_private.h``,
  ``find_portno`` in ``net/bridge/br_if.c``), so the 1,024th container fails midway with
  "exchange full" (``EXFULL``). Tracer containers + backend + agent must stay within 1,023.
- **Open files** (local processes): the agent holds about one connection per tracer per lane
  (two lanes), a stub process one per hosted tracer per lane (measured: 797 descriptors in the
  agent serving 400 ready tracers, 202-214 in a stub process hosting 100; docs/hardening.md).
  Every service raises its soft limit to the hard one (``rc_protocol.fdlimit``) and inherits
  the harness's: the harness raises its own soft limit when the need is above it, and refuses
  when the need is above the hard limit.
- **Memory**: an estimate from the same measurements (a stub process 50 MB plus 0.06 MB per
  ready tracer, the agent 60 MB plus 0.08 MB per tracer, the backend 70 MB) against the
  machine's ``MemAvailable``.
"""

from __future__ import annotations

import math
import resource
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import PreflightError

BRIDGE_PORTS = 1023
"""Usable ports of a Linux bridge: ``BR_MAX_PORTS`` (1 << ``BR_PORT_BITS`` = 1,024) minus
port 0, which ``find_portno`` reserves."""
SERVICES = 2
"""Backend and agent: the containers beside the tracers'."""
LANES = 2
"""Connections per tracer at most: the standard lane and the fast lane."""
FDS_BASE = 256
"""Descriptors a service process uses besides its clients' connections (measured 15 in the
backend, 12 in an idle stub process; rounded up for logs, the event loop and the scrapes)."""
MB = 1_000_000
STUB_PROCESS_BYTES = 50 * MB
STUB_TRACER_BYTES = 60_000
AGENT_BYTES = 60 * MB
AGENT_TRACER_BYTES = 80_000
BACKEND_BYTES = 70 * MB


@dataclass(frozen=True)
class FleetPlan:
    """What a run will start: its runtime, its tracers and how many each process hosts."""

    runtime: str
    tracers: int
    per_process: int
    """Tracers per process (local) or per container (Docker)."""

    @property
    def processes(self) -> int:
        """Tracer processes (or containers)."""
        return math.ceil(self.tracers / self.per_process)


@dataclass(frozen=True)
class HostLimits:
    """The limits of this machine that a fleet can hit."""

    open_files_soft: int
    open_files_hard: int
    memory_available: int | None
    """``MemAvailable`` in bytes (Linux), None where unknown."""

    @classmethod
    def probe(cls, meminfo: Path = Path("/proc/meminfo")) -> HostLimits:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        return cls(soft, hard, _mem_available(meminfo))


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` found: refusals (each names a limit and what avoids it), and the
    soft open-file limit to raise to, if any."""

    refusals: tuple[str, ...] = ()
    raise_open_files_to: int | None = None


def check(plan: FleetPlan, limits: HostLimits) -> Verdict:
    """Check ``plan`` against ``limits`` (see the module docstring)."""
    refusals: list[str] = []
    raise_to = None
    if plan.runtime == "docker":
        containers = plan.processes + SERVICES
        if containers > BRIDGE_PORTS:
            smallest = math.ceil(plan.tracers / (BRIDGE_PORTS - SERVICES))
            refusals.append(
                f"{containers} containers ({plan.processes} tracer containers of up to "
                f"{plan.per_process} tracer(s), the backend and the agent) exceed the "
                f"{BRIDGE_PORTS} ports of a Linux bridge (BR_MAX_PORTS; Docker fails midway "
                f"with 'exchange full'): use --tracers-per-container {smallest} or more "
                f"(e.g. --tracers-per-container 25: {math.ceil(plan.tracers / 25) + SERVICES} "
                "containers)"
            )
    else:
        need = _agent_fds(
            plan.tracers
        )  # a stub process hosts at most as many: the agent's is the larger need
        if need > limits.open_files_hard:
            refusals.append(_too_many_files(plan, need, limits.open_files_hard))
        elif need > limits.open_files_soft:
            raise_to = limits.open_files_hard
    needed = estimated_memory(plan)
    available = limits.memory_available
    if available is not None and needed > available:
        option = "--tracers-per-container" if plan.runtime == "docker" else "--tracers-per-process"
        refusals.append(
            f"the fleet needs about {needed / 1e9:.1f} GB of memory ({plan.processes} tracer "
            f"processes, the agent and the backend) but {available / 1e9:.1f} GB is available "
            f"(MemAvailable): host more tracers per process ({option}) or run fewer tracers "
            "(--tracers)"
        )
    return Verdict(tuple(refusals), raise_to)


def preflight(
    plan: FleetPlan,
    limits: HostLimits | None = None,
    *,
    set_soft_limit: Callable[[int], None] | None = None,
) -> list[str]:
    """Refuse (:class:`PreflightError`) or prepare ``plan``; return notes of what was done."""
    verdict = check(plan, limits or HostLimits.probe())
    if verdict.refusals:
        raise PreflightError(
            "this machine cannot run that fleet: " + "; and ".join(verdict.refusals)
        )
    if verdict.raise_open_files_to is None:
        return []
    (set_soft_limit or _set_soft_limit)(verdict.raise_open_files_to)
    return [f"raised the open-file soft limit to {verdict.raise_open_files_to} for this fleet"]


def estimated_memory(plan: FleetPlan) -> int:
    """Bytes the fleet's processes use, from the measurements in the module docstring."""
    return (
        plan.processes * STUB_PROCESS_BYTES
        + plan.tracers * (STUB_TRACER_BYTES + AGENT_TRACER_BYTES)
        + AGENT_BYTES
        + BACKEND_BYTES
    )


def _agent_fds(tracers: int) -> int:
    return LANES * tracers + FDS_BASE


def _too_many_files(plan: FleetPlan, need: int, hard: int) -> str:
    fits = max(1, (hard - FDS_BASE) // LANES)
    return (
        f"the agent needs about {need} open files ({LANES} per tracer) but the hard limit is "
        f"{hard} (`ulimit -Hn`): raise it (as root, `ulimit -Hn {need}` or LimitNOFILE= of the "
        f"service), run at most {fits} tracers (--tracers), or use --runtime docker"
    )


def _set_soft_limit(value: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (value, hard))


def _mem_available(meminfo: Path) -> int | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
