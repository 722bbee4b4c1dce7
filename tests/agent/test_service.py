"""RcService serving requests, on a ManualClock: bypass hand-off, shared budget, limiter, fast
lane priority and budget, serving cost, late RC. No real sleeping. The poll loop and refresh()
are test_service_refresh.py."""

from __future__ import annotations

import asyncio

import pytest

from agent.errors import InvalidRequest, Unavailable
from agent.service import RcService
from tests.agent.conftest import FFE_PATH, FFE_RAW, RigFactory, request


async def started(make_rig: RigFactory, **kw: object) -> RcService:
    rig = make_rig(**kw)
    rig.service.start()
    await rig.clock.run_until_idle()
    return rig.service


def mark_active(service: RcService, n: int) -> None:
    """Make client ``n`` active already, so that its next request does not bypass the cache."""
    client = request(n).client
    assert client is not None
    service.clients.seen(client.id, client)


async def test_new_client_bypass_refreshes_and_gets_its_file(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.service.start()
    await rig.clock.run_until_idle()
    task = asyncio.create_task(rig.service.client_get_configs(request(1)))
    await rig.clock.advance(1.0)  # the bypass refresh waits for the 1 s spacing
    served = task.result()
    assert served.bypassed and served.lane == "fast"
    assert rig.bypass("fast", "refreshed") == 1
    call = rig.backend.requests[1]
    assert [c.id for c in call.active_clients] == ["client-1"]
    assert list(call.new_products) == ["FFE_FLAGS"]
    assert call.backend_client_state == b'{"v": 1700000000}'
    resp = served.response
    assert resp.client_configs == [FFE_PATH]
    (sent,) = resp.target_files
    assert sent.raw == FFE_RAW
    # the next poll at the current version gets {}
    again = await rig.service.client_get_configs(
        request(1, targets_version=rig.service.store.targets_version)
    )
    assert not again.bypassed and again.response.is_empty
    assert again.response.to_json_bytes() == b"{}"


async def test_new_client_facing_an_agent_that_never_refreshed_gets_empty(
    make_rig: RigFactory,
) -> None:
    rig = make_rig()  # poll loop not started: no receiver, no refresh
    task = asyncio.create_task(rig.service.client_get_configs(request(1)))
    await rig.clock.advance(1.999)
    assert not task.done()
    await rig.clock.advance(0.001)
    assert task.result().response.is_empty
    assert rig.bypass("fast", "timed_out") == 1


async def test_sixth_bypass_in_a_window_is_rate_limited_and_served_at_once(
    make_rig: RigFactory,
) -> None:
    rig = make_rig()
    rig.service.start()
    await rig.clock.run_until_idle()
    for n in range(1, 6):
        task = asyncio.create_task(rig.service.client_get_configs(request(n)))
        await rig.clock.advance(1.0)
        assert task.done() and task.result().response.client_configs == [FFE_PATH]
    assert rig.bypass("fast", "refreshed") == 5
    calls = len(rig.backend.requests)
    before = rig.clock.monotonic()
    sixth = asyncio.create_task(rig.service.client_get_configs(request(6)))
    await rig.clock.run_until_idle()
    assert sixth.done() and rig.clock.monotonic() == before  # answered at once
    assert rig.bypass("fast", "rate_limited") == 1
    assert len(rig.backend.requests) == calls  # no backend call
    assert sixth.result().response.client_configs == [FFE_PATH]  # served from the cache


async def test_hand_off_blocks_during_a_refresh_and_times_out_after_2s(
    make_rig: RigFactory,
) -> None:
    rig = make_rig()
    rig.service.start()
    await rig.clock.run_until_idle()
    rig.backend.gate = asyncio.Event()
    await rig.clock.advance(60.0)  # periodic refresh starts and hangs on the backend
    assert rig.backend.in_flight == 1
    task = asyncio.create_task(rig.service.client_get_configs(request(1)))
    await rig.clock.advance(1.999)
    assert not task.done() and rig.service.channels.waiting_senders() == 1
    await rig.clock.advance(0.001)
    assert task.done()
    assert rig.bypass("fast", "timed_out") == 1
    assert rig.service.channels.waiting_senders() == 0
    assert task.result().response.client_configs == [FFE_PATH]  # from the cache
    rig.backend.gate.set()


async def test_one_budget_covers_hand_off_and_completion(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.service.start()
    await rig.clock.run_until_idle()
    await rig.clock.advance_to(10.0)
    rig.backend.delay_s = 1.5
    a = asyncio.create_task(rig.service.client_get_configs(request(1)))
    await rig.clock.advance_to(10.5)
    b = asyncio.create_task(rig.service.client_get_configs(request(2)))
    await rig.clock.advance_to(11.5)  # A's refresh ends; B's hand-off took 1.0 s
    assert a.done() and rig.bypass("fast", "refreshed") == 1
    assert not b.done()
    await rig.clock.advance_to(12.49)
    assert not b.done()
    await rig.clock.advance_to(12.5)  # 10.5 + 2.0: the hand-off time was subtracted
    assert b.done() and rig.bypass("fast", "timed_out") == 1


async def test_fast_lane_sender_is_served_first(make_rig: RigFactory) -> None:
    rig = make_rig(policy="fastlane")
    rig.service.start()
    await rig.clock.run_until_idle()
    rig.backend.gate = asyncio.Event()
    await rig.clock.advance_to(60.0)  # periodic refresh hangs
    std = asyncio.create_task(rig.service.client_get_configs(request(1, ["APM_TRACING"])))
    await rig.clock.advance_to(60.1)
    fast = asyncio.create_task(rig.service.client_get_configs(request(2, ["FFE_FLAGS"])))
    await rig.clock.advance_to(60.2)
    rig.backend.gate.set()
    await rig.clock.advance_to(61.2)  # periodic done at 60.2; first bypass refresh at 61.2
    assert rig.refreshes("bypass_fast_lane") == 1
    assert rig.refreshes("bypass") == 0
    await rig.clock.advance_to(63.0)
    assert fast.done() and std.done()


async def test_fast_lane_budget_is_500ms_and_standard_keeps_2s(make_rig: RigFactory) -> None:
    rig = make_rig(policy="fastlane")
    rig.service.start()
    await rig.clock.run_until_idle()
    rig.backend.gate = asyncio.Event()
    await rig.clock.advance_to(60.0)
    fast = asyncio.create_task(rig.service.client_get_configs(request(1, ["FFE_FLAGS"])))
    std = asyncio.create_task(rig.service.client_get_configs(request(2, ["FFE_FLAGS", "ASM"])))
    await rig.clock.advance_to(60.499)
    assert not fast.done()
    await rig.clock.advance_to(60.5)
    assert fast.done() and rig.bypass("fast", "timed_out") == 1
    assert not std.done()
    await rig.clock.advance_to(62.0)
    assert std.done() and rig.bypass("standard", "timed_out") == 1
    rig.backend.gate.set()


async def test_legacy_gives_fast_lane_requests_the_2s_budget(make_rig: RigFactory) -> None:
    rig = make_rig(policy="legacy")
    rig.service.start()
    await rig.clock.run_until_idle()
    rig.backend.gate = asyncio.Event()
    await rig.clock.advance_to(60.0)
    fast = asyncio.create_task(rig.service.client_get_configs(request(1, ["FFE_FLAGS"])))
    await rig.clock.advance_to(61.999)
    assert not fast.done()
    await rig.clock.advance_to(62.0)
    assert fast.done() and rig.bypass("fast", "timed_out") == 1
    rig.backend.gate.set()


async def test_fast_lane_limiter_is_separate(make_rig: RigFactory) -> None:
    rig = make_rig(policy="fastlane", refresh_spacing_s=0.0)
    rig.service.start()
    await rig.clock.run_until_idle()
    for n in range(7):
        await rig.service.client_get_configs(request(n, ["FFE_FLAGS"]))
    for n in range(10, 16):
        await rig.service.client_get_configs(request(n, ["APM_TRACING"]))
    assert rig.bypass("fast", "refreshed") == 7
    assert rig.bypass("standard", "refreshed") == 5
    assert rig.bypass("standard", "rate_limited") == 1


async def test_version_only_has_update_new_product_at_same_version_gets_empty(
    make_rig: RigFactory,
) -> None:
    svc = await started(make_rig, refresh_spacing_s=0.0)
    version = svc.store.targets_version
    await svc.client_get_configs(request(1, ["APM_TRACING"], targets_version=version))
    # already active; now subscribes FFE_FLAGS at the same targets version: {}
    later = await svc.client_get_configs(
        request(1, ["APM_TRACING", "FFE_FLAGS"], targets_version=version)
    )
    assert later.response.is_empty


async def test_serve_cost_is_zero_by_default_and_serves_at_once(make_rig: RigFactory) -> None:
    rig = make_rig()
    assert rig.service.settings.serve_cost_ms == 0.0
    mark_active(rig.service, 1)  # already active: no bypass
    served = await rig.service.client_get_configs(request(1))
    assert not served.bypassed and rig.clock.monotonic() == 0.0


async def test_serve_cost_holds_the_lock_so_requests_serialise(make_rig: RigFactory) -> None:
    rig = make_rig(serve_cost_ms=100.0)
    for n in (1, 2):  # both active: served from the cache, no bypass
        mark_active(rig.service, n)
    first = asyncio.create_task(rig.service.client_get_configs(request(1)))
    second = asyncio.create_task(rig.service.client_get_configs(request(2)))
    await rig.clock.advance(0.1)
    assert first.done() and not second.done()  # the second waits for s.mu
    await rig.clock.advance(0.1)
    assert second.done() and not second.result().bypassed


async def test_serve_cost_delays_a_refresh_waiting_for_the_lock(make_rig: RigFactory) -> None:
    rig = make_rig(serve_cost_ms=500.0)
    mark_active(rig.service, 1)
    serving = asyncio.create_task(rig.service.client_get_configs(request(1)))
    await asyncio.sleep(0)  # the request takes s.mu first
    rig.service.start()  # the start-up refresh needs s.mu to collect the active clients
    await asyncio.sleep(0)
    assert rig.backend.requests == []
    await rig.clock.advance(0.5)
    await rig.clock.run_until_idle()
    assert serving.done() and len(rig.backend.requests) == 1


async def test_rc_unavailable_answers_unavailable_then_serves(make_rig: RigFactory) -> None:
    rig = make_rig(rc_unavailable_s=10.0)
    rig.service.start()
    await rig.clock.run_until_idle()
    assert rig.backend.requests == []  # no start-up refresh before RC is up
    with pytest.raises(Unavailable, match="not serving yet"):
        await rig.service.client_get_configs(request(1))
    assert not rig.service.clients.active("client-1")  # never reached ClientGetConfigs
    await rig.clock.advance(10.0)
    await rig.clock.run_until_idle()
    assert rig.refreshes("startup") == 1
    task = asyncio.create_task(rig.service.client_get_configs(request(1)))
    await rig.clock.advance(1.0)  # bypass refresh after the 1 s spacing
    assert task.result().bypassed and task.result().response.client_configs == [FFE_PATH]


async def test_rc_available_at_once_by_default(make_rig: RigFactory) -> None:
    rig = make_rig()
    assert rig.service.settings.rc_unavailable_s == 0.0
    assert rig.service.available_at == rig.clock.monotonic()


# ---- serve_now: the same rules, without a wait -------------------------------------------------


async def test_serve_now_answers_an_active_client_as_client_get_configs_does(
    make_rig: RigFactory,
) -> None:
    svc = await started(make_rig)
    mark_active(svc, 1)
    now = svc.serve_now(request(1))
    awaited = await svc.client_get_configs(request(1))
    assert now is not None and not now.bypassed and now.lane == "fast"
    assert now.encoded.body == awaited.encoded.body and now.response.client_configs == [FFE_PATH]
    assert not svc.lock.locked()
    assert svc.metrics.value("agent_rc_lock_wait_seconds_count", lane="fast") == 2


async def test_serve_now_leaves_a_new_client_to_its_bypass_untouched(make_rig: RigFactory) -> None:
    svc = await started(make_rig)
    assert svc.serve_now(request(1)) is None
    assert not svc.clients.active("client-1") and not svc.lock.locked()
    assert svc.metrics.value("agent_rc_lock_wait_seconds_count", lane="fast") == 0


async def test_serve_now_defers_while_the_lock_is_held_or_serving_has_a_cost(
    make_rig: RigFactory,
) -> None:
    svc = await started(make_rig)
    mark_active(svc, 1)
    await svc.lock.acquire()
    assert svc.serve_now(request(1)) is None  # s.mu is held: the caller must wait for it
    svc.lock.release()
    costly = await started(make_rig, serve_cost_ms=10.0)
    mark_active(costly, 1)
    assert costly.serve_now(request(1)) is None


async def test_serve_now_raises_what_client_get_configs_raises(make_rig: RigFactory) -> None:
    svc = await started(make_rig)
    bad = request(1)
    assert bad.client is not None and bad.client.state is not None
    bad.client.state.root_version = 0
    with pytest.raises(InvalidRequest, match="root_version"):
        svc.serve_now(bad)
    assert not svc.lock.locked()
    late = make_rig(rc_unavailable_s=5.0)
    with pytest.raises(Unavailable):
        late.service.serve_now(request(1))


async def test_serve_now_serves_a_new_client_whose_bypass_has_no_budget(
    make_rig: RigFactory,
) -> None:
    svc = await started(make_rig, policy="fastlane", fast_lane_block_ttl_ms=0)
    assert svc.channels.receiver_waiting  # the poll loop idles in its select
    served = svc.serve_now(request(1))
    assert served is not None and served.bypassed and served.response.client_configs == [FFE_PATH]
    assert svc.clients.active("client-1") and not svc.channels.receiver_waiting  # handed over
    assert svc.metrics.value("agent_rc_bypass_total", lane="fast", result="timed_out") == 1
    std = svc.serve_now(request(2, ["APM_TRACING"]))
    assert std is None  # the standard lane's bypass still has its 2 s budget
