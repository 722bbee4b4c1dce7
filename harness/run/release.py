"""Releasing the fleet: every tracer process ready, then one start instant for all of them.

The protocol is docs/contracts.md, "The start signal". Each tracer process is started with
``RC_STUB_START_SIGNAL=http`` and a deadline ``RC_STUB_START_AT`` (a safety net only, later than
the harness would still wait for readiness). The
harness polls ``GET /ready-to-start`` of every process (:func:`wait_ready`); once all answer
ready it posts ``/start {"start_at": T}`` to all of them at once (:func:`release`), with ``T`` a
lead ahead of now: twice the duration of the last readiness round over the whole fleet (the
same fan-out the release does), at least :data:`MIN_LEAD_S`. A process whose deadline lies
after the fleet's (a ramp's first tracer of that process, or a replayed start offset) is
released that much after ``T``. Nothing is guessed: a fleet of containers that takes a minute
to come up is released when it is up, not at a margin picked in advance.

A process answering 404 on ``/ready-to-start`` does not implement the signal (a tracer kind of
an older contract): the whole fleet is then released at the deadline, which every process
knows, so that it still starts at one instant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from harness.errors import ComponentStartError
from harness.runtime.base import ComponentHandle, ComponentStatus
from harness.scenario.model import Scenario
from rc_protocol.clock import Clock

MIN_LEAD_S = 0.2
"""Shortest lead between the release and ``T``: the POSTs to a busy fleet must arrive first."""

InstantHook = Callable[[float], Awaitable[None]]
"""Told the fleet's start instant ``T`` before the fleet is released."""

START_SIGNAL_ENV = "RC_STUB_START_SIGNAL"
"""The environment variable that makes a tracer process wait for ``POST /start``."""


def uses_start_signal(scenario: Scenario) -> bool:
    """Whether the fleet is released by the start signal: not when each tracer starts as its
    process comes up (``fleet.boot: as_started``), nor when the agent starts with the fleet
    (``fleet.agent_start: with_fleet``: the boot instant is fixed before the agent starts)."""
    fleet = scenario.fleet
    return fleet.boot != "as_started" and fleet.agent_start != "with_fleet"


@dataclass(frozen=True)
class Readiness:
    """The fleet's last readiness round."""

    signalled: bool
    """Every process implements the signal (else the fleet starts at the deadline)."""
    round_s: float
    """How long the last round over every process took (wall seconds)."""


@dataclass(frozen=True)
class Release:
    """How the fleet was released."""

    at: float
    """``T``, unix wall seconds: the instant the fleet starts from (a ramp adds its stagger)."""
    lead_s: float
    """Seconds between the release and ``T`` (0 when the fleet started at its deadline)."""
    processes: int
    signalled: bool
    """False: released at the deadline (a process without the signal)."""
    late_s: tuple[float, ...] = ()
    """Per process, how long after its instant its ``POST /start`` arrived (0 in time)."""

    @property
    def late_processes(self) -> int:
        return sum(1 for late in self.late_s if late > 0)

    @property
    def max_late_s(self) -> float:
        return max(self.late_s, default=0.0)


def start_offset_s(handle: ComponentHandle, deadline: float) -> float:
    """This process's own offset from the fleet's instant: its deadline's distance from the
    fleet's (a ramp's stagger, or measured start offsets; 0 when the fleet boots at once)."""
    own = handle.spec.env.get("RC_STUB_START_AT", "")
    return max(0.0, float(own) - deadline) if own else 0.0


async def _readiness(client: httpx.AsyncClient, handle: ComponentHandle) -> str:
    """``ready``, ``waiting``, ``unsupported`` (404) or ``unreachable``."""
    try:
        response = await client.get(handle.host_url + "/ready-to-start")
    except httpx.HTTPError:
        return "unreachable"
    if response.status_code == 404:
        return "unsupported"
    if response.status_code != 200:
        return "waiting"
    try:
        return "ready" if response.json().get("ready") is True else "waiting"
    except ValueError:
        return "waiting"


async def wait_ready(
    handles: Sequence[ComponentHandle],
    client: httpx.AsyncClient,
    clock: Clock,
    *,
    timeout_s: float,
    interval_s: float = 0.1,
) -> Readiness:
    """Poll ``/ready-to-start`` of every process until all are ready (or one does not speak
    the signal); a process that exits, or a fleet not ready within ``timeout_s``, raises
    :class:`ComponentStartError` naming it."""
    deadline = clock.monotonic() + timeout_s
    waiting = list(handles)
    signalled = True
    round_s = 0.0
    while True:
        began = clock.time()
        states = await asyncio.gather(*(_readiness(client, h) for h in waiting))
        round_s = clock.time() - began
        still = []
        for handle, state in zip(waiting, states, strict=True):
            if handle.state().status is ComponentStatus.EXITED:
                raise ComponentStartError(
                    handle.spec.name, "exited before it was ready to start", handle.log_tail()
                )
            if state == "unsupported":
                signalled = False
            elif state != "ready":
                still.append(handle)
        waiting = still
        if not waiting:
            return Readiness(signalled, round_s)
        if clock.monotonic() >= deadline:
            h = waiting[0]
            raise ComponentStartError(
                h.spec.name,
                f"not ready to start within {timeout_s:g} s ({h.host_url}/ready-to-start"
                + (f"; {len(waiting) - 1} other process(es) neither" if len(waiting) > 1 else "")
                + "); raise timeouts.startup_s (--set timeouts.startup_s=...) if it is only slow",
                h.log_tail(),
            )
        await clock.sleep(interval_s)


async def _post_start(
    client: httpx.AsyncClient, handle: ComponentHandle, at: float
) -> tuple[ComponentHandle, float | None, str]:
    try:
        response = await client.post(handle.host_url + "/start", json={"start_at": at})
    except httpx.HTTPError as exc:
        return handle, None, f"POST /start failed: {exc!r}"
    if response.status_code != 200:
        return handle, None, f"POST /start answered {response.status_code}: {response.text[:200]}"
    try:
        late = float(response.json()["late_s"])
    except (ValueError, KeyError, TypeError):
        return handle, None, f"POST /start answered {response.text[:200]!r}"
    return handle, late, ""


async def release(
    handles: Sequence[ComponentHandle],
    client: httpx.AsyncClient,
    clock: Clock,
    readiness: Readiness,
    *,
    deadline: float,
    min_lead_s: float = MIN_LEAD_S,
    on_instant: InstantHook | None = None,
) -> Release:
    """Release the ready fleet at ``now + lead`` (see the module docstring), or report that it
    starts at ``deadline``; ``on_instant`` is told the instant before any process is (the
    faults are anchored to it). A process that refuses the release raises
    :class:`ComponentStartError` naming it."""
    lead = max(min_lead_s, 2.0 * readiness.round_s)
    at = round(clock.time() + lead, 3)
    if not readiness.signalled or at >= deadline:  # too late to beat the deadline: it rules
        if on_instant is not None:
            await on_instant(deadline)
        return Release(deadline, 0.0, len(handles), signalled=False)
    if on_instant is not None:
        await on_instant(at)
    answers = await asyncio.gather(
        *(_post_start(client, h, round(at + start_offset_s(h, deadline), 3)) for h in handles)
    )
    late: list[float] = []
    for handle, late_s, error in answers:
        if late_s is None:
            raise ComponentStartError(handle.spec.name, error, handle.log_tail())
        late.append(late_s)
    return Release(at, lead, len(handles), signalled=True, late_s=tuple(late))


async def release_fleet(
    handles: Sequence[ComponentHandle],
    client: httpx.AsyncClient,
    clock: Clock,
    *,
    deadline: float,
    timeout_s: float,
    min_lead_s: float = MIN_LEAD_S,
    on_instant: InstantHook | None = None,
) -> Release:
    """:func:`wait_ready`, then :func:`release`."""
    readiness = await wait_ready(handles, client, clock, timeout_s=timeout_s)
    return await release(
        handles,
        client,
        clock,
        readiness,
        deadline=deadline,
        min_lead_s=min_lead_s,
        on_instant=on_instant,
    )


def describe(released: Release, now: float) -> tuple[str, bool]:
    """What the release did, in one line, and whether it is a warning (a smeared boot)."""
    late = now - released.at
    if not released.signalled and late > 0:
        return (
            f"tracer processes were ready {late:.1f} s after their start deadline: the boot "
            "storm is smeared; use more tracers per process",
            True,
        )
    if released.late_processes:
        return (
            f"{released.late_processes} of {released.processes} tracer processes got the start "
            f"signal up to {released.max_late_s * 1000:.0f} ms after the start instant (the "
            "machine is busy): their tracers started late",
            True,
        )
    if released.signalled:
        return f"all tracer processes ready; released, start in {-late:.2f} s", False
    return (
        f"all tracer processes healthy; start at the deadline in {-late:.1f} s (a process "
        "without the start signal)",
        False,
    )
