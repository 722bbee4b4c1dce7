"""End to end: stub processes against real agent and backend processes on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rc_protocol.wait import poll_until

pytestmark = pytest.mark.e2e

TRACERS = 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as response:
        return str(response.read().decode())


def healthy(url: str) -> bool:
    try:
        return '"ok"' in get(url + "/health")
    except OSError:
        return False


class Procs:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, module: str, port: int, env: dict[str, str], *args: str) -> str:
        full_env = {**os.environ, **env}
        with (self.tmp / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port), *args],
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            poll_until(lambda: healthy(url), timeout=30, interval=0.1, what=f"{name} /health")
        except Exception:
            raise AssertionError(f"{name} did not start:\n{self.log(name)}") from None
        return url

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self, name: str) -> int:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return -9

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path)
    try:
        yield p
    finally:
        p.stop_all()


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(get(url + "/metrics")):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.mark.parametrize(
    ("client_policy", "agent_policy", "provider_mode"),
    [
        ("legacy", "legacy", "event"),
        ("fastlane", "fastlane", "event"),
        ("legacy", "legacy", "wait"),
    ],
)
def test_every_tracer_becomes_ready_and_evaluates_the_flag(
    procs: Procs, client_policy: str, agent_policy: str, provider_mode: str
) -> None:
    backend = procs.start("backend", "fake_backend", free_port(), {"DD_API_KEY": "e2e"})
    agent = procs.start(
        "agent",
        "agent",
        free_port(),
        {"DD_API_KEY": "e2e"},
        "--backend-url",
        backend,
        "--policy",
        agent_policy,
    )
    stub_env = {
        "RC_STUB_TRACERS": str(TRACERS),
        "RC_STUB_TRACER_INDEX_BASE": "100",
        "RC_STUB_AGENT_URL": agent,
        "RC_STUB_CLIENT_POLICY": client_policy,
        "RC_STUB_PROVIDER_MODE": provider_mode,
        "RC_STUB_POLL_INTERVAL_S": "1",
        "RC_STUB_FAST_LANE_INTERVAL_MS": "200",
        "RC_STUB_RUN_ID": "e2e-run",
        "RC_STUB_BOOT_STAGGER_MS": "10",
    }
    stub = procs.start("stub", "tracer_stub", free_port(), stub_env)

    def all_evaluated() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        got = samples(stub)
        boots = sum(1 for key in got if key[0] == "tracer_boot_total_seconds")
        settled = got.get(("tracer_settled", ())) == TRACERS
        return got if settled and boots == TRACERS else None

    try:
        got = poll_until(all_evaluated, timeout=40, interval=0.2, what="every first evaluation")
    except Exception:
        raise AssertionError(
            f"stub log:\n{procs.log('stub')}\nagent log:\n{procs.log('agent')}"
        ) from None

    assert got[("tracer_hosted", ())] == TRACERS
    assert got[("tracer_run_info", (("run_id", "e2e-run"),))] == 1
    for i in range(100, 100 + TRACERS):
        t = str(i)
        assert got[("tracer_outcome", (("outcome", "ready"), ("tracer", t)))] == 1
        assert got[("tracer_outcome", (("outcome", "pending"), ("tracer", t)))] == 0
        ready = got[("tracer_provider_ready_seconds", (("tracer", t),))]
        boot = got[("tracer_boot_total_seconds", (("tracer", t),))]
        assert 0 <= ready <= boot < 30
        assert got[("tracer_provider_error_events_total", (("tracer", t),))] == 0
    lanes = {dict(k[1]).get("lane") for k in got if k[0] == "tracer_rc_requests_total"}
    assert lanes == ({"standard", "fast"} if client_policy == "fastlane" else {"standard"})
    assert procs.stop("stub") == 0, procs.log("stub")
