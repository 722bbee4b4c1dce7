"""The virtual-time event loop against `looptime` (PyPI), when installed: sleeps per wall second.

2,000 tasks each sleep 50 random intervals of up to 5 s (seeded); every loop runs the same
work. `looptime` is not a dependency: `pip install looptime` to include it.

    .venv/bin/python benchmarks/virtual_loop.py [--tasks 2000] [--sleeps 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections.abc import Callable

from harness.simulate.loop import VirtualTimeLoop


async def worker(rng: random.Random, sleeps: int) -> None:
    for _ in range(sleeps):
        await asyncio.sleep(rng.random() * 5.0)


async def main(tasks: int, sleeps: int) -> None:
    seeds = random.Random(1)
    await asyncio.gather(*(worker(random.Random(seeds.random()), sleeps) for _ in range(tasks)))


def measure(name: str, make: Callable[[], asyncio.AbstractEventLoop], tasks: int, n: int) -> None:
    loop = make()
    t0 = time.perf_counter()
    loop.run_until_complete(main(tasks, n))
    wall = time.perf_counter() - t0
    print(
        f"{name}: {tasks * n:,} sleeps, {loop.time():.1f} s virtual in {wall:.2f} s wall, "
        f"{tasks * n / wall:,.0f} sleeps/s (load average {os.getloadavg()[0]:.2f})"
    )
    loop.close()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--sleeps", type=int, default=50)
    args = parser.parse_args()
    measure("VirtualTimeLoop", VirtualTimeLoop, args.tasks, args.sleeps)
    try:
        import looptime  # type: ignore[import-not-found]  # optional: a comparison only
    except ImportError:
        print("looptime is not installed (pip install looptime) to compare")
        return
    measure(
        "looptime noop_cycles=0",
        lambda: looptime.new_event_loop(noop_cycles=0),
        args.tasks,
        args.sleeps,
    )
    measure("looptime default", looptime.new_event_loop, args.tasks, args.sleeps)


if __name__ == "__main__":
    cli()
