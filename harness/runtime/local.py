"""The local runtime: every component a subprocess on 127.0.0.1.

Each component runs as ``sys.executable -m <module> ... --host 127.0.0.1 --port <free port>`` in
its own process group (so a Ctrl-C in the terminal reaches only the harness, which then stops
them in order), with stdout and stderr in ``<log_dir>/<component>.log``. The inherited
environment is stripped of ``RC_*`` and ``DD_*`` variables so that only the scenario decides, and
every process carries ``HARNESS_RUN_ID`` so that leftovers can be found by run id, and
``HARNESS_PARENT_PID`` so that it dies with the harness however the harness ends (each service
calls ``rc_protocol.lifeline.tie_to_parent``). Components are started from the thread that runs
the run (the main thread): the kernel's parent-death signal follows that thread.

Faults: :meth:`LocalRuntime.kill` SIGKILLs a component's process group, :meth:`LocalRuntime.revive`
starts it again on the same port (appending to its log), and network faults go through a
:class:`~harness.runtime.proxy.FaultProxy` between the tracers and the agent
(:meth:`LocalRuntime.agent_link`), written to ``<log_dir>/fault-proxy.log``.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from harness.errors import ComponentStartError, RuntimeErrorBase
from harness.runtime.base import (
    ALL_FAULT_KINDS,
    RUN_ID_ENV,
    AgentLink,
    ClosesOnExit,
    ComponentHandle,
    ComponentSpec,
    ComponentState,
    ComponentStatus,
)
from harness.runtime.proxy import FaultProxy
from harness.runtime.reaper import RunGuard
from harness.runtime.signals import signals_held
from rc_protocol.lifeline import PARENT_PID_ENV

SignalGroup = Callable[[int, signal.Signals], None]
"""Sends a signal to a process group (``os.killpg``, a group already gone ignored)."""


EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LISTEN_PORTS_FROM = 10_000
"""The lowest port :func:`free_port` hands out (below: well-known and registered services)."""


def ephemeral_range(path: Path = EPHEMERAL_RANGE_FILE) -> tuple[int, int]:
    """The kernel's range of ports for outgoing connections (Linux's default elsewhere).

    >>> ephemeral_range(Path("/nonexistent"))
    (32768, 60999)
    """
    try:
        low, high = (int(x) for x in path.read_text().split()[:2])
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def free_port(host: str = "127.0.0.1", *, rng: random.Random | None = None) -> int:
    """A TCP port free on ``host`` right now, outside the kernel's ephemeral range.

    A component binds the port after the harness picked it. A port the OS picked (bind to 0)
    is an ephemeral one, and a 1,000-tracer fleet opens thousands of outgoing connections from
    that same range: one of them took a chosen port before its stub bound it ("address already
    in use", a failed run). Ports between :data:`LISTEN_PORTS_FROM` and the ephemeral range are
    never handed to outgoing connections; the OS picks only when none is free there.
    """
    low, _ = ephemeral_range()
    pick = rng or random.SystemRandom()
    for _ in range(64):
        port = pick.randrange(LISTEN_PORTS_FROM, low) if low > LISTEN_PORTS_FROM else 0
        if port == 0:
            break
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a text file ("" when it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def child_environment(extra: dict[str, str], run_id: str) -> dict[str, str]:
    """The parent's environment without ``RC_*``/``DD_*``, plus the component's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RC_", "DD_"))}
    env.update(extra)
    env[RUN_ID_ENV] = run_id
    env[PARENT_PID_ENV] = str(os.getpid())
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class LocalComponent:
    """A component running as a local process (implements ``ComponentHandle``)."""

    def __init__(
        self,
        spec: ComponentSpec,
        popen: subprocess.Popen[bytes],
        port: int,
        log_path: Path,
        log_file: IO[bytes],
        signal_group: SignalGroup | None = None,
    ) -> None:
        self._spec = spec
        self._signal_group = signal_group or _signal_group
        self.popen = popen
        self.port = port
        self.log_path = log_path
        self._log_file = log_file
        self._terminated = False
        self._stopped = False

    @property
    def spec(self) -> ComponentSpec:
        return self._spec

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def host_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def internal_url(self) -> str:
        return self.host_url

    def state(self) -> ComponentState:
        code = self.popen.poll()
        if code is None:
            return ComponentState(ComponentStatus.RUNNING)
        return ComponentState(ComponentStatus.EXITED, exit_code=code)

    def log_tail(self, lines: int = 30) -> str:
        # The child writes to the file itself; the harness's handle holds no buffered bytes, so
        # there is nothing to flush (and after stop() the handle is closed).
        return tail(self.log_path, lines)

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` has run (the process is gone)."""
        return self._stopped

    def terminate(self) -> None:
        """SIGTERM the process group, once: a second SIGTERM would cut a service's graceful
        shutdown short (uvicorn, for one, treats it as a forced exit)."""
        if not self._terminated and not self._stopped and self.popen.poll() is None:
            self._terminated = True
            self._signal_group(self.popen.pid, signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the process group and reap the process (its exit code is then -9)."""
        if self._stopped:
            return
        self._signal_group(self.popen.pid, signal.SIGKILL)
        self.popen.wait()
        self._stopped = True
        if not self._log_file.closed:
            self._log_file.close()

    def respawned(self, popen: subprocess.Popen[bytes], log_file: IO[bytes]) -> None:
        """Follow a new process of the same component (after :meth:`stop` or :meth:`kill`)."""
        assert self._stopped, "only a stopped component is started again"
        self.popen, self._log_file = popen, log_file
        self._terminated = self._stopped = False

    def stop(self, timeout: float) -> None:
        """SIGTERM the process group (unless :meth:`terminate` already did), wait up to
        ``timeout``, then SIGKILL the group. Once only: the group id is not signalled again
        after it may have been reused."""
        if self._stopped:
            return
        self.terminate()
        self._stopped = True
        if self.popen.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        # The group may hold children of the component even after the leader exited.
        self._signal_group(self.popen.pid, signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.wait()
        if not self._log_file.closed:
            self._log_file.close()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class LocalRuntime(ClosesOnExit):
    """Runs components as local subprocesses (implements ``Runtime``)."""

    name = "local"
    start_cost_s = 0.0
    fault_kinds = ALL_FAULT_KINDS

    def __init__(
        self,
        run_id: str,
        log_dir: Path | None = None,
        *,
        signal_group: SignalGroup | None = None,
        guard: RunGuard | None = None,
    ) -> None:
        """``signal_group`` replaces ``os.killpg`` for stopping components (tests record the
        signals through it). ``guard`` holds the run's lock and its reaper from the first
        start to a clean close (:class:`~harness.runtime.reaper.RunGuard`)."""
        self.run_id = run_id
        self.guard = guard or RunGuard(run_id, docker=False)
        self._signal_group = signal_group
        self._own_log_dir = log_dir is None
        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="harness-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._components: list[LocalComponent] = []
        self._proxies: list[FaultProxy] = []
        self._closed = False

    def start(self, specs: Sequence[ComponentSpec]) -> list[ComponentHandle]:
        self.guard.arm()
        started: list[ComponentHandle] = []
        for spec in specs:
            started.append(self._start_one(spec))
        return started

    def _start_one(self, spec: ComponentSpec) -> LocalComponent:
        if any(c.spec.name == spec.name for c in self._components):
            raise ComponentStartError(spec.name, "a component with this name already runs")
        port = free_port()
        log_path = self.log_dir / f"{spec.name}.log"
        popen, log_file = self._spawn(spec, port, log_path)
        component = LocalComponent(spec, popen, port, log_path, log_file, self._signal_group)
        self._components.append(component)
        return component

    def _spawn(
        self, spec: ComponentSpec, port: int, log_path: Path
    ) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
        log_file = log_path.open("ab")
        program = list(spec.command) if spec.command else [sys.executable, "-m", spec.module]
        argv = [
            *program,
            *spec.args,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        try:
            popen = subprocess.Popen(
                argv,
                env=child_environment(dict(spec.env), self.run_id),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            log_file.close()
            raise ComponentStartError(spec.name, f"cannot run {argv[0]}: {exc}") from exc
        return popen, log_file

    def kill(self, handles: Sequence[ComponentHandle]) -> None:
        for c in self._components:
            if c in handles:
                c.kill()

    def shut_down(self, handle: ComponentHandle, timeout: float = 10.0) -> None:
        self.stop([handle], timeout)

    def revive(self, handle: ComponentHandle) -> None:
        """Start the stopped component again on its port (its log goes on in the same file)."""
        [component] = [c for c in self._components if c is handle]
        if component.state().status is not ComponentStatus.EXITED:
            raise RuntimeErrorBase(f"{component.spec.name} is still running: stop it first")
        component.stop(0.0)  # reaps it and closes its log, if it exited on its own
        with component.log_path.open("ab") as fh:
            fh.write(b"--- harness: starting the component again ---\n")
        popen, log_file = self._spawn(component.spec, component.port, component.log_path)
        component.respawned(popen, log_file)

    def agent_link(self, agent: ComponentHandle) -> AgentLink:
        """A :class:`FaultProxy` to the agent's port (closed with the runtime)."""
        assert isinstance(agent, LocalComponent)
        proxy = FaultProxy(("127.0.0.1", agent.port), self.log_dir / "fault-proxy.log")
        proxy.start()
        self._proxies.append(proxy)
        return proxy

    def handles(self) -> list[ComponentHandle]:
        return list(self._components)

    def stop(self, handles: Sequence[ComponentHandle], timeout: float = 10.0) -> None:
        targets = [c for c in self._components if c in handles]
        for c in targets:  # signal all first, so that they stop in parallel
            c.terminate()
        deadline = time.monotonic() + timeout
        for c in targets:
            c.stop(max(0.0, deadline - time.monotonic()))

    def save_logs(self, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        paths = [c.log_path for c in self._components]
        paths += [p.log_path for p in self._proxies if p.log_path is not None]
        for path in paths:
            target = dest / path.name
            if path.exists() and target.resolve() != path.resolve():
                shutil.copyfile(path, target)

    def close(self) -> None:
        """Stop every process of the run. A Ctrl-C or SIGTERM arriving meanwhile is held until
        every process is stopped, then raised as ``KeyboardInterrupt``."""
        if self._closed:
            return
        with signals_held():
            try:
                for proxy in self._proxies:
                    proxy.close()
                self.stop(self._components, timeout=5.0)
            except BaseException:
                self.guard.abandon()  # the reaper stops what is left
                raise
            self._closed = True
            self.guard.disarm()
        if self._own_log_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def pids(self) -> list[int]:
        """Process ids of every component started (alive or not)."""
        return [c.pid for c in self._components]
