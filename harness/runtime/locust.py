"""The ``locust`` runtime: the tracers as Locust users on Locust workers (``tracer_locust``).

The backend and the agent run as local processes (`LocalRuntime`). The tracer specs the runner
hands over are folded into one fleet (`FleetRequest`) and become one Locust master
(``python -m tracer_locust.master``) and ``workers`` local workers (``python -m
tracer_locust.worker``: plain ``locust --worker`` with the fleet's locustfile), each a local
process of the run (own process group, log file, stopped on every exit path). `start` waits
until the master has every expected worker (these, plus ``extra_workers`` joining from other
machines) and has given each a range of tracers, and returns one handle per worker: its spec
carries that range and its URL is the worker's ``/metrics``, so collection, health and
Prometheus file-SD treat a worker as they treat a stub process.

Locust's CSV files and HTML report are written to ``<results>/locust/`` when the master stops.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
from pydantic import ValidationError

from harness.errors import ComponentStartError, HarnessError
from harness.runtime.base import ClosesOnExit, ComponentHandle, ComponentSpec
from harness.runtime.local import LocalComponent, LocalRuntime, free_port
from harness.runtime.locust_fleet import (
    MASTER_MODULE,
    FleetRequest,
    WorkerHandle,
    check_fleet,
    worker_handles,
    worker_spec,
)
from rc_protocol.wait import poll_until
from tracer_locust.control import MasterStatus, WorkerStatus
from tracer_locust.settings import LOCUST_MASTER_PORT

LOCUST_START_COST_S = 4.0
"""Seconds per pack of `TRACERS_PER_PACK` tracers that the Locust runtime needs before the boot
instant (the runner's margin is ``2 + (0.4 + this) * packs``: 6.4 s for up to 1,000 tracers,
10.8 s for 2,000). The master and the workers import Locust and connect (about 3 s on a busy
2-core machine, in parallel), then each worker builds its tracers (about 1 ms each). Measured
with ``harness run --runtime locust``; a run that misses the boot instant says so in its
warnings. (Until the start signal replaces the guessed boot instant.)"""

TRACERS_PER_PACK = 1000
"""The runner's packing unit on this runtime (its progress line counts packs, not workers)."""


def default_workers() -> int:
    """One worker per core (Locust's ``--processes -1``)."""
    return max(1, os.cpu_count() or 1)


class LocustRuntime(ClosesOnExit):
    """Runs tracers on Locust workers, everything else as local processes (``Runtime``)."""

    name = "locust"
    start_cost_s = LOCUST_START_COST_S

    def __init__(
        self,
        run_id: str,
        log_dir: Path | None = None,
        *,
        workers: int | None = None,
        extra_workers: int = 0,
        master_bind_host: str = "127.0.0.1",
        master_port: int | None = None,
        web_ui: bool = False,
        web_port: int = 8089,
        results_dir: Path | None = None,
        connect_timeout_s: float = 60.0,
        local: LocalRuntime | None = None,
        status_client: Callable[[str], MasterStatus | None] | None = None,
    ) -> None:
        """``workers`` local workers (default: one per core) plus ``extra_workers`` that join
        from elsewhere (``locust --worker -f <tracer_locust/locustfile.py> --master-host ...``)
        on ``master_bind_host:master_port`` (default 127.0.0.1 and a free port; 5557 is
        Locust's). ``status_client`` reads the master's ``/status`` (tests pass a fake)."""
        self.workers = default_workers() if workers is None else workers
        self.extra_workers = extra_workers
        if self.workers < 0 or extra_workers < 0 or self.workers + extra_workers < 1:
            raise HarnessError(
                f"a Locust fleet needs at least one worker (--locust-workers {self.workers}, "
                f"--locust-extra-workers {extra_workers})"
            )
        self.run_id = run_id
        self.local = local or LocalRuntime(run_id, log_dir)
        self.master_bind_host = master_bind_host
        self.master_port = master_port
        self.web_ui = web_ui
        self.web_port = web_port
        self.results_dir = results_dir or (
            Path(log_dir).parent if log_dir is not None else self.local.log_dir
        )
        self.connect_timeout_s = connect_timeout_s
        self._status = status_client or _http_status
        self.master: ComponentHandle | None = None
        self._last: MasterStatus | None = None

    # -- Runtime ----------------------------------------------------------------------------

    def start(self, specs: Sequence[ComponentSpec]) -> list[ComponentHandle]:
        tracers = [s for s in specs if s.role == "tracer"]
        others = [s for s in specs if s.role != "tracer"]
        handles = self.local.start(others) if others else []
        if tracers:
            handles.extend(self._start_fleet(FleetRequest.from_specs(tracers)))
        return handles

    def handles(self) -> list[ComponentHandle]:
        return self.local.handles()

    def stop(self, handles: Sequence[ComponentHandle], timeout: float = 10.0) -> None:
        """The master first (it collects the workers' last statistics and stops them), then
        the rest."""
        processes = [h.process if isinstance(h, WorkerHandle) else h for h in handles]
        targets = [p for p in processes if p is not None]
        first = [p for p in targets if p is self.master]
        if first:
            self.local.stop(first, timeout)
        self.local.stop([p for p in targets if p is not self.master], timeout)

    def save_logs(self, dest: Path) -> None:
        self.local.save_logs(dest)

    def close(self) -> None:
        self.local.close()

    # -- the fleet --------------------------------------------------------------------------

    def _start_fleet(self, fleet: FleetRequest) -> list[ComponentHandle]:
        port = self.master_port or (
            free_port() if self.master_bind_host == "127.0.0.1" else LOCUST_MASTER_PORT
        )
        csv_dir = self.results_dir / "locust"
        csv_dir.mkdir(parents=True, exist_ok=True)
        env = fleet.master_env(
            run_id=self.run_id,
            expect_workers=self.workers + self.extra_workers,
            bind_host=self.master_bind_host,
            bind_port=port,
            timeout_s=self.connect_timeout_s,
            csv_prefix=str(csv_dir / "locust"),
            web_ui=self.web_ui,
            web_port=self.web_port,
        )
        [master] = self.local.start([ComponentSpec("locust-master", "tracer", MASTER_MODULE, env)])
        self.master = master
        workers = self.local.start([worker_spec(i, port) for i in range(self.workers)])
        started = time.monotonic()

        def planned() -> bool:
            self._last = self._status(master.host_url)
            return check_fleet(self._last, master, workers, started, self.connect_timeout_s)

        # The master's own timeout decides first; this one only guards against a silent master.
        poll_until(
            planned, timeout=self.connect_timeout_s + 30, interval=0.1, what="the Locust fleet"
        )
        assert self._last is not None
        local = {w.pid: w for w in workers if isinstance(w, LocalComponent)}
        handles = worker_handles(self._last, local, self._worker_view)
        planned_tracers = sum(h.spec.tracers for h in handles)
        if planned_tracers != fleet.tracers:
            raise ComponentStartError(
                "locust-master",
                f"the master planned {planned_tracers} tracers for a fleet of {fleet.tracers}",
                master.log_tail(),
            )
        return list(handles)

    def _worker_view(self, worker_id: str) -> WorkerStatus | None:
        """The master's latest view of one worker (``None`` once the master is gone)."""
        if self.master is None:
            return None
        status = self._status(self.master.host_url)
        if status is not None:
            self._last = status
        source = status or self._last
        return next((w for w in source.workers if w.id == worker_id), None) if source else None


def _http_status(base_url: str) -> MasterStatus | None:
    """The master's ``GET /status``; None while it does not answer."""
    try:
        response = httpx.get(base_url + "/status", timeout=2.0)
        response.raise_for_status()
        return MasterStatus.model_validate_json(response.content)
    except (httpx.HTTPError, ValidationError):
        return None
