"""Releasing the fleet (harness.run.release) against in-memory components: readiness, the lead,
a ramp's offsets, the deadline fallback, and what a process that exits or refuses says."""

from __future__ import annotations

import pytest

from harness.errors import ComponentStartError
from harness.run.release import Readiness, release, release_fleet, wait_ready
from harness.runtime.base import ComponentHandle, ComponentSpec
from harness.runtime.fake import FakeRuntime, FakeScript
from rc_protocol.clock import FastForwardClock

T0 = 1_800_000_000.0


def fleet(
    script: FakeScript | None = None, *, processes: int = 2, stagger_ms: float = 0.0
) -> tuple[FakeRuntime, list[ComponentHandle]]:
    runtime = FakeRuntime("r", FastForwardClock(start_wall=T0), script)

    def env(n: int) -> dict[str, str]:  # as fleet_specs: a ramp offsets each deadline
        return {
            "RC_STUB_START_AT": f"{T0 + 30 + 5 * n * stagger_ms / 1000:.3f}",
            "RC_STUB_START_SIGNAL": "http",
            "RC_STUB_BOOT_STAGGER_MS": str(stagger_ms),
        }

    specs = [
        ComponentSpec(
            f"tracers-{n:03d}", "tracer", "tracer_stub", env(n), tracers=5, first_tracer=5 * n
        )
        for n in range(processes)
    ]
    return runtime, runtime.start(specs)


async def test_a_ready_fleet_is_released_with_a_lead_twice_its_readiness_round() -> None:
    runtime, handles = fleet(stagger_ms=100.0)
    async with runtime.http_client(timeout=2) as client:
        done = await release(handles, client, runtime.clock, Readiness(True, 0.4), deadline=T0 + 30)
    assert (done.at, done.lead_s, done.signalled, done.late_s) == (T0 + 0.8, 0.8, True, (0.0, 0.0))
    assert [c.released_at for c in runtime.components] == [T0 + 0.8, T0 + 0.8 + 0.5]


async def test_a_release_that_cannot_beat_the_deadline_leaves_the_deadline() -> None:
    runtime, handles = fleet()
    async with runtime.http_client(timeout=2) as client:
        done = await release(handles, client, runtime.clock, Readiness(True, 0.0), deadline=T0)
    assert (done.at, done.signalled) == (T0, False)
    assert [c.released_at for c in runtime.components] == [None, None]


async def test_one_process_without_the_signal_sends_the_fleet_to_its_deadline() -> None:
    runtime, handles = fleet(FakeScript(no_start_signal=frozenset({"tracers-001"})))
    async with runtime.http_client(timeout=2) as client:
        done = await release_fleet(handles, client, runtime.clock, deadline=T0 + 30, timeout_s=5)
    assert (done.at, done.signalled, done.lead_s) == (T0 + 30, False, 0.0)


async def test_a_process_that_refuses_the_release_is_named() -> None:
    runtime, handles = fleet()
    async with runtime.http_client(timeout=2) as client:
        await release(handles[:1], client, runtime.clock, Readiness(True, 0.0), deadline=T0 + 30)
        with pytest.raises(ComponentStartError) as err:
            await release(handles, client, runtime.clock, Readiness(True, 1.0), deadline=T0 + 30)
    assert err.value.component == "tracers-000" and "answered 409" in err.value.reason


async def test_readiness_names_a_process_that_exits_or_never_answers() -> None:
    runtime, handles = fleet(FakeScript(exit_at_start={"tracers-001": 3}))
    async with runtime.http_client(timeout=2) as client:
        with pytest.raises(ComponentStartError, match="exited before it was ready to start"):
            await wait_ready(handles, client, runtime.clock, timeout_s=5)
    runtime, handles = fleet(FakeScript(silent=frozenset({"tracers-000", "tracers-001"})))
    async with runtime.http_client(timeout=2) as client:
        with pytest.raises(ComponentStartError) as err:
            await wait_ready(handles, client, runtime.clock, timeout_s=1)
    assert err.value.component == "tracers-000"
    assert "not ready to start within 1 s" in err.value.reason
    assert "1 other process(es) neither" in err.value.reason
