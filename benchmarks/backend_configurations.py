"""How fast does the fake backend answer `POST /api/v0.1/configurations`?

The backend must never be the bottleneck of a run unless a fault says so (the proposal: "the RC
backend API itself is fast"). This script measures the app's own cost per call, in-process
through `httpx.ASGITransport` (no sockets), for three request shapes:

- `first`: a new agent (`new_products`, snapshot 0): signs targets, sends every file;
- `steady`: an agent already at the current config snapshot: targets only, no file;
- `first+asm`: like `first` with FFE_FLAGS + ASM_DATA (default 300 KiB) + APM_TRACING.

Usage: `python benchmarks/backend_configurations.py [--calls 500]`. Prints per shape: calls,
p50/p99/max milliseconds, calls per second, response bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from fake_backend.app import create_app
from fake_backend.settings import Settings
from rc_protocol.proto import remoteconfig_pb2 as pb

HEADERS = {"DD-Api-Key": "bench", "Content-Type": "application/x-protobuf"}


def _percentile(sorted_values: list[float], q: float) -> float:
    rank = max(1, round(q * len(sorted_values) + 0.4999))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def _measure(settings: Settings, request: pb.LatestConfigsRequest, calls: int) -> str:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    body = request.SerializeToString()
    durations: list[float] = []
    size = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://backend") as client:
        for i in range(calls + 10):
            started = time.perf_counter()
            response = await client.post("/api/v0.1/configurations", content=body, headers=HEADERS)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"unexpected {response.status_code}: {response.text}")
            if i >= 10:  # warm-up excluded
                durations.append(elapsed)
                size = len(response.content)
    durations.sort()
    total = sum(durations)
    return (
        f"calls={calls} p50={_percentile(durations, 0.5) * 1000:.2f}ms "
        f"p99={_percentile(durations, 0.99) * 1000:.2f}ms max={durations[-1] * 1000:.2f}ms "
        f"rate={calls / total:.0f}/s response_bytes={size}"
    )


async def main(calls: int) -> None:
    ffe = Settings(products=("FFE_FLAGS",))
    every = Settings(products=("FFE_FLAGS", "ASM_DATA", "APM_TRACING"))
    shapes = [
        ("first", ffe, pb.LatestConfigsRequest(new_products=["FFE_FLAGS"])),
        (
            "steady",
            ffe,
            pb.LatestConfigsRequest(
                products=["FFE_FLAGS"],
                current_config_snapshot_version=1,
                current_config_root_version=1,
                current_director_root_version=1,
            ),
        ),
        (
            "first+asm",
            every,
            pb.LatestConfigsRequest(new_products=["FFE_FLAGS", "ASM_DATA", "APM_TRACING"]),
        ),
    ]
    for name, settings, request in shapes:
        print(f"{name:10s} {await _measure(settings, request, calls)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    asyncio.run(main(parser.parse_args().calls))
