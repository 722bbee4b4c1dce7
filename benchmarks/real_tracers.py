"""Real tracers on this machine: memory and CPU per tracer of each kind, and the largest real
fleet that boots without the machine's own CPU contention distorting readiness.

    python benchmarks/real_tracers.py                       # both kinds, default sizes
    python benchmarks/real_tracers.py --kinds ddtrace-py --sizes 10,20,40

Part 1, per tracer: ``--sample`` app processes of each kind (the real ``tracer_apps``, installed
by the harness) against a local fake backend and agent (the ``instant`` scenario: warm cache, no
bypass wait). From ``/proc/<pid>``: resident memory (VmRSS) and CPU seconds (utime + stime)
once loaded (before the barrier) and once ready; medians are printed.

Part 2, the fleet sweep: ``harness run --scenario instant --tracer-kind KIND --tracers N`` for
each N (local runtime). The ``instant`` scenario has no policy delay anywhere, so whatever its
provider-ready times show is the harness's and the machine's own cost. The verdict per N: the
p90 of the post-barrier tracer start (``start_ms``: ``import ddtrace.auto`` / ``tracer.init()``)
and the provider-ready p90; a fleet is "undistorted" while both stay under ``--budget-ms``
(default 1000 ms: a seventh of the 7 s the baseline's mechanisms produce, and far above the
stub's instant floor of ~150 ms). The load average is printed beside every figure: the machine
is shared, so re-run on a quiet one for the record.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from harness.results.stats import percentile
from harness.run.credentials import Credentials
from harness.run.kinds import fleet_specs
from harness.run.runner import run_scenario
from harness.run.startup import wait_healthy
from harness.runtime.base import ComponentSpec
from harness.runtime.local import LocalComponent, LocalRuntime
from harness.runtime.tracer_apps import ensure_installed
from harness.scenario.model import load_scenario
from rc_protocol.clock import SystemClock
from rc_protocol.wait import poll_until

TICK_S = os.sysconf("SC_CLK_TCK")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def proc_figures(pid: int) -> tuple[float, float]:
    """(resident MiB, CPU seconds) of a process."""
    rss_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK_S
    return rss_kb / 1024.0, cpu


def per_tracer(kind: str, sample: int) -> None:
    """Part 1: memory and CPU of ``sample`` app processes of ``kind``."""
    scenario = load_scenario("instant", [f"fleet.tracers={sample}", f"fleet.kind={kind}"])
    launch = ensure_installed(kind, say=print)
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp, LocalRuntime("bench", Path(tmp)) as runtime:

        async def run() -> None:
            async with httpx.AsyncClient(timeout=2.0) as client:
                keys = Credentials.fresh()
                backend_env = {**scenario.backend_env(), **keys.backend_env()}
                [backend] = runtime.start(
                    [ComponentSpec("backend", "backend", "fake_backend", backend_env)]
                )
                await wait_healthy([backend], client, clock, 30)
                agent_env = {
                    **scenario.agent_env(),
                    **keys.agent_env(),
                    "RC_AGENT_BACKEND_URL": backend.internal_url,
                }
                [agent] = runtime.start([ComponentSpec("agent", "agent", "agent", agent_env)])
                await wait_healthy([agent], client, clock, 30)
                start_at = time.time() + 5.0 + 2.0 * sample
                specs = fleet_specs(  # no start signal: the apps start at start_at
                    scenario,
                    1,
                    agent.internal_url,
                    "bench",
                    start_at,
                    launches={kind: launch},
                    signal=False,
                )
                apps = runtime.start(specs)
                await wait_healthy(apps, client, clock, 120)
                pids = [h.pid for h in apps if isinstance(h, LocalComponent)]
                loaded = [proc_figures(p) for p in pids]

                def all_ready() -> bool:
                    for h in apps:
                        text = httpx.get(h.host_url + "/metrics", timeout=2).text
                        if 'outcome="ready"} 1.0' not in text:
                            return False
                    return True

                await asyncio.sleep(max(0.0, start_at - time.time()))
                poll_until(all_ready, timeout=60, interval=0.2, what=f"{kind} ready")
                ready = [proc_figures(p) for p in pids]
                print(
                    f"{kind}: {sample} processes (load {load()}): loaded "
                    f"{statistics.median(r for r, _ in loaded):.0f} MiB, "
                    f"{statistics.median(c for _, c in loaded):.2f} CPU s; ready "
                    f"{statistics.median(r for r, _ in ready):.0f} MiB, "
                    f"{statistics.median(c for _, c in ready):.2f} CPU s (medians, per tracer)"
                )

        asyncio.run(run())


def sweep(kind: str, sizes: list[int], budget_ms: int, out: Path) -> None:
    """Part 2: the instant scenario at each fleet size."""
    print(f"{kind}: fleet sweep, instant scenario (budget {budget_ms} ms for p90 start and ready)")
    largest = 0
    for n in sizes:
        scenario = load_scenario("instant", [f"fleet.tracers={n}", f"fleet.kind={kind}"])
        before = load()
        result = run_scenario(
            scenario,
            out / f"{kind}-{n}",
            lambda rid, logs: LocalRuntime(rid, logs),
        )
        rows = [r for r in result.samples if r.outcome == "ready"]
        starts = [r.start_ms for r in rows if r.start_ms is not None]
        ready = [r.provider_ready_ms for r in rows if r.provider_ready_ms is not None]
        p90_start = percentile(starts, 90) if starts else None
        p90_ready = percentile(ready, 90) if ready else None
        ok = (
            len(rows) == n
            and p90_start is not None
            and p90_ready is not None
            and p90_start <= budget_ms
            and p90_ready <= budget_ms
        )
        largest = n if ok and n > largest else largest
        print(
            f"  N={n:<4} ready {len(rows)}/{n}  start p50/p90 "
            f"{percentile(starts, 50) if starts else '-'}/{p90_start} ms  provider ready "
            f"p50/p90 {percentile(ready, 50) if ready else '-'}/{p90_ready} ms  "
            f"{'undistorted' if ok else 'DISTORTED'}  (load before {before}, after {load()})"
        )
    print(f"{kind}: largest undistorted fleet here: {largest or 'none of the sizes tried'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="ddtrace-py,dd-trace-js")
    parser.add_argument("--sizes", default="5,10,20,40,60")
    parser.add_argument("--sample", type=int, default=3)
    parser.add_argument("--budget-ms", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="real-bench-")))
    args = parser.parse_args()
    for kind in args.kinds.split(","):
        per_tracer(kind, args.sample)
    for kind in args.kinds.split(","):
        sweep(kind, [int(s) for s in args.sizes.split(",")], args.budget_ms, args.out)
    print(f"runs: {args.out}")


if __name__ == "__main__":
    main()
