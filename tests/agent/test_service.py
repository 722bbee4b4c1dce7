"""RcService rules on a ManualClock: bypass hand-off, shared budget, limiter, poll loop timer,
1 s spacing, backoff, interval override, fast lane priority and budget. No real sleeping."""

from __future__ import annotations

import asyncio

import pytest

from agent.errors import BackendError, Unavailable
from agent.service import RcService
from agent.store import Store
from rc_protocol.proto import remoteconfig_pb2 as pb
from tests.agent.conftest import FFE_PATH, FFE_RAW, Catalogue, RigFactory, request


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


async def test_first_refresh_is_immediate_at_startup(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.service.start()
    await rig.clock.run_until_idle()
    assert len(rig.backend.requests) == 1
    assert rig.refreshes("startup") == 1
    assert rig.service.store.targets_version == rig.catalogue.version
    first = rig.backend.requests[0]
    assert first.current_director_root_version == 0  # TUFVersions{} before the first update
    assert not first.has_error


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


async def test_any_bypass_message_restarts_the_full_periodic_timer(make_rig: RigFactory) -> None:
    rig = make_rig(cache_bypass_limit=1)
    rig.service.start()
    await rig.clock.run_until_idle()
    await rig.clock.advance_to(10.0)
    first = asyncio.create_task(rig.service.client_get_configs(request(1)))
    await rig.clock.run_until_idle()
    assert first.done() and rig.bypass("fast", "refreshed") == 1
    await rig.clock.advance_to(50.0)
    second = asyncio.create_task(rig.service.client_get_configs(request(2)))
    await rig.clock.run_until_idle()
    assert second.done() and rig.bypass("fast", "rate_limited") == 1
    await rig.clock.advance_to(109.99)  # not at 60 nor at 70: the timer restarted at 50
    assert rig.refreshes("periodic") == 0
    await rig.clock.advance_to(110.0)
    assert rig.refreshes("periodic") == 1


async def test_refreshes_are_spaced_by_one_second(make_rig: RigFactory) -> None:
    rig = make_rig()
    times: list[float] = []
    catalogue = rig.catalogue

    def responder(req: pb.LatestConfigsRequest) -> pb.LatestConfigsResponse:
        times.append(rig.clock.monotonic())
        return catalogue(req)

    rig.backend.responder = responder
    rig.service.start()
    await rig.clock.run_until_idle()
    a = asyncio.create_task(rig.service.client_get_configs(request(1)))
    await rig.clock.run_until_idle()
    assert not a.done()  # sleeping for the spacing, lock released
    assert not rig.service.lock.locked()
    await rig.clock.advance(0.999)
    assert len(times) == 1
    await rig.clock.advance(0.001)
    assert times == [0.0, 1.0]


async def test_backoff_grows_on_error_and_recovers_on_success(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.backend.fail_next = 1
    rig.service.start()
    await rig.clock.run_until_idle()
    svc = rig.service
    assert rig.refreshes("startup", "error") == 1
    assert svc.backoff_errors == 1
    interval = svc.calculate_refresh_interval()
    assert 60 + 30 <= interval <= 60 + 60
    await rig.clock.advance_to(89.99)
    assert len(rig.backend.requests) == 1
    await rig.clock.advance_to(120.0)
    assert len(rig.backend.requests) == 2
    retry = rig.backend.requests[1]
    assert retry.has_error and retry.error.startswith("api: ")
    assert svc.backoff_errors == 0 and svc.calculate_refresh_interval() == 60


async def test_backoff_capped_at_max_backoff(make_rig: RigFactory) -> None:
    rig = make_rig()
    svc = rig.service
    for _ in range(10):
        svc.backoff_errors = svc.backoff.inc_error(svc.backoff_errors)
    assert svc.calculate_refresh_interval() == 60 + 300


@pytest.mark.parametrize(
    ("recommended", "operator", "interval"),
    [(5, None, 5.0), (1, None, 1.0), (60, None, 60.0), (120, None, 60.0), (0, None, 60.0),
     (5, 30.0, 30.0), (5, 4.0, 5.0)],
)  # fmt: skip
async def test_backend_interval_override(
    make_rig: RigFactory, recommended: int, operator: float | None, interval: float
) -> None:
    rig = make_rig(
        catalogue=Catalogue(agent_refresh_interval=recommended), refresh_interval_s=operator
    )
    rig.service.start()
    await rig.clock.run_until_idle()
    assert rig.service.refresh_interval_s == interval
    assert {lim.window_s for lim in rig.service.limiters.values()} == {interval}


async def test_verification_failure_is_a_refresh_error_and_keeps_the_old_state(
    make_rig: RigFactory,
) -> None:
    rig = make_rig()
    rig.service.start()
    await rig.clock.run_until_idle()
    old = rig.service.store.targets_version
    rig.catalogue.version += 10
    rig.catalogue.files[FFE_PATH] = FFE_RAW + b"\n"
    rig.catalogue.corrupt = FFE_PATH
    await rig.clock.advance(60.0)
    assert rig.refreshes("periodic", "error") == 1
    assert rig.service.store.targets_version == old
    assert rig.service.last_update_err is not None
    assert rig.service.last_update_err.startswith("tuf: ")
    assert rig.service.backoff_errors == 1


async def test_malformed_root_at_startup_is_a_refresh_error_and_the_loop_goes_on(
    make_rig: RigFactory,
) -> None:
    rig = make_rig()
    good = rig.catalogue

    def responder(req: pb.LatestConfigsRequest) -> pb.LatestConfigsResponse:
        answer = good(req)
        if len(rig.backend.requests) == 1:  # only the start-up answer is malformed
            bad = b'{"signed": {"_type": "root", "version": "two"}}'
            answer.director_metas.roots.append(pb.TopMeta(version=0, raw=bad))
        return answer

    rig.backend.responder = responder
    rig.service.start()
    await rig.clock.run_until_idle()
    assert rig.refreshes("startup", "error") == 1
    assert rig.service.last_update_err is not None
    assert rig.service.last_update_err.startswith("tuf: ")
    await rig.clock.advance(60.0 + 60.0)  # interval + the largest backoff after one error
    assert rig.refreshes("periodic") == 1  # the poll loop survived the bad update
    assert rig.service.store.targets_version == good.version


class StoreFailingOnce(Store):
    """A store whose first ``apply`` raises a non-AgentError, as a model bug would."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def apply(self, response: pb.LatestConfigsResponse) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("bug in apply")
        super().apply(response)


async def test_unexpected_error_in_the_startup_refresh_does_not_kill_the_poll_loop(
    make_rig: RigFactory,
) -> None:
    rig = make_rig()
    rig.service.store = StoreFailingOnce()
    rig.service.start()
    await rig.clock.run_until_idle()
    assert rig.refreshes("startup", "error") == 1
    await rig.clock.advance(60.0)
    assert rig.refreshes("periodic") == 1
    assert rig.service.store.targets_version == rig.catalogue.version


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


async def test_active_clients_sent_to_backend_and_products_promoted(make_rig: RigFactory) -> None:
    rig = make_rig(refresh_spacing_s=0.0)
    rig.service.start()
    await rig.clock.run_until_idle()
    await rig.service.client_get_configs(request(1, ["FFE_FLAGS"]))
    await rig.service.client_get_configs(request(2, ["FFE_FLAGS", "ASM"]))
    third = rig.backend.requests[2]
    assert sorted(third.products) == ["FFE_FLAGS"]
    assert list(third.new_products) == ["ASM"]
    assert sorted(c.id for c in third.active_clients) == ["client-1", "client-2"]
    tracer = third.active_clients[0].client_tracer
    assert tracer.language == "python" and tracer.runtime_id.startswith("runtime-")


async def test_org_uuid_fetched_once_with_the_lock_held(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.backend.delay_s = 0.5
    rig.service.start()
    await rig.clock.run_until_idle()
    assert rig.backend.org_calls == 1 and rig.service.lock.locked()  # GET /org under s.mu
    await rig.clock.advance(0.5)
    assert not rig.service.lock.locked()  # now in the configurations call: lock released
    await rig.clock.advance(0.5)
    assert rig.backend.requests[0].org_uuid == rig.backend.org
    await rig.clock.advance(60.5)
    assert rig.backend.org_calls == 1 and len(rig.backend.requests) == 2


@pytest.mark.parametrize("error", [BackendError("GET /api/v0.1/org: 503"), RuntimeError("bug")])
async def test_org_uuid_failure_ends_the_refresh_without_backoff(
    make_rig: RigFactory, error: Exception
) -> None:
    rig = make_rig()
    real_org_uuid = rig.backend.org_uuid
    failures = [error]

    async def org_uuid() -> str:
        if failures:
            raise failures.pop()
        return await real_org_uuid()

    rig.backend.org_uuid = org_uuid  # type: ignore[method-assign]
    rig.service.start()
    await rig.clock.run_until_idle()
    assert rig.refreshes("startup", "error") == 1
    assert rig.backend.requests == []  # no configurations call without an org uuid
    assert rig.service.backoff_errors == 0 and rig.service.last_update_err is None
    assert not rig.service.lock.locked()
    await rig.clock.advance(60.0)
    assert rig.refreshes("periodic") == 1 and len(rig.backend.requests) == 1


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


async def test_prefetch_products_are_new_products_of_the_startup_refresh(
    make_rig: RigFactory,
) -> None:
    """Calibration only: the `instant` scenario warms the cache before any client is seen."""
    rig = make_rig(prefetch_products="FFE_FLAGS, APM_TRACING")
    rig.service.start()
    await rig.clock.run_until_idle()
    [first] = rig.backend.requests
    assert sorted(first.new_products) == ["APM_TRACING", "FFE_FLAGS"]
    assert not first.active_clients
    assert rig.service.products == {"APM_TRACING", "FFE_FLAGS"}


async def test_without_prefetch_the_startup_refresh_asks_for_no_product(
    make_rig: RigFactory,
) -> None:
    rig = make_rig()
    rig.service.start()
    await rig.clock.run_until_idle()
    [first] = rig.backend.requests
    assert list(first.new_products) == [] and list(first.products) == []
