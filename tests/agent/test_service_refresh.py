"""RcService's poll loop and refresh(), on a ManualClock: start-up refresh, periodic timer, 1 s
spacing, backoff, interval override, refresh errors, org UUID, active clients and products.
No real sleeping. Serving requests is test_service.py."""

from __future__ import annotations

import asyncio

import pytest

from agent.errors import BackendError
from agent.store import Store
from rc_protocol.proto import remoteconfig_pb2 as pb
from tests.agent.conftest import FFE_PATH, FFE_RAW, Catalogue, RigFactory, request


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
