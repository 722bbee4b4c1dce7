"""Fuzz the services' HTTP inputs with hypothesis, against real processes, and print the figures.

Targets (each its own service process on 127.0.0.1, logs in a temporary folder):

- ``agent``: ``/v0.7/config`` (POST, GET, PUT) with JSON bodies of the request's shape and wrong
  types, bodies nested up to 200,000 deep, up to 1 MiB (the agent's ``max_body_bytes`` is set
  to 256 KiB so that both accepted large bodies and 413s happen), invalid UTF-8, random bytes;
- ``backend``: ``/api/v0.1/configurations`` with protobuf bodies: valid requests, truncated
  ones, fields of known numbers with the wrong wire type, nested groups, lengths that lie,
  invalid UTF-8 in string fields, bodies up to 1 MiB; with and without the API key;
- ``admin``: every admin route (its own backend, since admin calls change faults) with JSON of
  any shape, the real bodies' shapes with out-of-range and non-finite numbers, deep nesting,
  invalid UTF-8, up to 1 MiB; with the admin token, a wrong one, or none.

Oracle: no 5xx answers client input, with one exception kept for fidelity: the agent answers
**500** to a request that decodes but fails ``validateRequest`` (``InvalidArgument``, which the
real trace-agent's ``ConfigHandler`` turns into 500: reference/agent-rc-service.md), so a 500
from the agent is accepted only when its ``agent_rc_requests_total`` counts it as
``error_invalid``; ``error_internal`` must stay 0. Every connection gets an answer; afterwards
every service still answers ``/health`` and no log holds a ``Traceback``.

Usage: ``python benchmarks/fuzz_services.py [--examples 10000] [--targets agent,backend,admin]
[--seed N]``. Prints per target: requests, statuses, largest body, seconds, requests per
second and the load average; exits 1 on any oracle failure (hypothesis prints the smallest
failing request). CI runs it with ``--examples 300`` (``just fuzz 300``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from rc_protocol.pbwire import varint, wire_field
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.wait import poll_until

MIB = 1024 * 1024
LIMIT = 256 * 1024
"""``max_body_bytes`` of the fuzzed agent and backends: below the largest bodies sent."""


@dataclass(frozen=True)
class Case:
    """One request."""

    method: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # hypothesis prints the failing case: keep it readable
        shown = self.body if len(self.body) <= 200 else self.body[:200] + b"..."
        return f"Case({self.method} {self.path} {self.headers} {len(self.body)} bytes: {shown!r})"


# --- bodies shared by every target ------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=16,
)


def _dumps(doc: object) -> bytes:
    return json.dumps(doc).encode()  # NaN and Infinity are written: a client may send them


INVALID_UTF8 = st.sampled_from(
    [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf0\x28\x8c\x28", b"\x80"]
)
DEEP = st.builds(
    lambda n, pair, closed: _nest(min(n, MIB // 2 // len(pair[0])), pair, closed),
    st.integers(1, 200_000),
    st.sampled_from([(b"[", b"", b"]"), (b'{"a":', b"1", b"}"), (b'{"client":', b"{}", b"}")]),
    st.booleans(),
)


def _nest(depth: int, pair: tuple[bytes, bytes, bytes], closed: bool) -> bytes:
    opener, middle, closer = pair
    return opener * depth + (middle + closer * depth if closed else b"")


LARGE = st.builds(
    lambda n, wrap: wrap[0] + b"x" * n + wrap[1],
    st.integers(0, MIB),
    st.sampled_from([(b'{"client":{"id":"', b'"}}'), (b"[", b"]"), (b" " * 4, b"{}"), (b"", b"")]),
)


def spliced(base: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """A body with invalid UTF-8 spliced in at some position."""
    return st.builds(
        lambda body, bad, at: body[: at % (len(body) + 1)] + bad + body[at % (len(body) + 1) :],
        base,
        INVALID_UTF8,
        st.integers(0, 10_000),
    )


# --- agent ------------------------------------------------------------------------------------

CLIENT = st.fixed_dictionaries(
    {},
    optional={
        "id": st.uuids().map(str) | JSON,
        "state": st.fixed_dictionaries(
            {}, optional={"root_version": st.integers(-2, 3) | JSON, "config_states": JSON}
        )
        | JSON,
        "products": st.lists(st.sampled_from(["FFE_FLAGS", "ASM", "APM_TRACING", ""])) | JSON,
        "is_tracer": st.booleans() | JSON,
        "client_tracer": st.fixed_dictionaries(
            {}, optional={"runtime_id": JSON, "language": st.sampled_from(["go", ""]) | JSON}
        )
        | JSON,
        "capabilities": st.sampled_from(["QA==", "%%", ""]) | st.lists(st.integers(-1, 300)),
    },
)
AGENT_JSON = st.fixed_dictionaries(
    {}, optional={"client": CLIENT | JSON, "cached_target_files": JSON}
).map(_dumps) | JSON.map(_dumps)
AGENT_BODIES = AGENT_JSON | spliced(AGENT_JSON) | DEEP | LARGE | st.binary(max_size=512)
AGENT_CASES = st.builds(
    lambda method, body: Case(method, "/v0.7/config", body),
    st.sampled_from(["POST", "GET", "PUT"]),
    AGENT_BODIES,
)


# --- backend: protobuf ------------------------------------------------------------------------


VALID_REQUEST = st.builds(
    lambda host, products, clients: pb.LatestConfigsRequest(
        hostname=host,
        products=products,
        active_clients=[pb.Client(id=c, products=products, is_tracer=True) for c in clients],
    ).SerializeToString(),
    st.text(max_size=20),
    st.lists(st.sampled_from(["FFE_FLAGS", "APM_TRACING", "ASM_DATA", "NOPE", ""]), max_size=4),
    st.lists(st.text(max_size=12), max_size=5),
)
WRONG_TYPES = st.lists(
    st.builds(
        wire_field,
        st.sampled_from([1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 16, 99, 536_870_911]),
        st.integers(0, 7),
        st.binary(max_size=12),
    ),
    max_size=8,
).map(b"".join)
PROTO_BODIES = (
    VALID_REQUEST
    | WRONG_TYPES
    | st.builds(lambda body, cut: body[: cut % (len(body) + 1)], VALID_REQUEST, st.integers(0, 999))
    | st.builds(lambda n: wire_field(6, 3, b"") * n, st.integers(1, 100_000))  # nested groups
    | st.builds(lambda n: (b"\x32" + varint(n)) * 1 + b"\x0a", st.integers(0, 2**64 - 1))
    | st.builds(lambda bad: wire_field(1, 2, b"host" + bad), INVALID_UTF8)
    | st.builds(lambda n: wire_field(1, 2, b"h" * n), st.integers(0, MIB))
    | st.binary(max_size=512)
)
BACKEND_CASES = st.builds(
    lambda body, key: Case(
        "POST",
        "/api/v0.1/configurations",
        body,
        {"Content-Type": "application/x-protobuf", **({"DD-Api-Key": key} if key else {})},
    ),
    PROTO_BODIES,
    st.sampled_from(["fuzz-api-key", "fuzz-api-key", "fuzz-api-key", "", "wrong"]),
)


# --- admin ------------------------------------------------------------------------------------

NUMBER = (
    st.integers(-(2**70), 2**70)
    | st.floats()
    | st.sampled_from([float("nan"), float("inf"), "1", None, True, []])
)
ADMIN_SHAPES = (
    st.fixed_dictionaries({}, optional={"latency_ms": NUMBER, "latency_spread_ms": NUMBER})
    | st.fixed_dictionaries({}, optional={"error_rate": NUMBER, "error_status": NUMBER})
    | st.fixed_dictionaries(
        {},
        optional={
            "kind": st.sampled_from(["outage", "rate_limit", "other"]) | JSON,
            "start_s": NUMBER,
            "end_s": NUMBER,
            "for_s": NUMBER,
        },
    )
    | st.fixed_dictionaries(
        {},
        optional={
            "bump": st.booleans() | JSON,
            "payload": JSON,
            "raw_base64": st.sampled_from(["e30=", "!!", ""]) | JSON,
            "config_id": JSON,
        },
    )
)
ADMIN_JSON = ADMIN_SHAPES.map(_dumps) | JSON.map(_dumps)
ADMIN_BODIES = ADMIN_JSON | spliced(ADMIN_JSON) | DEEP | LARGE | st.binary(max_size=256)
ADMIN_ROUTES = st.sampled_from(
    [
        ("GET", "/admin/state"),
        ("POST", "/admin/faults/latency"),
        ("POST", "/admin/faults/errors"),
        ("POST", "/admin/faults/windows"),
        ("DELETE", "/admin/faults"),
        ("POST", "/admin/configs/FFE_FLAGS"),
        ("POST", "/admin/configs/{product}"),
    ]
)
PRODUCT = st.text(max_size=20).map(lambda t: urllib.parse.quote(t, safe="") or "P")


def admin_cases(token: str) -> st.SearchStrategy[Case]:
    return st.builds(
        lambda route, product, body, auth: Case(
            route[0],
            route[1].replace("{product}", product),
            body,
            {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})},
        ),
        ADMIN_ROUTES,
        PRODUCT,
        ADMIN_BODIES,
        st.sampled_from([f"Bearer {token}"] * 4 + ["", "Bearer wrong", token]),
    )


# --- running ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """A service process under fuzz."""

    name: str
    url: str
    log: Path
    process: subprocess.Popen[bytes]


def start(name: str, module: str, env: dict[str, str], logs: Path) -> Service:
    port = free_port()
    log = logs / f"{name}.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RC_", "DD_"))}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)],
            env={**clean, **env, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}: see {log}")
        return httpx.get(url + "/health", timeout=2).status_code == 200

    poll_until(healthy, timeout=30, interval=0.1, what=f"{name} healthy", ignore=(httpx.HTTPError,))
    return Service(name, url, log, process)


@dataclass
class Figures:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    largest: int = 0
    seconds: float = 0.0


def fuzz(
    service: Service,
    cases: st.SearchStrategy[Case],
    examples: int,
    accept: Callable[[Case, httpx.Response], str | None],
    seed_value: int,
) -> Figures:
    """Send ``examples`` generated requests; ``accept`` names what is wrong with an answer."""
    figures = Figures()
    client = httpx.Client(base_url=service.url, timeout=30)

    @seed(seed_value)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def check(case: Case) -> None:
        answer = client.request(case.method, case.path, content=case.body, headers=case.headers)
        figures.requests += 1
        figures.statuses[answer.status_code] += 1
        figures.largest = max(figures.largest, len(case.body))
        problem = accept(case, answer)
        assert problem is None, problem

    started = time.perf_counter()
    try:
        check()
    finally:
        figures.seconds = time.perf_counter() - started
        client.close()
    return figures


def no_5xx(case: Case, answer: httpx.Response) -> str | None:
    if answer.status_code >= 500:
        return f"{answer.status_code} for client input: {answer.text[:300]}"
    return None


def agent_answer(case: Case, answer: httpx.Response) -> str | None:
    if answer.status_code == 500 and not answer.text.startswith('{"error":"internal error'):
        return None  # validateRequest's InvalidArgument: the real agent's 500 (docstring)
    return no_5xx(case, answer)


def internal_errors(agent: Service) -> float:
    text = httpx.get(agent.url + "/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("agent_rc_requests_total") and 'outcome="error_internal"' in line
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000, help="requests per target")
    parser.add_argument("--targets", default="agent,backend,admin")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    token = secrets.token_hex(16)
    logs = Path(tempfile.mkdtemp(prefix="rcfl-fuzz-"))
    api = {"DD_API_KEY": "fuzz-api-key", "RC_BACKEND_MAX_BODY_BYTES": str(LIMIT)}
    services: list[Service] = []
    failed = False
    try:
        backend = start("backend", "fake_backend", api, logs)
        services.append(backend)
        agent = start(
            "agent",
            "agent",
            {
                "DD_API_KEY": "fuzz-api-key",
                "RC_AGENT_BACKEND_URL": backend.url,
                "RC_AGENT_MAX_BODY_BYTES": str(LIMIT),
            },
            logs,
        )
        services.append(agent)
        admin = start("admin", "fake_backend", {**api, "RC_BACKEND_ADMIN_TOKEN": token}, logs)
        services.append(admin)
        plan = {
            "agent": (agent, AGENT_CASES, agent_answer),
            "backend": (backend, BACKEND_CASES, no_5xx),
            "admin": (admin, admin_cases(token), no_5xx),
        }
        print(f"load average {os.getloadavg()[0]:.2f} at start; logs in {logs}")
        for name in targets:
            service, cases, accept = plan[name]
            try:
                f = fuzz(service, cases, args.examples, accept, args.seed)
            except AssertionError as exc:
                print(f"{name}: FAILED: {exc}")
                failed = True
                continue
            statuses = ", ".join(f"{code}: {n}" for code, n in sorted(f.statuses.items()))
            fives = sum(n for code, n in f.statuses.items() if code >= 500)
            why = " (validateRequest's InvalidArgument, as the real agent)" if fives else ""
            print(
                f"{name}: {f.requests} requests in {f.seconds:.1f} s "
                f"({f.requests / f.seconds:.0f}/s), largest body {f.largest:,} bytes, "
                f"5xx {fives}{why}; statuses {statuses}; load average {os.getloadavg()[0]:.2f}"
            )
        internal = internal_errors(agent)
        print(f"agent error_internal outcomes: {internal:g}")
        failed |= internal > 0
        for service in services:
            healthy = httpx.get(service.url + "/health", timeout=5).status_code == 200
            tracebacks = service.log.read_text(errors="replace").count("Traceback")
            print(
                f"{service.name}: /health {'ok' if healthy else 'FAILED'}, {tracebacks} tracebacks"
            )
            failed |= not healthy or tracebacks > 0
    finally:
        for service in services:
            service.process.terminate()
            service.process.wait(10)
    print("FAILED" if failed else "ok: no 5xx for client input, every service healthy")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
