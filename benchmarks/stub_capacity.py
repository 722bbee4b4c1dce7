"""How many simulated tracers one stub process hosts at a 1 s poll interval, and at what cost.

    python benchmarks/stub_capacity.py                      # N = 250,500,1000,1500
    python benchmarks/stub_capacity.py --tracers 1000 --boot spread

For each N a fresh worker process runs the real `tracer_stub.host.Host` (uvloop, the real HTTP
transport, openfeature-sdk providers in event or wait mode) with ``poll_interval_s = 1`` against
a trivial local responder in another process, so that the figures are the stub's, not an
agent's (``--pin`` pins the worker to one core and the responder to another). The responder
answers a tracer's first request for FFE_FLAGS with an FFE_FLAGS config (so every provider
becomes ready, as in a run) and ``{}`` afterwards.

After a warm-up (boot, every tracer ready), it records every poll's lateness (actual send -
intended send, on the monotonic clock) for ``--duration`` seconds and prints, per N: lateness
p50/p90/p99/max, requests per second, the worker's CPU use (fraction of one core), and memory
per hosted tracer (RSS after the run - RSS before building the tracers, / N). ``/metrics`` is
rendered on the loop every ``--scrape-interval`` seconds, as the harness's scrapes would. It also
prints the time to build the host (one parked thread per tracer is started then) and the boot
spread (last tracer start - first tracer start; ``herd`` asks for 0), and the instrument's floor:
provider-ready and total-boot percentiles when the "agent" answers at once.

Boot shapes: ``herd`` starts every tracer at once (all polls then share the same instants, the
harness's default storm); ``spread`` staggers starts evenly over one interval. Other work on the
machine shows up as lateness: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

# -- the responder (its own process) ------------------------------------------------------------


def _ffe_response() -> bytes:
    from rc_protocol.targets import build_signed_targets, file_meta
    from rc_protocol.ufc_build import FlagSpec, ufc_bytes
    from rc_protocol.wire import ClientGetConfigsResponse, TargetFile

    path = "datadog/2/FFE_FLAGS/bench/config"
    raw = ufc_bytes([FlagSpec.boolean("rc-fastlane-flag", True)], environment="prod")
    targets = build_signed_targets({path: file_meta(raw, 1)}, version=1, opaque_backend_state=b"b")
    return ClientGetConfigsResponse(
        targets=targets, target_files=[TargetFile(path=path, raw=raw)], client_configs=[path]
    ).to_json_bytes()


async def _responder(port: int, serve_config: bool) -> None:
    full = _ffe_response()

    def reply(body: bytes) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )

    full_reply, empty_reply = reply(full), reply(b"{}")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                first = (
                    serve_config and b'"cached_target_files":[]' in body and b'"FFE_FLAGS"' in body
                )
                writer.write(full_reply if first else empty_reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


# -- the worker (one stub process per N) ----------------------------------------------------------


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


async def _worker(
    n: int,
    port: int,
    boot: str,
    warmup: float,
    duration: float,
    provider_mode: str,
    scrape_interval: float,
    client_policy: str,
) -> dict[str, Any]:
    from tracer_stub.client.policy import ClientPolicy, Lane
    from tracer_stub.host import Host
    from tracer_stub.metrics import StubMetrics
    from tracer_stub.settings import Settings

    class Recording(StubMetrics):
        recording = False
        lateness: list[float] = []  # noqa: RUF012 - one instance
        outcomes: dict[str, int] = {}  # noqa: RUF012

        def on_request(
            self, lane: Lane, outcome: str, duration_s: float, lateness_s: float
        ) -> None:
            super().on_request(lane, outcome, duration_s, lateness_s)
            if self.recording:
                self.lateness.append(lateness_s)
                self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    rss_before = _rss_bytes()
    settings = Settings(
        tracers=n,
        agent_url=f"http://127.0.0.1:{port}",
        poll_interval_s=1.0 if client_policy != "fastlane" else 5.0,
        client_policy=ClientPolicy(client_policy),
        boot_stagger_ms=(1000.0 / n if boot == "spread" else 0.0),
        port=0,
        seed=1,
        provider_mode=provider_mode,
    )
    metrics = Recording()
    built = time.monotonic()
    host = Host(settings, metrics=metrics)
    build_s = time.monotonic() - built
    await host.serve()

    async def scrape() -> None:  # the harness scrapes /metrics; the rendering runs on the loop
        while True:
            await asyncio.sleep(scrape_interval)
            metrics.render()

    scraper = asyncio.get_running_loop().create_task(scrape()) if scrape_interval > 0 else None
    await host.begin()
    await asyncio.sleep(warmup)
    ready = sum(1 for t in host.tracers if t.outcome == "ready")
    starts = [t.times.start for t in host.tracers if t.times.start is not None]
    spread_s = max(starts) - min(starts)
    # The instrument's floor: start -> READY / first evaluation when the agent answers at once.
    ready_s = [
        t.times.ready - t.times.tracer_started
        for t in host.tracers
        if t.times.ready is not None and t.times.tracer_started is not None
    ]
    boot_s = [
        t.times.first_evaluation - t.times.start
        for t in host.tracers
        if t.times.first_evaluation is not None and t.times.start is not None
    ]
    metrics.recording = True
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    await asyncio.sleep(duration)
    elapsed = time.monotonic() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    metrics.recording = False
    rss_after = _rss_bytes()
    threads = threading.active_count()
    if scraper is not None:
        scraper.cancel()
    await host.stop()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    lat = metrics.lateness
    return {
        "tracers": n,
        "boot": boot,
        "provider_mode": provider_mode,
        "client_policy": client_policy,
        "ready_after_warmup": ready,
        "requests": len(lat),
        "requests_per_s": len(lat) / elapsed,
        "outcomes": metrics.outcomes,
        "lateness_ms": {
            "p50": _pct(lat, 50) * 1000,
            "p90": _pct(lat, 90) * 1000,
            "p99": _pct(lat, 99) * 1000,
            "max": max(lat) * 1000 if lat else float("nan"),
        },
        "cpu_fraction_of_one_core": cpu / elapsed,
        "rss_before_mib": rss_before / 2**20,
        "rss_after_mib": rss_after / 2**20,
        "rss_per_tracer_kib": (rss_after - rss_before) / n / 1024,
        "threads_at_end": threads,
        "host_build_ms": build_s * 1000,
        "boot_spread_ms": spread_s * 1000,
        "provider_ready_ms": {
            "p50": _pct(ready_s, 50) * 1000,
            "p99": _pct(ready_s, 99) * 1000,
            "max": max(ready_s, default=float("nan")) * 1000,
        },
        "boot_total_ms": {
            "p50": _pct(boot_s, 50) * 1000,
            "p99": _pct(boot_s, 99) * 1000,
            "max": max(boot_s, default=float("nan")) * 1000,
        },
        "load_average_1m": os.getloadavg()[0],
    }


# -- the driver -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[cpu]})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracers", default="250,500,1000,1500", help="comma list of N")
    parser.add_argument("--boot", default="herd,spread", help="herd and/or spread")
    parser.add_argument("--warmup", type=float, default=6.0, help="seconds before recording")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds recorded")
    parser.add_argument("--budget-ms", type=float, default=50.0, help="p99 lateness budget")
    parser.add_argument("--provider-mode", default="event", help="event or wait")
    parser.add_argument(
        "--client-policy",
        default="legacy",
        help="legacy/phase1: one fetcher at 1 s; fastlane: a 1 s fast lane + a 5 s standard one",
    )
    parser.add_argument(
        "--scrape-interval", type=float, default=1.0, help="render /metrics every S s (0 = never)"
    )
    parser.add_argument(
        "--pending",
        action="store_true",
        help="never serve the config: every provider stays parked (worst case for threads)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin the worker to the first core and the responder to the second",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="os.nice() increment of the worker and the responder (negative needs root): "
        "isolates the stub's own cost from other work on a shared machine",
    )
    parser.add_argument("--serve-config", default="1", help=argparse.SUPPRESS)
    parser.add_argument("--responder", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    import uvloop

    if args.nice and (args.responder is not None or args.worker is not None):
        os.nice(args.nice)
    if args.responder is not None:
        if args.pin:
            _pin(1)
        uvloop.run(_responder(args.responder, args.serve_config == "1"))
        return 0
    if args.worker is not None:
        if args.pin:
            _pin(0)
        threading.stack_size(512 * 1024)  # as `python -m tracer_stub` does
        result = uvloop.run(
            _worker(
                args.worker,
                args.port,
                args.boot,
                args.warmup,
                args.duration,
                args.provider_mode,
                args.scrape_interval,
                args.client_policy,
            )
        )
        print(json.dumps(result))
        return 0

    port = _free_port()
    responder = subprocess.Popen(
        [
            sys.executable, __file__, "--responder", str(port),
            "--serve-config", "0" if args.pending else "1", *(["--pin"] if args.pin else []),
            "--nice", str(args.nice),
        ]
    )  # fmt: skip
    results: list[dict[str, Any]] = []
    try:
        time.sleep(1.0)
        for boot in args.boot.split(","):
            for n in (int(x) for x in args.tracers.split(",")):
                out = subprocess.run(
                    [
                        sys.executable, __file__, "--worker", str(n), "--port", str(port),
                        "--boot", boot, "--warmup", str(args.warmup),
                        "--duration", str(args.duration), "--provider-mode", args.provider_mode,
                        "--scrape-interval", str(args.scrape_interval),
                        "--client-policy", args.client_policy, "--nice", str(args.nice),
                        *(["--pin"] if args.pin else []),
                    ],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                result = json.loads(out.stdout.strip().splitlines()[-1])
                results.append(result)
                lat = result["lateness_ms"]
                pending = (" pending" if args.pending else "") + (
                    f" nice={args.nice}" if args.nice else ""
                )
                print(
                    f"{args.client_policy} {args.provider_mode}{pending} "
                    f"boot={boot:<6} N={n:>5}  ready={result['ready_after_warmup']:>5}  "
                    f"req/s={result['requests_per_s']:>7.0f}  lateness ms p50={lat['p50']:6.2f} "
                    f"p90={lat['p90']:6.2f} p99={lat['p99']:7.2f} max={lat['max']:7.2f}  "
                    f"cpu={result['cpu_fraction_of_one_core']:.2f} core  "
                    f"rss/tracer={result['rss_per_tracer_kib']:.0f} KiB  "
                    f"(rss {result['rss_before_mib']:.0f}->{result['rss_after_mib']:.0f} MiB, "
                    f"{result['threads_at_end']} threads)  "
                    f"build={result['host_build_ms']:.0f} ms  "
                    f"boot spread={result['boot_spread_ms']:.0f} ms  "
                    f"ready ms p50/p99/max={result['provider_ready_ms']['p50']:.0f}/"
                    f"{result['provider_ready_ms']['p99']:.0f}/"
                    f"{result['provider_ready_ms']['max']:.0f}  "
                    f"boot total ms p50/p99/max={result['boot_total_ms']['p50']:.0f}/"
                    f"{result['boot_total_ms']['p99']:.0f}/{result['boot_total_ms']['max']:.0f}  "
                    f"loadavg={result['load_average_1m']:.1f}",
                    flush=True,
                )
    finally:
        responder.terminate()
        responder.wait(timeout=10)
    for boot in args.boot.split(","):
        ok = [
            r["tracers"]
            for r in results
            if r["boot"] == boot and r["lateness_ms"]["p99"] < args.budget_ms
        ]
        best = max(ok) if ok else 0
        print(f"boot={boot}: largest N with poll lateness p99 < {args.budget_ms:g} ms: {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
