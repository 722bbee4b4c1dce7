"""Agreement of `harness simulate` with the local runtime: 1 agent, N tracers, each scenario.

For each scenario (default: every built-in but `instant`, which measures the real-time
harness's own cost and has none in virtual time, and those with faults, which `harness simulate`
refuses) it runs `harness run --runtime local` and
`harness simulate --agents 1` with the same fleet, then prints, per percentile p10..p90 of the
provider-ready times, both values and whether they agree (within 10 % or 50 ms, whichever is
larger). Run it on a quiet machine: the local runtime's figures include its own costs.

The simulation runs on the local run's wall clock (`--start-wall`: its boot instant less the
agent's lead), so that the agent's bypass limiter windows, aligned to the wall clock, turn over
at the same moment of the run in both (else a simulation booted late in a minute gets a second
allowance of bypasses that the local run did not have).

    .venv/bin/python benchmarks/simulate_agreement.py [--tracers 100] [--scenarios a,b] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from harness.results.folder import load_summary
from harness.results.samples import read_samples, ready_times_ms
from harness.scenario.model import builtin_names, load_scenario
from harness.simulate.agreement import agree, agreement_table
from harness.simulate.fleet import SimOptions


def harness(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"harness {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracers", type=int, default=100)
    parser.add_argument(
        "--scenarios",
        default=",".join(
            n for n in builtin_names() if n != "instant" and not load_scenario(n).timed_faults()
        ),
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="simulate-agreement-"))
    sets = [f"--set={o}" for o in args.overrides]
    failed = []
    for name in args.scenarios.split(","):
        real_dir, sim_dir = out / f"{name}-local", out / f"{name}-simulate"
        load = os.getloadavg()
        harness("run", "--runtime", "local", "--scenario", name, "--tracers",
                str(args.tracers), "--out", str(real_dir), *sets)  # fmt: skip
        boot = datetime.fromisoformat(load_summary(real_dir).boot_at).timestamp()
        start_wall = boot - SimOptions().agent_lead_s  # the simulation boots its lead later
        harness("simulate", "--agents", "1", "--scenario", name, "--tracers",
                str(args.tracers), "--start-wall", f"{start_wall:.3f}",
                "--out", str(sim_dir), *sets)  # fmt: skip
        real = ready_times_ms(read_samples(real_dir / "samples.csv"))
        sim = ready_times_ms(read_samples(sim_dir / "samples.csv"))
        checks = agree(real, sim)
        ok = all(c.ok for c in checks)
        failed += [] if ok else [name]
        print(f"== {name}: {args.tracers} tracers, load average before {load[0]:.2f} "
              f"{load[1]:.2f} {load[2]:.2f}; ready local {len(real)}, simulated {len(sim)}: "
              f"{'AGREE' if ok else 'DISAGREE'}")  # fmt: skip
        print(agreement_table(checks))
    print(f"results: {out}")
    if failed:
        sys.exit(f"disagree: {', '.join(failed)}")


if __name__ == "__main__":
    main()
