"""The backend's capacity model: rate (429 + Retry-After), FIFO slots with a service time, a queue
limit, the overload refresh interval; and the app answering 429 with it."""

from __future__ import annotations

import asyncio

import httpx

from fake_backend.app import create_app
from fake_backend.capacity import Capacity
from fake_backend.settings import Settings
from rc_protocol.clock import ManualClock
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.targets import parse_signed_targets

PROTO = {"Content-Type": "application/x-protobuf", "DD-Api-Key": "k"}


def test_unlimited_by_default_admits_everything() -> None:
    capacity = Capacity()
    assert not capacity.limited
    assert all(capacity.admit(0.0) is None for _ in range(10_000))


def test_rate_limit_is_a_token_bucket_answering_retry_after() -> None:
    capacity = Capacity(calls_per_s=2.0, burst=2.0)
    assert capacity.admit(0.0) is None and capacity.admit(0.0) is None
    rejected = capacity.admit(0.0)
    assert rejected is not None and rejected.reason == "rate" and rejected.retry_after_s == 1
    assert capacity.admit(0.25) is not None  # half a token back: still none whole
    assert capacity.admit(0.5) is None  # one token back after 1/rate seconds
    assert capacity.admit(10.0) is None and capacity.admit(10.0) is None  # refilled to the burst
    assert capacity.admit(10.0) is not None


async def test_slots_serve_fifo_and_the_queueing_delay_grows_with_load() -> None:
    clock = ManualClock()
    capacity = Capacity(concurrency=2, service_s=1.0)
    done: dict[int, tuple[float, float]] = {}

    async def call(i: int) -> None:
        async with capacity.slot(clock) as waited:
            done[i] = (waited, clock.monotonic())

    tasks = [asyncio.create_task(call(i)) for i in range(5)]
    await clock.advance(0)
    assert capacity.in_service == 2 and capacity.waiting == 3
    await clock.advance(3)
    await asyncio.gather(*tasks)
    assert done == {0: (0, 1), 1: (0, 1), 2: (1, 2), 3: (1, 2), 4: (2, 3)}
    assert capacity.in_service == 0 and capacity.waiting == 0


async def test_a_full_queue_sheds_load_with_429() -> None:
    clock = ManualClock()
    capacity = Capacity(concurrency=1, service_s=1.0, queue_limit=1)

    async def call() -> None:
        async with capacity.slot(clock):
            pass

    first = asyncio.create_task(call())
    await clock.advance(0)
    assert capacity.admit(0.0) is None
    second = asyncio.create_task(call())
    await clock.advance(0)
    rejected = capacity.admit(0.0)
    assert rejected is not None and rejected.reason == "queue"
    await clock.advance(2)
    await asyncio.gather(first, second)


async def test_a_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    clock = ManualClock()
    capacity = Capacity(concurrency=1, service_s=1.0)
    served: list[int] = []

    async def call(i: int) -> None:
        async with capacity.slot(clock):
            served.append(i)

    tasks = [asyncio.create_task(call(i)) for i in range(3)]
    await clock.advance(0)
    tasks[1].cancel()
    await clock.advance(3)
    await asyncio.gather(tasks[0], tasks[2])
    assert served == [0, 2] and capacity.in_service == 0


def test_overload_refresh_interval_is_sent_for_the_hold_after_a_rejection() -> None:
    capacity = Capacity(calls_per_s=1.0, overload_refresh_interval_s=30, overload_hold_s=60.0)
    assert capacity.refresh_interval(0.0) is None
    capacity.admit(0.0)
    assert capacity.admit(0.0) is not None
    assert capacity.refresh_interval(59.0) == 30
    assert capacity.refresh_interval(60.0) is None


async def test_app_answers_429_with_retry_after_and_pushes_agents_back() -> None:
    clock = ManualClock()
    settings = Settings(capacity_calls_per_s=1.0, overload_refresh_interval_s=20)
    app = create_app(settings, clock=clock)
    body = pb.LatestConfigsRequest(hostname="h", new_products=["FFE_FLAGS"]).SerializeToString()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://backend"
    ) as client:
        ok = await client.post("/api/v0.1/configurations", content=body, headers=PROTO)
        refused = await client.post("/api/v0.1/configurations", content=body, headers=PROTO)
        await clock.advance(1.0)
        again = await client.post("/api/v0.1/configurations", content=body, headers=PROTO)
        metrics = (await client.get("/metrics")).text
    assert ok.status_code == 200 and refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    first = pb.LatestConfigsResponse.FromString(ok.content).director_metas.targets.raw
    assert parse_signed_targets(first).agent_refresh_interval is None
    later = pb.LatestConfigsResponse.FromString(again.content).director_metas.targets.raw
    assert parse_signed_targets(later).agent_refresh_interval == 20
    assert 'backend_rc_capacity_rejected_total{reason="rate"} 1.0' in metrics
    assert 'backend_rc_requests_total{endpoint="configurations",status="429"} 1.0' in metrics
