"""RcService with the design alternatives (docs/design-space.md), on a ManualClock: the fast
lane for bundled requests, single-flight bypass, bypass on new products, warm products, a short
block budget, RC available at a wall instant. Each is off by default (the real agent)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from agent.service import RcService
from rc_protocol.proto import remoteconfig_pb2 as pb
from tests.agent.conftest import APM_PATH, FFE_PATH, T0, Catalogue, RigFactory, request

BUNDLED = ["APM_TRACING", "FFE_FLAGS"]


@dataclass
class Scoped(Catalogue):
    """A backend that, like the fake backend's director, lists only the configs of the products
    the agent reports, and issues a new version when that set grows."""

    served: set[str] = field(default_factory=set)

    def __call__(self, request: pb.LatestConfigsRequest) -> pb.LatestConfigsResponse:
        wanted = set(request.products) | set(request.new_products)
        paths = {p for p in self.files if p.split("/")[2] in wanted}
        if paths != self.served:
            self.served = paths
            self.version += 1
        full = self.files
        self.files = {p: full[p] for p in paths}
        try:
            return super().__call__(request)
        finally:
            self.files = full


async def booted(make_rig: RigFactory, **kw: object) -> RcService:
    rig = make_rig(**kw)
    rig.service.start()
    await rig.clock.run_until_idle()
    return rig.service


# ---- fast_lane_match ---------------------------------------------------------------------


async def test_bundled_request_uses_the_standard_plan_by_default(make_rig: RigFactory) -> None:
    rig = make_rig(policy="fastlane")
    assert rig.service.settings.fast_lane_match == "all"  # proposal B4
    rig.service.start()
    await rig.clock.run_until_idle()
    rig.backend.gate = asyncio.Event()
    await rig.clock.advance_to(60.0)  # a periodic refresh hangs: hand-offs block
    task = asyncio.create_task(rig.service.client_get_configs(request(1, BUNDLED)))
    await rig.clock.advance_to(61.999)
    assert not task.done()
    await rig.clock.advance_to(62.0)  # the 2 s newClientBlockTTL
    assert task.done() and rig.bypass("standard", "timed_out") == 1
    rig.backend.gate.set()


async def test_match_any_gives_a_bundled_request_the_fast_lane_budget(
    make_rig: RigFactory,
) -> None:
    rig = make_rig(policy="fastlane", fast_lane_match="any")
    rig.service.start()
    await rig.clock.run_until_idle()
    rig.backend.gate = asyncio.Event()
    await rig.clock.advance_to(60.0)
    task = asyncio.create_task(rig.service.client_get_configs(request(1, BUNDLED)))
    await rig.clock.advance_to(60.499)
    assert not task.done()
    await rig.clock.advance_to(60.5)  # fast_lane_block_ttl_ms
    assert task.done() and rig.bypass("fast", "timed_out") == 1
    assert rig.bypass("standard", "timed_out") == 0
    rig.backend.gate.set()


async def test_match_any_spends_the_fast_lane_limiter(make_rig: RigFactory) -> None:
    rig = make_rig(policy="fastlane", fast_lane_match="any", refresh_spacing_s=0.0)
    rig.service.start()
    await rig.clock.run_until_idle()
    for n in range(8):
        await rig.service.client_get_configs(request(n, BUNDLED))
    assert rig.bypass("fast", "refreshed") == 8  # 50 per window, not 5
    assert rig.refreshes("bypass_fast_lane") == 8
    for n in range(20, 26):  # no fast-lane product: the standard plan, 5 per window
        await rig.service.client_get_configs(request(n, ["APM_TRACING"]))
    assert rig.bypass("standard", "refreshed") == 5
    assert rig.bypass("standard", "rate_limited") == 1


# ---- bypass_single_flight ----------------------------------------------------------------


async def test_without_single_flight_clients_arriving_during_a_refresh_time_out(
    make_rig: RigFactory,
) -> None:
    rig = make_rig()
    rig.service.start()
    await rig.clock.run_until_idle()
    rig.backend.delay_s = 0.5
    first = asyncio.create_task(rig.service.client_get_configs(request(1)))
    await rig.clock.advance(1.1)  # spacing, then its refresh runs until 1.5
    others = [asyncio.create_task(rig.service.client_get_configs(request(n))) for n in (2, 3)]
    await rig.clock.advance_to(1.5)
    assert first.done() and not any(t.done() for t in others)
    await rig.clock.advance_to(3.1)  # both budgets (1.1 + 2 s) ran out
    assert all(t.done() for t in others)
    # Each hand-off its own refresh, one after the other (spacing 1 s, backend 0.5 s): client
    # 2's ended at 3.0, client 3's was handed off at 3.0 and is still waiting for the spacing.
    assert rig.bypass("fast", "refreshed") == 2 and rig.bypass("fast", "timed_out") == 1
    await rig.clock.advance_to(4.5)
    assert rig.bypass("fast", "refreshed") == 3
    assert rig.service.limiters["bypass"].allowance == 2  # one token per client


async def test_single_flight_clients_ride_the_refresh_in_flight(make_rig: RigFactory) -> None:
    rig = make_rig(bypass_single_flight=True)
    rig.service.start()
    await rig.clock.run_until_idle()
    rig.backend.delay_s = 0.5
    calls = len(rig.backend.requests)
    first = asyncio.create_task(rig.service.client_get_configs(request(1)))
    await rig.clock.advance(0.5)  # the refresh waits for the 1 s spacing: not yet collected
    others = [asyncio.create_task(rig.service.client_get_configs(request(n))) for n in (2, 3)]
    await rig.clock.advance_to(1.5)  # spacing ends at 1.0, backend answers at 1.5
    assert first.done() and all(t.done() for t in others)
    assert len(rig.backend.requests) == calls + 1  # one refresh for three clients
    assert sorted(c.id for c in rig.backend.requests[-1].active_clients) == [
        "client-1",
        "client-2",
        "client-3",
    ]
    assert rig.bypass("fast", "refreshed") == 3 and rig.bypass("fast", "timed_out") == 0
    assert rig.service.limiters["bypass"].allowance == 4  # one token: refreshes, not clients
    assert all(t.result().response.client_configs == [FFE_PATH] for t in others)


async def test_single_flight_client_arriving_after_the_shared_refresh_waits_for_the_spacing(
    make_rig: RigFactory,
) -> None:
    # The boundary behind agent-single-flight's local-vs-simulated gap: a client that arrives
    # while the refresh is in flight rides it; one that arrives just after it finished opens a
    # new request, whose refresh waits the 1 s spacing since that refresh's success.
    rig = make_rig(bypass_single_flight=True)
    rig.service.start()
    await rig.clock.run_until_idle()  # start-up refresh at 0
    rig.backend.delay_s = 0.5
    calls = len(rig.backend.requests)
    await rig.clock.advance_to(5.0)
    first = asyncio.create_task(rig.service.client_get_configs(request(1)))
    await rig.clock.advance_to(5.2)  # its refresh is in flight until 5.5
    rider = asyncio.create_task(rig.service.client_get_configs(request(2)))
    await rig.clock.advance_to(5.5)
    assert first.done() and rider.done()
    assert len(rig.backend.requests) == calls + 1
    await rig.clock.advance_to(5.6)  # just after that refresh finished
    late = asyncio.create_task(rig.service.client_get_configs(request(3)))
    await rig.clock.advance_to(6.999)  # spacing to 6.5, backend to 7.0
    assert not late.done()
    await rig.clock.advance_to(7.0)
    assert late.done() and len(rig.backend.requests) == calls + 2
    assert rig.refreshes("bypass") == 2 and rig.bypass("fast", "refreshed") == 3
    assert rig.service.limiters["bypass"].allowance == 3  # one token per refresh


async def test_single_flight_new_product_after_collection_waits_for_the_next_refresh(
    make_rig: RigFactory,
) -> None:
    rig = make_rig(bypass_single_flight=True, catalogue=Scoped())
    rig.service.start()
    await rig.clock.run_until_idle()
    rig.backend.delay_s = 0.5
    first = asyncio.create_task(rig.service.client_get_configs(request(1, ["APM_TRACING"])))
    await rig.clock.advance(1.2)  # collected at 1.0 (APM only), backend busy until 1.5
    late = asyncio.create_task(rig.service.client_get_configs(request(2, ["FFE_FLAGS"])))
    await rig.clock.advance_to(1.5)
    assert first.done() and not late.done()  # FFE_FLAGS is not carried by that refresh
    await rig.clock.advance_to(3.0)  # the next refresh (spacing to 2.5, backend to 3.0)
    assert late.done() and late.result().response.client_configs == [FFE_PATH]
    assert list(rig.backend.requests[-1].new_products) == ["FFE_FLAGS"]
    assert rig.service.limiters["bypass"].allowance == 3


async def test_single_flight_rate_limited_request_answers_every_rider_at_once(
    make_rig: RigFactory,
) -> None:
    rig = make_rig(bypass_single_flight=True, cache_bypass_limit=1, refresh_spacing_s=0.0)
    rig.service.start()
    await rig.clock.run_until_idle()
    await rig.service.client_get_configs(request(0))  # spends the only token
    calls = len(rig.backend.requests)
    now = rig.clock.monotonic()
    tasks = [asyncio.create_task(rig.service.client_get_configs(request(n))) for n in (1, 2)]
    await rig.clock.run_until_idle()
    assert all(t.done() for t in tasks) and rig.clock.monotonic() == now
    assert rig.bypass("fast", "rate_limited") == 2
    assert len(rig.backend.requests) == calls


async def test_single_flight_rider_times_out_on_its_own_budget(make_rig: RigFactory) -> None:
    rig = make_rig(bypass_single_flight=True)
    rig.service.start()
    await rig.clock.run_until_idle()
    rig.backend.gate = asyncio.Event()
    first = asyncio.create_task(rig.service.client_get_configs(request(1)))
    await rig.clock.advance_to(1.5)  # in flight, hanging on the backend
    second = asyncio.create_task(rig.service.client_get_configs(request(2)))
    await rig.clock.advance_to(2.0)
    assert first.done() and not second.done()  # the first's 2 s budget ran out
    await rig.clock.advance_to(3.5)
    assert second.done() and rig.bypass("fast", "timed_out") == 2
    assert second.result().response.client_configs == [FFE_PATH]  # from the start-up cache
    rig.backend.gate.set()
    await rig.clock.run_until_idle()
    assert rig.bypass("fast", "refreshed") == 2  # both rode the one refresh, which completed


# ---- bypass_on_new_products --------------------------------------------------------------


async def late_subscriber(make_rig: RigFactory, **kw: object) -> tuple[RcService, int]:
    """An agent whose client 1 is active at the current version, asking for APM_TRACING only."""
    svc = await booted(make_rig, refresh_spacing_s=0.0, catalogue=Scoped(), **kw)
    first = await svc.client_get_configs(request(1, ["APM_TRACING"]))
    assert first.response.client_configs == [APM_PATH]
    return svc, svc.store.targets_version


async def test_active_client_adding_a_product_gets_empty_by_default(
    make_rig: RigFactory,
) -> None:
    svc, version = await late_subscriber(make_rig)
    served = await svc.client_get_configs(request(1, BUNDLED, targets_version=version))
    assert not served.bypassed and served.response.is_empty


async def test_bypass_on_new_products_refreshes_with_the_new_product(
    make_rig: RigFactory,
) -> None:
    svc, version = await late_subscriber(make_rig, bypass_on_new_products=True)
    served = await svc.client_get_configs(request(1, BUNDLED, targets_version=version))
    assert served.bypassed
    assert svc.store.targets_version > version
    assert sorted(served.response.client_configs) == sorted([APM_PATH, FFE_PATH])
    same = await svc.client_get_configs(
        request(1, BUNDLED, targets_version=svc.store.targets_version)
    )
    assert not same.bypassed  # nothing new: served from the cache


# ---- prefetch_products (warm) ------------------------------------------------------------


async def test_warm_start_up_refresh_asks_for_the_fast_lane_products(
    make_rig: RigFactory,
) -> None:
    cold = make_rig(catalogue=Scoped())
    warm = make_rig(catalogue=Scoped(), prefetch_products="FFE_FLAGS")
    for rig in (cold, warm):
        rig.service.start()
        await rig.clock.run_until_idle()
        rig.backend.gate = asyncio.Event()  # every bypass refresh hangs
    assert list(cold.backend.requests[0].new_products) == []
    assert list(warm.backend.requests[0].new_products) == ["FFE_FLAGS"]
    served = {}
    for name, rig in (("cold", cold), ("warm", warm)):
        task = asyncio.create_task(rig.service.client_get_configs(request(1)))
        await rig.clock.advance(2.0)  # the bypass hangs: timed out, served from the cache
        served[name] = task.result().response
        rig.backend.gate.set()
    assert served["cold"].client_configs == []
    assert served["warm"].client_configs == [FFE_PATH]


# ---- a block budget below the client's timeout -------------------------------------------


async def test_short_block_budget_answers_before_a_2s_client_timeout(
    make_rig: RigFactory,
) -> None:
    rig = make_rig(new_client_block_ttl_s=0.5)
    rig.service.start()
    await rig.clock.run_until_idle()
    rig.backend.gate = asyncio.Event()
    await rig.clock.advance_to(60.0)
    task = asyncio.create_task(rig.service.client_get_configs(request(1, BUNDLED)))
    await rig.clock.advance_to(60.499)
    assert not task.done()
    await rig.clock.advance_to(60.5)
    assert task.done() and task.result().response.client_configs == [APM_PATH, FFE_PATH]
    rig.backend.gate.set()


# ---- rc_available_at ---------------------------------------------------------------------


async def test_rc_available_at_is_a_wall_instant(make_rig: RigFactory) -> None:
    rig = make_rig(rc_unavailable_s=99.0, rc_available_at=T0 + 7.0)
    assert rig.service.available_at == rig.clock.monotonic() + 7.0  # it wins over the delay
    past = make_rig(rc_available_at=T0 - 5.0)
    assert past.service.available_at == past.clock.monotonic()
