"""The same run on the ``locust`` and the ``local`` runtimes: do they give the same distribution?

    python benchmarks/locust_vs_local.py                     # phase3, 100 tracers, 3 rounds
    python benchmarks/locust_vs_local.py --scenario instant --tracers 200 --rounds 5

Runs ``harness run --runtime locust`` and ``--runtime local`` alternately (so that both see the
same machine), ``--rounds`` times each, and prints each run's provider-ready p50/p90 with the load
average, then the median of each over the rounds and whether they agree within ``--rel`` (15 %)
or ``--abs-ms`` (100 ms), whichever is larger. Other work on the machine moves both: run it on a
quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def run(runtime: str, args: argparse.Namespace, out: Path) -> dict[str, int]:
    cmd = [
        sys.executable, "-m", "harness", "run", "--runtime", runtime,
        "--tracers", str(args.tracers), "--scenario", args.scenario, "--out", str(out),
        *(["--locust-workers", str(args.workers)] if runtime == "locust" else []),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    summary = json.loads((out / "summary.json").read_text())
    ready: dict[str, int] = summary["provider_ready_ms"]
    return ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="phase3")
    parser.add_argument("--tracers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rel", type=float, default=0.15)
    parser.add_argument("--abs-ms", type=float, default=100.0)
    args = parser.parse_args()
    seen: dict[str, list[dict[str, int]]] = {"locust": [], "local": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.rounds):
            for runtime in ("locust", "local"):
                ready = run(runtime, args, Path(tmp) / f"{runtime}-{k}")
                seen[runtime].append(ready)
                print(
                    f"round {k + 1} {runtime:<6} provider ready p50 {ready['p50']:>6} ms  "
                    f"p90 {ready['p90']:>6} ms  loadavg {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    agree = True
    for q in ("p50", "p90"):
        loc = statistics.median(r[q] for r in seen["locust"])
        lcl = statistics.median(r[q] for r in seen["local"])
        tolerance = max(args.rel * lcl, args.abs_ms)
        ok = abs(loc - lcl) <= tolerance
        agree = agree and ok
        print(
            f"{q}: locust {loc:.0f} ms vs local {lcl:.0f} ms (median of {args.rounds}): "
            f"difference {loc - lcl:+.0f} ms, tolerance {tolerance:.0f} ms: "
            + ("within" if ok else "OUTSIDE")
        )
    print(f"{args.scenario}, {args.tracers} tracers: " + ("agree" if agree else "DISAGREE"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
