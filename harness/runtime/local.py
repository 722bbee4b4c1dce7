"""The local runtime: every component a subprocess on 127.0.0.1.

Each component runs as ``sys.executable -m <module> ... --host 127.0.0.1 --port <free port>`` in
its own process group (so a Ctrl-C in the terminal reaches only the harness, which then stops
them in order), with stdout and stderr in ``<log_dir>/<component>.log``. The inherited
environment is stripped of ``RC_*`` and ``DD_*`` variables so that only the scenario decides, and
every process carries ``HARNESS_RUN_ID`` so that leftovers can be found by run id.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

from harness.errors import ComponentStartError
from harness.runtime.base import (
    ClosesOnExit,
    ComponentHandle,
    ComponentSpec,
    ComponentState,
    ComponentStatus,
)

RUN_ID_ENV = "HARNESS_RUN_ID"
"""Environment variable carrying the run id in every process the harness starts."""

SignalGroup = Callable[[int, signal.Signals], None]
"""Sends a signal to a process group (``os.killpg``, a group already gone ignored)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


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


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the duration (main thread only), so that an impatient second
    Ctrl-C cannot cut a clean-up short; raise ``KeyboardInterrupt`` afterwards if one came."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda signum, _frame: received.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
    if received:
        raise KeyboardInterrupt


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class LocalRuntime(ClosesOnExit):
    """Runs components as local subprocesses (implements ``Runtime``)."""

    name = "local"
    start_cost_s = 0.0

    def __init__(
        self, run_id: str, log_dir: Path | None = None, *, signal_group: SignalGroup | None = None
    ) -> None:
        """``signal_group`` replaces ``os.killpg`` for stopping components (tests record the
        signals through it)."""
        self.run_id = run_id
        self._signal_group = signal_group
        self._own_log_dir = log_dir is None
        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="harness-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._components: list[LocalComponent] = []
        self._closed = False

    def start(self, specs: Sequence[ComponentSpec]) -> list[ComponentHandle]:
        started: list[ComponentHandle] = []
        for spec in specs:
            started.append(self._start_one(spec))
        return started

    def _start_one(self, spec: ComponentSpec) -> LocalComponent:
        if any(c.spec.name == spec.name for c in self._components):
            raise ComponentStartError(spec.name, "a component with this name already runs")
        port = free_port()
        log_path = self.log_dir / f"{spec.name}.log"
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
        component = LocalComponent(spec, popen, port, log_path, log_file, self._signal_group)
        self._components.append(component)
        return component

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
        for c in self._components:
            target = dest / c.log_path.name
            if c.log_path.exists() and target.resolve() != c.log_path.resolve():
                shutil.copyfile(c.log_path, target)

    def close(self) -> None:
        """Stop every process of the run. A Ctrl-C or SIGTERM arriving meanwhile is held until
        every process is stopped, then raised as ``KeyboardInterrupt``."""
        if self._closed:
            return
        with signals_held():
            self.stop(self._components, timeout=5.0)
            self._closed = True
        if self._own_log_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def pids(self) -> list[int]:
        """Process ids of every component started (alive or not)."""
        return [c.pid for c in self._components]
