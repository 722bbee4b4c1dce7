"""How fast `harness simulate` runs: simulated tracer-seconds per wall second.

A tracer-second is one tracer simulated for one second of virtual time (from its start to the
end of the simulation). Prints, for each scenario: agents, tracers, virtual and wall seconds,
tracer-seconds per wall second, agent requests and backend calls per wall second, peak memory,
and the load average (figures taken on a busy machine are indicative only).

    .venv/bin/python benchmarks/simulate_speed.py [--agents 100] [--tracers 100]
        [--scenarios baseline,phase3] [--keep-polling]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import datetime
from pathlib import Path

from harness.results.counters import sum_series
from harness.scenario.model import load_scenario
from harness.simulate.fleet import SimOptions
from harness.simulate.run import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--tracers", type=int, default=100)
    parser.add_argument("--scenarios", default="baseline,phase3")
    parser.add_argument("--boot-spread-s", type=float, default=30.0)
    parser.add_argument("--keep-polling", action="store_true")
    args = parser.parse_args()
    for name in args.scenarios.split(","):
        scenario = load_scenario(name, [f"fleet.tracers={args.tracers}"])
        load = os.getloadavg()
        t0 = time.perf_counter()
        result = simulate(
            scenario,
            SimOptions(agents=args.agents, boot_spread_s=args.boot_spread_s),
            Path(tempfile.mkdtemp(prefix="simulate-speed-")),
            run_id="bench",
            keep_polling=args.keep_polling,
            write_html=False,
        )
        wall = time.perf_counter() - t0
        s = result.summary
        assert s.simulation is not None and s.backend_view is not None
        end = s.simulation.virtual_s
        ended_wall = datetime.fromisoformat(s.boot_at).timestamp() + s.duration_s
        tracer_s = sum(ended_wall - r.start_wall for r in result.samples if r.start_wall)
        requests = sum_series(s.agent, "agent_rc_requests_total", {}) or 0.0
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{name}: {args.agents:,} agents x {args.tracers:,} tracers, "
            f"{end:,.1f} s simulated in {wall:,.1f} s wall: "
            f"{tracer_s / wall:,.0f} tracer-seconds per wall second; "
            f"{requests / wall:,.0f} agent requests and {s.backend_view.calls / wall:,.1f} "
            f"backend calls per wall second; ready {s.counts.success:,}/{s.tracers:,}; "
            f"peak RSS {rss_mb:,.0f} MiB; load average before {load[0]:.2f} {load[1]:.2f} "
            f"{load[2]:.2f}{'; every poll simulated' if args.keep_polling else ''}"
        )


if __name__ == "__main__":
    main()
