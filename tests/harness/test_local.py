import contextlib
import os
import random
import secrets
import signal
import socket
from pathlib import Path

import httpx
import pytest

from harness.errors import HarnessError
from harness.runtime import choose_runtime, make_runtime
from harness.runtime.base import ComponentSpec, ComponentStatus
from harness.runtime.local import (
    LISTEN_PORTS_FROM,
    RUN_ID_ENV,
    LocalRuntime,
    child_environment,
    ephemeral_range,
    free_port,
)
from rc_protocol.wait import poll_until

ROOT = str(Path(__file__).resolve().parents[2])
FAKE = "tests.harness.fake_service"


def spec(name: str = "backend", **env: str) -> ComponentSpec:
    return ComponentSpec(name, "backend", FAKE, {"PYTHONPATH": ROOT, **env})


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


class RecordingSignals:
    """The runtime's ``signal_group`` seam: records each signal with whether the group's leader
    was still alive when it went out, then sends it for real."""

    def __init__(self) -> None:
        self.sent: list[tuple[signal.Signals, bool]] = []

    def __call__(self, pgid: int, sig: signal.Signals) -> None:
        self.sent.append((sig, alive(pgid)))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)


def stubborn_spec() -> ComponentSpec:
    return ComponentSpec("stubborn", "agent", "tests.harness.stubborn", {"PYTHONPATH": ROOT})


def healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_local_is_built_by_name() -> None:
    choice = choose_runtime("local")
    assert choice.name == "local"
    assert isinstance(make_runtime("local", "r1", log_dir=None), LocalRuntime)


def test_an_unknown_runtime_name_is_refused_before_anything_starts() -> None:
    with pytest.raises(HarnessError, match=r"unknown runtime 'dockr': choose one of auto, local"):
        choose_runtime("dockr")
    with pytest.raises(HarnessError, match="unknown runtime 'dockr'"):
        make_runtime("dockr", "r1")


def test_child_environment_drops_inherited_rc_and_dd_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_API_KEY", "leak")
    monkeypatch.setenv("RC_AGENT_POLICY", "leak")
    env = child_environment({"RC_AGENT_POLICY": "fastlane"}, "run9")
    assert "DD_API_KEY" not in env and env["RC_AGENT_POLICY"] == "fastlane"
    assert env[RUN_ID_ENV] == "run9"


def unique(name: str) -> str:
    """A run id no other test (of this or another checkout on the machine) holds."""
    return f"{name}-{secrets.token_hex(3)}"


@pytest.mark.e2e
def test_start_serve_log_and_close_kills_everything(tmp_path: Path) -> None:
    signals = RecordingSignals()
    rt = LocalRuntime(unique("rt1"), log_dir=tmp_path, signal_group=signals)
    with rt:
        [a, b] = rt.start([spec("backend"), spec("agent", RC_AGENT_BACKEND_URL="x")])
        poll_until(
            lambda: healthy(a.host_url) and healthy(b.host_url),
            timeout=20,
            interval=0.1,
            what="fake services healthy",
        )
        assert a.host_url.startswith("http://127.0.0.1:") and a.internal_url == a.host_url
        assert a.state().status is ComponentStatus.RUNNING
        assert "fake backend serving" in a.log_tail()
        pids = rt.pids()
    assert not any(alive(p) for p in pids) and all(group_gone(p) for p in pids)
    assert [h.state().status for h in rt.handles()] == [ComponentStatus.EXITED] * 2
    assert not rt.handles()[0].state().crashed  # SIGTERM: clean exit 0
    # Both exited on SIGTERM within the grace period; SIGKILL only swept their groups.
    assert signals.sent == [(signal.SIGTERM, True)] * 2 + [(signal.SIGKILL, False)] * 2
    rt.close()  # idempotent
    assert (tmp_path / "backend.log").exists()


@pytest.mark.e2e
def test_a_component_that_exits_is_seen_crashed_with_its_log(tmp_path: Path) -> None:
    with LocalRuntime(unique("rt2"), log_dir=tmp_path) as rt:
        [h] = rt.start([spec(FAKE_EXIT_AT_START="backend")])
        poll_until(
            lambda: h.state().status is ComponentStatus.EXITED,
            timeout=20,
            interval=0.05,
            what="fake exit",
        )
        assert h.state().exit_code == 4 and h.state().crashed
        assert "exiting on purpose" in h.log_tail()


@pytest.mark.e2e
def test_sigkill_fallback_for_a_process_ignoring_sigterm(tmp_path: Path) -> None:
    signals = RecordingSignals()
    with LocalRuntime(unique("rt3"), log_dir=tmp_path, signal_group=signals) as rt:
        [h] = rt.start([stubborn_spec()])
        poll_until(
            lambda: "ignoring" in h.log_tail(), timeout=20, interval=0.05, what="stubborn started"
        )
        rt.stop([h], timeout=0.5)
        # SIGTERM was ignored: the grace period ran out with the process alive, then SIGKILL.
        assert signals.sent == [(signal.SIGTERM, True), (signal.SIGKILL, True)]
        assert h.state().exit_code == -signal.SIGKILL
        assert group_gone(h.pid)  # type: ignore[attr-defined]
        assert "ignoring SIGTERM" in h.log_tail()  # still readable after stop


@pytest.mark.e2e
def test_stop_sends_sigterm_once_then_sigkill(tmp_path: Path) -> None:
    """A second SIGTERM would force uvicorn's exit, cutting a service's clean shutdown short."""
    signals = RecordingSignals()
    with LocalRuntime(unique("rt6"), log_dir=tmp_path, signal_group=signals) as rt:
        [h] = rt.start([stubborn_spec()])
        poll_until(lambda: "ignoring" in h.log_tail(), timeout=20, interval=0.05, what="started")
        rt.stop([h], timeout=0.3)
        rt.stop([h], timeout=0.3)  # a stopped component is not signalled again
    assert [sig for sig, _ in signals.sent] == [signal.SIGTERM, signal.SIGKILL]


@pytest.mark.e2e
def test_save_logs_copies_into_another_folder(tmp_path: Path) -> None:
    with LocalRuntime(unique("rt4")) as rt:
        [h] = rt.start([spec()])
        poll_until(lambda: healthy(h.host_url), timeout=20, interval=0.1, what="healthy")
        rt.save_logs(tmp_path / "logs")
        own = rt.log_dir
    assert "serving" in (tmp_path / "logs" / "backend.log").read_text()
    assert not own.exists()  # a temporary log folder is removed on close


@pytest.mark.e2e
def test_a_second_ctrl_c_during_close_waits_for_the_clean_up(tmp_path: Path) -> None:
    signals = RecordingSignals()

    def ctrl_c_on_sigterm(pgid: int, sig: signal.Signals) -> None:
        if sig is signal.SIGTERM:  # a Ctrl-C arrives while close() is stopping the run
            os.kill(os.getpid(), signal.SIGINT)
        signals(pgid, sig)

    rt = LocalRuntime(unique("rt5"), log_dir=tmp_path, signal_group=ctrl_c_on_sigterm)
    [h] = rt.start([stubborn_spec()])
    poll_until(lambda: "ignoring" in h.log_tail(), timeout=20, interval=0.05, what="started")
    try:
        with pytest.raises(KeyboardInterrupt):
            rt.close()  # SIGTERM is ignored: close waits its 5 s before SIGKILL, Ctrl-C held
    finally:  # a close() cut short would leave the stubborn process running
        with contextlib.suppress(ProcessLookupError):
            os.killpg(h.pid, signal.SIGKILL)  # type: ignore[attr-defined]
    assert signals.sent == [(signal.SIGTERM, True), (signal.SIGKILL, True)]
    assert not alive(h.pid)  # type: ignore[attr-defined]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_free_ports_are_outside_the_ephemeral_range(tmp_path: Path) -> None:
    low, _high = ephemeral_range()
    ports = {free_port(rng=random.Random(seed)) for seed in range(5)}
    assert all(LISTEN_PORTS_FROM <= p < low for p in ports), (ports, low)
    for port in ports:  # free right now: a component can bind it
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
    custom = tmp_path / "range"
    custom.write_text("40000\t50000\n")
    assert ephemeral_range(custom) == (40000, 50000)


@pytest.mark.e2e
def test_kill_then_revive_on_the_same_port_with_the_log_going_on(tmp_path: Path) -> None:
    with LocalRuntime("rt7", log_dir=tmp_path) as rt:
        [h] = rt.start([spec()])
        poll_until(lambda: healthy(h.host_url), timeout=20, interval=0.1, what="healthy")
        first_pid, url = h.pid, h.host_url  # type: ignore[attr-defined]
        rt.kill([h])
        assert h.state().status is ComponentStatus.EXITED and h.state().exit_code == -9
        assert not alive(first_pid)
        rt.revive(h)
        poll_until(lambda: healthy(url), timeout=20, interval=0.1, what="healthy again")
        assert h.host_url == url and h.pid != first_pid  # type: ignore[attr-defined]
        assert h.state().status is ComponentStatus.RUNNING
        log = (tmp_path / "backend.log").read_text()
        assert "starting the component again" in log and log.count("fake backend serving") == 2
        rt.stop([h])  # a stop then a revive: the restart the agent_restart fault makes
        rt.revive(h)
        poll_until(lambda: healthy(url), timeout=20, interval=0.1, what="healthy once more")
        pid = h.pid  # type: ignore[attr-defined]
    assert not alive(pid)  # closed with the runtime


@pytest.mark.e2e
def test_a_running_component_cannot_be_revived(tmp_path: Path) -> None:
    with LocalRuntime("rt8", log_dir=tmp_path) as rt:
        [h] = rt.start([spec()])
        with pytest.raises(HarnessError, match="backend is still running: stop it first"):
            rt.revive(h)


@pytest.mark.e2e
def test_the_agent_link_is_a_fault_proxy_closed_with_the_runtime(tmp_path: Path) -> None:
    with LocalRuntime("rt9", log_dir=tmp_path) as rt:
        [h] = rt.start([spec("agent")])
        poll_until(lambda: healthy(h.host_url), timeout=20, interval=0.1, what="healthy")
        link = rt.agent_link(h)
        assert link.url != h.host_url and healthy(link.url)
        link.cut()
        assert not healthy(link.url)
        link.restore()
        assert healthy(link.url)
        rt.save_logs(tmp_path / "saved")
    assert not healthy(link.url)
    assert "forwarding to 127.0.0.1" in (tmp_path / "saved" / "fault-proxy.log").read_text()
