"""How much does one /v0.7/config request cost the agent model, and can it serve 1,000 req/s?

Target (issue 2, part 3): p99 service time under 5 ms at 1,000 requests/s on one core, so that
the agent model's own cost never shapes a run's latencies.

Two measurements, each for three request shapes:

- ``up_to_date``: an active client already at the current targets version -> ``{}``;
- ``full``: an active client at targets version 0 -> roots, signed targets, the FFE_FLAGS file
  and ``client_configs`` (the full response path, no bypass);
- ``new_client``: a never-seen client id each time -> cache bypass handed to the poll loop;
  the limiter is already exhausted for the window, so it is answered from the cache (a window
  boundary during the run gives up to 5 real refreshes, each spaced by 1 s: shown in max).

1. **in-process**: the agent's ASGI app called directly (no sockets, no HTTP client): the time
   from the ASGI call to its return, i.e. routing, JSON decode, lock, validation, response
   build and encode. Requests are sequential, so requests/s = 1 / mean service time.
2. **uvicorn**: ``python -m agent`` and ``python -m fake_backend`` as processes on 127.0.0.1,
   the agent pinned to CPU 0 (one core) and this load generator to CPU 1 where possible; an
   open-loop generator over raw keep-alive HTTP/1.1 connections sends at ``--rate`` for
   ``--duration`` seconds (bounded count). Latency is measured from each request's *scheduled*
   send time (no coordinated omission); the agent's own handler time comes from its
   ``agent_rc_request_duration_seconds`` histogram (bucket upper bounds).

Usage: ``python benchmarks/agent_throughput.py [--requests 3000] [--rate 1000] [--duration 5]
[--connections 50] [--skip-uvicorn]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from agent.app import create_app
from agent.backend_client import HttpBackend
from agent.settings import Settings
from fake_backend.app import create_app as create_backend_app
from fake_backend.settings import Settings as BackendSettings
from rc_protocol.clock import SystemClock
from rc_protocol.wait import poll_until
from rc_protocol.wire import encode_request, tracer_request

API_KEY = "bench-key"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of unsorted ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def body_for(client: int, targets_version: int, prefix: str = "bench") -> bytes:
    req = tracer_request(
        client_id=f"{prefix}-client-{client}",
        runtime_id=f"{prefix}-runtime-{client}",
        products=["FFE_FLAGS"],
        targets_version=targets_version,
        language="go",
        tracer_version="2.5.0",
    )
    return encode_request(req)


# ---------------------------------------------------------------------------- in-process


async def asgi_call(app: Any, body: bytes) -> tuple[int, bytes, float]:
    """Call the ASGI app directly; return status, body and the seconds the call took."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v0.7/config",
        "raw_path": b"/v0.7/config",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"agent"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8126),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    t0 = time.perf_counter()
    await app(scope, receive, send)
    return status, b"".join(chunks), time.perf_counter() - t0


def report(
    name: str, durations: list[float], sizes: list[int], statuses: Counter[int], cpu_s: float
) -> str:
    mean = statistics.fmean(durations)
    per_request = cpu_s / len(durations)
    return (
        f"  {name:<11} n={len(durations):>5}  p50={percentile(durations, 0.5) * 1e3:6.3f} ms  "
        f"p99={percentile(durations, 0.99) * 1e3:6.3f} ms  max={max(durations) * 1e3:8.3f} ms  "
        f"-> {1 / mean:6.0f} req/s wall; CPU {per_request * 1e6:5.0f} us/req "
        f"(= {1 / per_request:5.0f} req/s per core)  resp={statistics.fmean(sizes):5.0f} B  "
        f"status={dict(statuses)}"
    )


async def in_process(requests: int) -> None:
    backend_app = create_backend_app(BackendSettings())
    backend = HttpBackend("http://backend", API_KEY, transport=httpx.ASGITransport(app=backend_app))
    clock = SystemClock()
    app = create_app(Settings(api_key=API_KEY), clock, backend)
    service = app.state.service
    async with app.router.lifespan_context(app):
        await wait_async(lambda: service.store.targets_version > 0, "the first refresh")
        clients = 200
        # register the clients (new -> bypass; most are rate limited and served from cache)
        await asyncio.gather(*(asgi_call(app, body_for(i, 0)) for i in range(clients)))
        version = service.store.targets_version
        print(f"in-process (ASGI app called directly, sequential, {requests} requests/shape):")
        shapes: list[tuple[str, Callable[[int], bytes]]] = [
            ("up_to_date", lambda i: body_for(i % clients, version)),
            ("full", lambda i: body_for(i % clients, 0)),
            ("new_client", lambda i: body_for(i, 0, prefix="fresh")),
        ]
        for name, make in shapes:
            durations: list[float] = []
            sizes: list[int] = []
            statuses: Counter[int] = Counter()
            cpu0 = time.process_time()
            for i in range(requests):
                status, out, seconds = await asgi_call(app, make(i))
                durations.append(seconds)
                sizes.append(len(out))
                statuses[status] += 1
            print(report(name, durations, sizes, statuses, time.process_time() - cpu0))


async def wait_async(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------------------- uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (0.0 where /proc is absent)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin(pid: int, cpus: set[int]) -> str:
    try:
        os.sched_setaffinity(pid, cpus)
        return ",".join(map(str, sorted(cpus)))
    except (AttributeError, OSError) as exc:
        return f"unpinned ({exc})"


async def http_load(
    port: int, bodies: list[bytes], rate: float, duration: float, connections: int
) -> tuple[list[float], list[float], Counter[int], float]:
    """Open-loop load: request i is due at start + i/rate; returns latencies and statuses."""
    loop = asyncio.get_running_loop()
    total = int(rate * duration)
    start = loop.time() + 0.2
    from_schedule: list[float] = []
    from_send: list[float] = []
    statuses: Counter[int] = Counter()

    async def worker(k: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in range(k, total, connections):
                due = start + i / rate
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                body = bodies[i % len(bodies)]
                sent = loop.time()
                writer.write(
                    b"POST /v0.7/config HTTP/1.1\r\nHost: agent\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    % len(body)
                    + body
                )
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                done = loop.time()
                from_schedule.append(done - due)
                from_send.append(done - sent)
                statuses[status] += 1
        finally:
            writer.close()

    await asyncio.wait_for(
        asyncio.gather(*(worker(k) for k in range(connections))), timeout=duration * 4 + 30
    )
    elapsed = loop.time() - start
    return from_schedule, from_send, statuses, elapsed


def histogram(metrics_text: str, lane: str) -> dict[float, float]:
    out: dict[float, float] = {}
    prefix = "agent_rc_request_duration_seconds_bucket{"
    for line in metrics_text.splitlines():
        if line.startswith(prefix) and f'lane="{lane}"' in line:
            le = line.split('le="')[1].split('"')[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return out


def bucket_quantile(before: dict[float, float], after: dict[float, float], q: float) -> str:
    bounds = sorted(after)
    total = after[float("inf")] - before.get(float("inf"), 0.0)
    if total <= 0:
        return "n/a"
    for le in bounds:
        if after[le] - before.get(le, 0.0) >= q * total:
            return "<= %.1f ms" % (le * 1e3) if le != float("inf") else "> 10 s"
    return "n/a"


async def through_uvicorn(rate: float, duration: float, connections: int) -> None:
    backend_port, agent_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RC_", "DD_"))}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    backend = subprocess.Popen(
        [sys.executable, "-m", "fake_backend", "--port", str(backend_port),
         "--log-level", "warning"], **quiet,  # type: ignore[call-overload]
    )  # fmt: skip
    backend_url = f"http://127.0.0.1:{backend_port}"
    poll_until(
        lambda: _healthy(backend_url), timeout=30, interval=0.1, what="fake_backend /health"
    )  # the agent's startup refresh must find it, or the next try is a full interval later
    agent = subprocess.Popen(
        [sys.executable, "-m", "agent", "--port", str(agent_port), "--api-key", API_KEY,
         "--backend-url", backend_url, "--log-level", "warning"],
        **quiet,  # type: ignore[call-overload]
    )  # fmt: skip
    try:
        agent_cpu = pin(agent.pid, {0})
        pin(backend.pid, {1})
        load_cpu = pin(0, {1})
        base = f"http://127.0.0.1:{agent_port}"

        def ready() -> bool:
            try:
                text = httpx.get(base + "/metrics", timeout=1).text
            except httpx.HTTPError:
                return False
            return "agent_rc_targets_version 0.0" not in text

        poll_until(ready, timeout=30, interval=0.2, what="the agent's first refresh")
        clients = 200
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            await asyncio.gather(
                *(client.post("/v0.7/config", content=body_for(i, 0)) for i in range(clients))
            )
            first = (await client.post("/v0.7/config", content=body_for(0, 0))).json()
        version = json.loads(base64.b64decode(first["targets"]))["signed"]["version"]
        print(
            f"uvicorn (agent on CPU {agent_cpu}, load generator on CPU {load_cpu}; "
            f"{rate:.0f} req/s for {duration:g} s over {connections} keep-alive connections):"
        )
        shapes = [
            ("up_to_date", [body_for(i, version) for i in range(clients)]),
            ("full", [body_for(i, 0) for i in range(clients)]),
            ("new_client", [body_for(i, 0, prefix="fresh") for i in range(int(rate * duration))]),
        ]
        for name, bodies in shapes:
            before = histogram(httpx.get(base + "/metrics").text, "fast")
            cpu0 = cpu_seconds(agent.pid)
            sched, sent, statuses, elapsed = await http_load(
                agent_port, bodies, rate, duration, connections
            )
            cpu = cpu_seconds(agent.pid) - cpu0
            after = histogram(httpx.get(base + "/metrics").text, "fast")
            print(
                f"  {name:<11} n={len(sched):>5} achieved={len(sched) / elapsed:7.0f} req/s  "
                f"latency p50={percentile(sched, 0.5) * 1e3:6.2f} ms "
                f"p99={percentile(sched, 0.99) * 1e3:7.2f} ms (from schedule), "
                f"p99={percentile(sent, 0.99) * 1e3:7.2f} ms (from send); agent handler "
                f"p50 {bucket_quantile(before, after, 0.5)}, "
                f"p99 {bucket_quantile(before, after, 0.99)}; agent CPU "
                f"{cpu / max(1, len(sched)) * 1e6:4.0f} us/req ({cpu / elapsed * 100:3.0f}% of a "
                f"core)  status={dict(statuses)}"
            )
    finally:
        for proc in (agent, backend):
            proc.send_signal(signal.SIGTERM)
        for proc in (agent, backend):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="in-process requests/shape")
    parser.add_argument("--rate", type=float, default=1000.0, help="uvicorn: requests/s")
    parser.add_argument("--duration", type=float, default=5.0, help="uvicorn: seconds/shape")
    parser.add_argument("--connections", type=int, default=50, help="uvicorn: connections")
    parser.add_argument("--skip-uvicorn", action="store_true")
    args = parser.parse_args()
    asyncio.run(in_process(args.requests))
    if not args.skip_uvicorn:
        asyncio.run(through_uvicorn(args.rate, args.duration, args.connections))


if __name__ == "__main__":
    main()
