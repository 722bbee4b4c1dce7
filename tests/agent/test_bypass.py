"""SingleFlight: who rides which bypass request (the single-flight design alternative)."""

from __future__ import annotations

import asyncio

from agent.bypass import BypassRequest, SingleFlight


async def test_first_client_creates_the_pending_request_others_join_it() -> None:
    flight = SingleFlight()
    first, new = flight.join("bypass", "fast", ["FFE_FLAGS"])
    assert new and first.riders == ["fast"]
    second, new = flight.join("bypass", "standard", ["APM_TRACING", "FFE_FLAGS"])
    assert second is first and not new
    assert first.riders == ["fast", "standard"]
    other, new = flight.join("fast", "fast", ["FFE_FLAGS"])  # another channel: its own
    assert new and other is not first


async def test_in_flight_request_is_joined_until_collected_then_only_if_it_covers() -> None:
    flight = SingleFlight()
    request, _ = flight.join("bypass", "standard", ["APM_TRACING"])
    flight.taken(request)
    assert flight.pending == {} and flight.in_flight == {"bypass": request}
    joined, new = flight.join("bypass", "fast", ["FFE_FLAGS"])  # not collected yet: rides it
    assert joined is request and not new
    flight.collected({"APM_TRACING"})
    covered, _ = flight.join("bypass", "standard", ["APM_TRACING"])
    assert covered is request
    uncovered, new = flight.join("bypass", "fast", ["FFE_FLAGS"])  # not carried: next one
    assert uncovered is not request and new
    assert flight.pending == {"bypass": uncovered}


async def test_finished_request_is_not_joined() -> None:
    flight = SingleFlight()
    request, _ = flight.join("bypass", "fast", ["FFE_FLAGS"])
    flight.taken(request)
    request.done.set_result(None)
    flight.finished(request)
    again, new = flight.join("bypass", "fast", ["FFE_FLAGS"])
    assert new and again is not request


async def test_covers() -> None:
    request = BypassRequest("bypass", asyncio.get_running_loop().create_future())
    assert request.covers(["ANYTHING"])  # not collected: everything active will be
    request.collected, request.covered = True, frozenset({"FFE_FLAGS"})
    assert request.covers(["FFE_FLAGS"]) and not request.covers(["ASM"])
