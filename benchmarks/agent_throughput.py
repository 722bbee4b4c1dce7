"""How many /v0.7/config requests per second the agent model serves on one core, through real HTTP.

    python benchmarks/agent_throughput.py                       # both shapes, 5 s each
    python benchmarks/agent_throughput.py --shapes up_to_date --seconds 10
    git archive main | tar -x -C /tmp/main      # then, before and after under the same load:
    python benchmarks/agent_throughput.py --before /tmp/main
    python benchmarks/agent_throughput.py --profile /tmp/agent.txt   # py-spy collapsed stacks

``python -m fake_backend`` and ``python -m agent`` (its default settings: legacy policy, 5
bypasses per 60 s window) run as processes on 127.0.0.1; the agent is pinned to one core
(``taskset -c AGENT_CPU``), the backend and this load generator to the other (``--load-cpu``).
The generator speaks raw keep-alive HTTP/1.1 on asyncio protocols (uvloop) with every request
body made beforehand, so that it costs less per request than the agent; what limits the
achieved rate on a busy machine is then the generator's share of its core, and the agent's CPU
time per request (from ``/proc``) is the figure that does not depend on it.

Two request shapes, the two a booting fleet sends most:

- ``up_to_date``: 200 active clients already at the current targets version -> ``{}``;
- ``new_client``: a never-seen client id every time -> a cache bypass handed to the poll loop,
  rate limited (the window's 5 bypasses are spent first; a window that would end during the
  shape is waited out), answered from the cache with the FFE_FLAGS file (the full response).

Each shape is measured twice:

1. **capacity**: ``--connections`` closed-loop connections send back to back for ``--seconds``;
   the achieved rate and the agent's CPU time per request, hence requests/s per core.
2. **at the target rate** (``--rates``, default 5,000 and 2,000 requests/s, the issue's
   criteria): an open-loop generator sends request i at ``start + i / rate`` on the same
   connections; latency is measured from the send (the *service time* seen by a client: the
   agent's queueing, parsing, serving, and the loopback) and from the schedule (adds any wait
   for a free connection: coordinated omission shows there).

``--before DIR`` measures the agent of another checkout the same way right after (same load):
the before/after of a change.

Refreshes that happened during a shape (``agent_rc_refreshes_total``) are printed: each one holds
the agent's lock while it lists the active clients, so they would show in the tail.
The load average is printed beside every figure: on a shared machine the figures are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from rc_protocol.wait import poll_until
from rc_protocol.wire import encode_request, tracer_request

API_KEY = "bench-key"
WINDOW_S = 60.0  # the legacy limiter's window: defaultRefreshInterval, wall-clock aligned
BYPASS_LIMIT = 5  # defaultCacheBypassLimit


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (as harness.results.stats)."""
    ordered = sorted(values)
    rank = min(len(ordered), int(q * len(ordered)) + 1)
    return ordered[rank - 1]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def body_for(client: str, targets_version: int) -> bytes:
    """A dd-trace-go-like request for FFE_FLAGS (base64 bytes fields)."""
    req = tracer_request(
        client_id=f"client-{client}",
        runtime_id=f"runtime-{client}",
        products=["FFE_FLAGS"],
        capabilities=b"\x40\x00\x00\x00\x00\x00",
        targets_version=targets_version,
        language="go",
        tracer_version="2.5.0",
    )
    return encode_request(req)


def frame(body: bytes) -> bytes:
    return (
        b"POST /v0.7/config HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )


# ---------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Stack:
    backend: subprocess.Popen[bytes]
    agent: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics", timeout=5).text

    def stop(self) -> None:
        for proc in (self.agent, self.backend):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (self.agent, self.backend):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def agent_source(tree: Path) -> str:
    """Where ``python -m agent`` run from ``tree`` imports the agent from."""
    out = subprocess.run(
        [sys.executable, "-c", "import agent; print(agent.__file__)"],
        cwd=tree, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return str(Path(out.stdout.strip()).parent)


def start_stack(agent_cpu: int, load_cpu: int, agent_args: Sequence[str], tree: Path) -> Stack:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RC_", "DD_"))}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "cwd": tree}
    taskset = shutil.which("taskset")
    if taskset is None:
        raise SystemExit("taskset not found (util-linux): the agent must run pinned to one core")
    backend_port, agent_port = free_port(), free_port()
    backend = subprocess.Popen(
        [taskset, "-c", str(load_cpu), sys.executable, "-m", "fake_backend",
         "--port", str(backend_port), "--log-level", "warning"], **quiet,  # type: ignore[call-overload]
    )  # fmt: skip
    backend_url = f"http://127.0.0.1:{backend_port}"
    poll_until(lambda: healthy(backend_url), timeout=30, interval=0.1, what="fake_backend")
    agent = subprocess.Popen(
        [taskset, "-c", str(agent_cpu), sys.executable, "-m", "agent",
         "--port", str(agent_port), "--api-key", API_KEY, "--backend-url", backend_url,
         "--log-level", "warning", *agent_args], **quiet,  # type: ignore[call-overload]
    )  # fmt: skip
    stack = Stack(backend, agent, agent_port)

    def refreshed() -> bool:
        try:
            return "agent_rc_targets_version 0.0" not in stack.metrics()
        except httpx.HTTPError:
            return False

    try:
        poll_until(refreshed, timeout=30, interval=0.2, what="the agent's first refresh")
    except BaseException:
        stack.stop()
        raise
    return stack


def refreshes(metrics_text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics_text.splitlines()
        if line.startswith("agent_rc_refreshes_total{")
    )


def loop_lag(metrics_text: str) -> dict[float, float]:
    """The agent's ``agent_rc_event_loop_lag_seconds`` buckets (empty for an agent without)."""
    out: dict[float, float] = {}
    for line in metrics_text.splitlines():
        if line.startswith("agent_rc_event_loop_lag_seconds_bucket{"):
            le = line.split('le="')[1].split('"')[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return out


def lag_p99(before: dict[float, float], after: dict[float, float]) -> str:
    """The p99 of the loop lags sampled between two scrapes, as a bucket bound."""
    total = after.get(float("inf"), 0.0) - before.get(float("inf"), 0.0)
    if total <= 0:
        return "n/a"
    for le in sorted(after):
        if after[le] - before.get(le, 0.0) >= 0.99 * total:
            return f"<= {le * 1e3:g} ms" if le != float("inf") else "> 10 s"
    return "n/a"


# ---------------------------------------------------------------------------- load


@dataclass
class Outcome:
    latencies: list[float]
    from_schedule: list[float]
    statuses: Counter[int]
    elapsed: float


class _Link(asyncio.Protocol):
    """One keep-alive connection: send a request, get a future of its status (cheap parsing)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end]
        at = head.lower().find(b"content-length:")
        length = int(head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None])
        if len(self.buffer) < end + 4 + length:
            return
        self.buffer = self.buffer[end + 4 + length :]
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(int(head[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc!r}"))

    def send(self, request: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter


async def load(
    port: int,
    requests: Callable[[int], bytes],
    *,
    seconds: float,
    connections: int,
    rate: float | None,
) -> Outcome:
    """Closed loop (``rate`` None) or open loop at ``rate`` requests/s for ``seconds``."""
    clock = time.perf_counter
    loop = asyncio.get_running_loop()
    links: list[_Link] = []
    for _ in range(connections):
        _, link = await loop.create_connection(_Link, "127.0.0.1", port)
        links.append(link)
    out = Outcome([], [], Counter(), 0.0)
    start = clock() + 0.05
    end = start + seconds
    counter = iter(range(10**9))

    async def worker(k: int) -> None:
        link = links[k]
        i = k
        while True:
            if rate is None:
                if clock() >= end:
                    return
                i = next(counter)
                due = clock()
            else:
                due = start + i / rate
                if due >= end:
                    return
                delay = due - clock()
                if delay > 0:
                    await asyncio.sleep(delay)
            req = requests(i)
            sent = clock()
            status = await link.send(req)
            done = clock()
            out.latencies.append(done - sent)
            out.from_schedule.append(done - due)
            out.statuses[status] += 1
            i += connections

    try:
        await asyncio.gather(*(worker(k) for k in range(connections)))
    finally:
        for link in links:
            if link.transport is not None:
                link.transport.close()
    out.elapsed = clock() - start
    return out


# ---------------------------------------------------------------------------- shapes


def wait_for_window(stack: Stack, needed_s: float, new_body: Callable[[str], bytes]) -> None:
    """Spend the current window's bypasses, so that the shape runs rate limited; when less than
    ``needed_s`` of the window is left, wait for the next window first."""
    left = WINDOW_S - time.time() % WINDOW_S
    if left < needed_s + BYPASS_LIMIT + 2:
        print(f"    (waiting {left:.0f} s for the next bypass window)", flush=True)
        time.sleep(left + 0.2)
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        for n in range(BYPASS_LIMIT + 1):
            client.post("/v0.7/config", content=new_body(f"burn-{time.time()}-{n}"))


def measure(
    stack: Stack,
    name: str,
    requests: Callable[[int], bytes],
    *,
    seconds: float,
    connections: int,
    rate: float | None,
) -> int:
    """Measure one shape at one rate (None: capacity) and print it; return the requests made."""
    text = stack.metrics()
    before_refreshes, lag0 = refreshes(text), loop_lag(text)
    cpu0 = cpu_seconds(stack.agent.pid)
    out = asyncio.run(
        load(stack.port, requests, seconds=seconds, connections=connections, rate=rate)
    )
    cpu = cpu_seconds(stack.agent.pid) - cpu0
    text = stack.metrics()
    during, lag = refreshes(text) - before_refreshes, lag_p99(lag0, loop_lag(text))
    n = len(out.latencies)
    achieved = n / out.elapsed
    per_req_us = cpu / max(1, n) * 1e6
    what = "capacity" if rate is None else f"at {rate:,.0f}/s"
    print(
        f"  {name:<10} {what:<12} {achieved:7,.0f} req/s  service time p50 "
        f"{percentile(out.latencies, 0.5) * 1e3:5.2f} ms p99 "
        f"{percentile(out.latencies, 0.99) * 1e3:6.2f} ms (from schedule p99 "
        f"{percentile(out.from_schedule, 0.99) * 1e3:6.2f} ms)  agent CPU {per_req_us:4.0f} us/req "
        f"= {1e6 / per_req_us if per_req_us else 0:6,.0f} req/s per core  "
        f"loop lag p99 {lag}  refreshes {during:.0f}  status {dict(out.statuses)}  "
        f"[{load_average()}]",
        flush=True,
    )
    return n


NEW_CLIENT_TOKEN = "NEWCLIENT0000000000"


def new_client_bodies(count: int) -> list[bytes]:
    """``count`` framed requests of distinct never-seen clients (made before the measurement,
    so that the load generator does not encode them while it measures)."""
    template = frame(body_for(NEW_CLIENT_TOKEN, 0))
    tag = f"{time.time_ns() % 10**9:09d}".encode()
    return [
        template.replace(NEW_CLIENT_TOKEN.encode(), b"N%s%09d" % (tag, i)) for i in range(count)
    ]


def bench(args: argparse.Namespace, tree: Path, label: str) -> None:
    """Every shape against the agent of ``tree``."""
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    rates = dict(zip(shapes, (float(r) for r in args.rates.split(",")), strict=False))
    print(f"{label}: agent from {agent_source(tree)}", flush=True)
    stack = start_stack(args.agent_cpu, args.load_cpu, args.agent_arg, tree)
    spy: subprocess.Popen[bytes] | None = None
    try:
        with httpx.Client(base_url=stack.url, timeout=10) as client:
            first = client.post("/v0.7/config", content=body_for("probe", 0)).json()
            version = json.loads(base64.b64decode(first["targets"]))["signed"]["version"]
            up_to_date = [body_for(str(i), version) for i in range(200)]
            for body in up_to_date:  # make them active clients
                client.post("/v0.7/config", content=body)
        if args.profile is not None:
            py_spy = str(Path(sys.executable).with_name("py-spy"))
            spy = subprocess.Popen(
                [py_spy, "record", "--pid", str(stack.agent.pid), "--output", str(args.profile),
                 "--rate", "500", "--nonblocking", "--format", "raw"],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1.0)
        for shape in shapes:
            if shape == "up_to_date":
                frames = [frame(b) for b in up_to_date]
            elif shape == "new_client":
                wait_for_window(stack, 2 * args.seconds + 2, lambda c: body_for(c, 0))
                frames = new_client_bodies(int(args.seconds * 40_000))
            else:
                raise SystemExit(f"unknown shape {shape!r}: up_to_date or new_client")
            offset = 0
            for rate in (None, rates.get(shape)) if shape in rates else (None,):

                def make(i: int, frames: list[bytes] = frames, base: int = offset) -> bytes:
                    return frames[(base + i) % len(frames)]

                used = measure(
                    stack,
                    shape,
                    make,
                    seconds=args.seconds,
                    connections=args.connections,
                    rate=rate,
                )
                offset += used
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", default="up_to_date,new_client")
    parser.add_argument("--rates", default="5000,2000", help="target rate per shape, in order")
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--agent-cpu", type=int, default=0)
    parser.add_argument("--load-cpu", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="py-spy collapsed stacks of the agent")
    parser.add_argument("--agent-arg", action="append", default=[], help="extra agent flag")
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout (e.g. `git archive main | tar -x -C DIR`): measured the same "
        "way right after this one, for a before/after under the same load",
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.load_cpu})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(
        f"agent on CPU {args.agent_cpu} (taskset), load generator and backend on CPU "
        f"{args.load_cpu}; {args.connections} keep-alive connections; {load_average()}",
        flush=True,
    )
    bench(args, Path(__file__).resolve().parents[1], "after (this checkout)")
    if args.before is not None:
        bench(args, args.before.resolve(), f"before ({args.before})")


if __name__ == "__main__":
    main()
