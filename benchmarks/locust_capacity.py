"""How many tracers one Locust worker hosts per core at a 1 s fast-lane interval, beside the stub.

    python benchmarks/locust_capacity.py                       # N = 250,500,1000,1500
    python benchmarks/locust_capacity.py --tracers 500,1000 --machine

For each N, one process runs N tracers of the ``fastlane`` client policy (fast lane every 1 s,
standard lane every 5 s) against the trivial responder of ``benchmarks/stub_capacity.py`` (it
answers a tracer's first FFE_FLAGS request with a config, then ``{}``), twice:

- ``locust``: a Locust worker's fleet (`tracer_locust.worker.WorkerFleet`, `TracerUser` users on
  a Locust runner, Locust's gevent HTTP client, RC events into Locust's statistics);
- ``stub``: the stub process (`tracer_stub.host.Host` on uvloop), by ``stub_capacity.py``'s own
  worker, for the side-by-side figure.

After a warm-up (boot, every tracer ready) it records every poll's lateness (actual send -
intended send) for ``--duration`` s, renders ``/metrics`` every ``--scrape-interval`` s as the
harness would, and prints per N: lateness p50/p90/p99/max, requests/s, the process's CPU (fraction
of one core) and the 1-minute load average. Then, per runtime, the largest N with lateness p99
under ``--budget-ms`` (50): tracers per worker core.

``--machine`` also runs ``os.cpu_count()`` Locust workers at once (N each, the harness's default
of one worker per core) and prints the largest fleet whose every worker stays under the budget:
the largest fleet this machine carries (with the responder, not an agent, on the same cores).
Other work on the machine shows up as lateness: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STUB_BENCH = HERE / "stub_capacity.py"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _locust_worker(
    n: int, port: int, warmup: float, duration: float, scrape: float
) -> dict[str, Any]:
    import gevent
    from locust import events
    from locust.env import Environment

    from tracer_locust.control import Assignment
    from tracer_locust.metrics import LocustMetrics
    from tracer_locust.settings import WorkerSettings
    from tracer_locust.user import TracerUser
    from tracer_locust.worker import WorkerFleet, attach
    from tracer_stub.client.policy import Lane

    class Recording(LocustMetrics):
        recording = False
        lateness: list[float] = []  # noqa: RUF012 - one instance

        def on_request(
            self, lane: Lane, outcome: str, duration_s: float, lateness_s: float
        ) -> None:
            super().on_request(lane, outcome, duration_s, lateness_s)
            if self.recording:
                self.lateness.append(lateness_s)

    environment = Environment(user_classes=[TracerUser], events=events)
    runner = environment.create_local_runner()
    fleet = WorkerFleet(environment, WorkerSettings(), {})
    fleet.metrics = metrics = Recording(environment.events.request)
    attach(environment, fleet)
    fleet.assign(
        Assignment(
            first_tracer=0,
            tracers=n,
            start_at=time.time() + 2.0 + n / 1000.0,
            stub_env={
                "RC_STUB_AGENT_URL": f"http://127.0.0.1:{port}",
                "RC_STUB_CLIENT_POLICY": "fastlane",
                "RC_STUB_FAST_LANE_INTERVAL_MS": "1000",
                "RC_STUB_SEED": "1",
            },
        )
    )
    runner.start(n, spawn_rate=float(n))

    def scraper() -> None:
        while True:
            gevent.sleep(scrape)
            metrics.render()

    if scrape > 0:
        gevent.spawn(scraper)
    gevent.sleep(warmup + 2.0 + n / 1000.0)
    ready = sum(1 for t in fleet.tracers.values() if t.outcome == "ready")
    metrics.recording = True
    cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    gevent.sleep(duration)
    elapsed, cpu1 = time.monotonic() - t0, resource.getrusage(resource.RUSAGE_SELF)
    metrics.recording = False
    runner.quit()
    lat = metrics.lateness
    return {
        "tracers": n,
        "ready_after_warmup": ready,
        "requests_per_s": len(lat) / elapsed,
        "lateness_ms": {
            "p50": _pct(lat, 50) * 1000,
            "p90": _pct(lat, 90) * 1000,
            "p99": _pct(lat, 99) * 1000,
            "max": max(lat, default=float("nan")) * 1000,
        },
        "cpu_fraction_of_one_core": (
            (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        )
        / elapsed,
        "load_average_1m": os.getloadavg()[0],
    }


def _run_locust(n: int, port: int, args: argparse.Namespace) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable, __file__, "--worker", str(n), "--port", str(port),
            "--warmup", str(args.warmup), "--duration", str(args.duration),
            "--scrape-interval", str(args.scrape_interval),
        ],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"a benchmark worker failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _run_stub(n: int, port: int, args: argparse.Namespace) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable, str(STUB_BENCH), "--worker", str(n), "--port", str(port),
            "--boot", "herd", "--warmup", str(args.warmup), "--duration", str(args.duration),
            "--scrape-interval", str(args.scrape_interval), "--client-policy", "fastlane",
        ],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _line(kind: str, r: dict[str, Any]) -> str:
    lat = r["lateness_ms"]
    return (
        f"{kind:<6} N={r['tracers']:>5}  ready={r['ready_after_warmup']:>5}  "
        f"req/s={r['requests_per_s']:>6.0f}  lateness ms p50={lat['p50']:6.2f} "
        f"p90={lat['p90']:6.2f} p99={lat['p99']:7.2f} max={lat['max']:7.2f}  "
        f"cpu={r['cpu_fraction_of_one_core']:.2f} core  loadavg={r['load_average_1m']:.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracers", default="250,500,1000,1500", help="comma list of N")
    parser.add_argument("--warmup", type=float, default=6.0, help="seconds before recording")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds recorded")
    parser.add_argument("--budget-ms", type=float, default=50.0, help="p99 lateness budget")
    parser.add_argument("--scrape-interval", type=float, default=0.5, help="/metrics renders")
    parser.add_argument("--no-stub", action="store_true", help="skip the stub's figures")
    parser.add_argument("--machine", action="store_true", help="also one worker per core")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker is not None:
        import locust  # noqa: F401  # monkey-patch first, as a Locust worker does

        result = _locust_worker(
            args.worker, args.port, args.warmup, args.duration, args.scrape_interval
        )
        print(json.dumps(result))
        return 0

    sys.path.insert(0, str(HERE))
    from stub_capacity import _free_port

    port = _free_port()
    responder = subprocess.Popen([sys.executable, str(STUB_BENCH), "--responder", str(port)])
    sizes = [int(x) for x in args.tracers.split(",")]
    best: dict[str, int] = {"locust": 0, "stub": 0}
    try:
        time.sleep(1.0)
        for n in sizes:
            for kind in ("locust", "stub"):
                if kind == "stub" and args.no_stub:
                    continue
                r = (
                    _result(_run_locust(n, port, args))
                    if kind == "locust"
                    else _run_stub(n, port, args)
                )
                print(_line(kind, r), flush=True)
                if r["lateness_ms"]["p99"] < args.budget_ms:
                    best[kind] = max(best[kind], n)
        for kind, n in best.items():
            if kind == "stub" and args.no_stub:
                continue
            print(
                f"{kind}: tracers per worker core with poll lateness p99 < {args.budget_ms:g} ms "
                f"(fast lane every 1 s): {n}"
            )
        if args.machine:
            cores = os.cpu_count() or 1
            largest = 0
            for n in sizes:
                procs = [_run_locust(n, port, args) for _ in range(cores)]
                results = [_result(p) for p in procs]
                worst = max(r["lateness_ms"]["p99"] for r in results)
                print(
                    f"machine: {cores} workers x {n} = {cores * n} tracers, worst worker "
                    f"lateness p99 {worst:.2f} ms, loadavg {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                if worst < args.budget_ms:
                    largest = max(largest, cores * n)
            print(f"largest fleet this machine carries (one worker per core): {largest}")
    finally:
        responder.terminate()
        responder.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
