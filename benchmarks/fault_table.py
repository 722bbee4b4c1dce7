"""The built-in fault scenarios, legacy vs fastlane: provider-ready p50 / p90 / max and counts.

    python benchmarks/fault_table.py                       # local runtime, 100 tracers
    python benchmarks/fault_table.py --runtime docker --image rc-fastlane:dev --tracers 100
    python benchmarks/fault_table.py --scenarios fault-network-cut --tracers 20

Each built-in ``fault-*`` scenario runs twice through ``harness run``: as written (``legacy``:
today's client and agent) and with the proposal's fast lane in both (``fastlane``: ``--set
client.client_policy=fastlane --set agent.policy=fastlane``, the settings of the ``phase3``
scenario). Every run's results folder is kept under ``--out``; the table (Markdown) is printed
at the end with the load average of the machine before each run, since timings on a busy
machine are indicative only. ``fault-backend-outage`` waits out the legacy agent's backoff
(about 6 minutes): the whole table takes 15-25 minutes on the local runtime.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SCENARIOS = (
    "fault-backend-outage",
    "fault-agent-restart",
    "fault-tracer-kill",
    "fault-network-cut",
    "fault-bad-payload",
)
POLICIES = {
    "legacy": [],
    "fastlane": ["--set", "client.client_policy=fastlane", "--set", "agent.policy=fastlane"],
}


@dataclass(frozen=True)
class Row:
    scenario: str
    policy: str
    load: str
    exit_code: int
    summary: dict[str, object] | None


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} / {five:.1f}"


def run_one(scenario: str, policy: str, args: argparse.Namespace) -> Row:
    out = Path(args.out) / f"{scenario}-{policy}"
    command = [sys.executable, "-m", "harness", "run", "--scenario", scenario,
               "--runtime", args.runtime, "--tracers", str(args.tracers), "--out", str(out),
               *POLICIES[policy]]  # fmt: skip
    if args.runtime == "docker":
        command += ["--image", args.image, "--tracers-per-container", str(args.per_container)]
    print("$ " + " ".join(command[1:]), file=sys.stderr, flush=True)
    load = load_average()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    path = out / "summary.json"
    summary = json.loads(path.read_text()) if path.is_file() else None
    return Row(scenario, policy, load, done.returncode, summary)


def cells(row: Row) -> list[str]:
    s = row.summary
    if s is None:
        return ["(no summary)"] * 3 + ["", row.load]
    ready = s.get("provider_ready_ms")
    stats = ["n/a"] * 3
    if isinstance(ready, dict):
        stats = [f"{int(ready[k]):,}" for k in ("p50", "p90", "max")]
    c = s["counts"]
    assert isinstance(c, dict)
    counts = "/".join(str(c.get(k, 0)) for k in ("success", "timeout", "error", "crashed",
                                                 "unreachable"))  # fmt: skip
    status = str(s.get("status", "complete"))
    return [*stats, f"{counts} ({status})", row.load]


def table(rows: list[Row], tracers: int, runtime: str) -> str:
    head = (
        f"Built-in fault scenarios, {tracers} tracers, {runtime} runtime; provider ready in ms; "
        "counts success/timeout/error/crashed/unreachable; load average (1 / 5 min) before the "
        "run.\n\n| scenario | policy | p50 | p90 | max | counts | load |\n"
        "|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for row in rows:
        lines.append("| " + " | ".join([row.scenario, row.policy, *cells(row)]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runtime", default="local", choices=("local", "docker"))
    parser.add_argument("--tracers", type=int, default=100)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--out", default="results/fault-table")
    parser.add_argument("--image", default="rc-fastlane:dev")
    parser.add_argument("--per-container", type=int, default=1, help="Docker tracers/container")
    args = parser.parse_args()
    rows = []
    for scenario in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        for policy in POLICIES:
            rows.append(run_one(scenario, policy, args))
    print(table(rows, args.tracers, args.runtime))


if __name__ == "__main__":
    main()
