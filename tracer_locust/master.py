"""``python -m tracer_locust.master``: the Locust master of a tracer fleet (Locust as a library).

What it does, in order:

1. binds Locust's master port (``RC_LOCUST_MASTER_BIND_HOST``/``_PORT``) and serves ``GET
   /health`` and ``GET /status`` (`MasterStatus`, JSON) on ``--host``/``--port``;
2. waits until ``expect_workers`` workers have connected and each has said where it serves its
   ``/metrics`` (`WorkerHello`); after ``expect_workers_timeout_s`` it gives up: ``/status``
   says how many came and the master exits 1;
3. plans which tracers each worker hosts: Locust's own dispatcher (`UsersDispatcher`, the one
   ``runner.start`` uses next) gives each worker's user count, and each worker gets a contiguous
   range of tracer indexes of that size, so that every tracer has exactly one host;
4. sends each worker its `Assignment` (range, the tracers' ``RC_STUB_*`` settings from this
   process's environment, the start instant) and starts the users: all at once (spawn rate =
   fleet size; every user builds its tracer, then waits for the start: the start signal each
   worker receives (``tracer_locust.release``), else ``start_at``), or, with ``ramp_s``, from
   the fleet's instant (a worker's start signal, else ``start_at``) with Locust's spawn rate
   ``users / ramp_s`` (each tracer starts when spawned);
5. runs until SIGTERM or SIGINT: then asks every worker for its last statistics (they report
   every 3 s), stops them (Locust's ``quit``), writes Locust's CSV files and HTML report
   (``csv_prefix``) and exits 0.

No rebalancing: a worker that dies takes its users with it (the harness counts them as
crashed); Locust's ``--enable-rebalancing`` is off, so they are not re-spawned elsewhere.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from gevent.pywsgi import WSGIServer
from locust import User, events
from locust.dispatch import UsersDispatcher
from locust.env import Environment
from locust.html import get_html_report
from locust.runners import STATE_MISSING, MasterRunner, WorkerNode
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV, StatsCSVFileWriter, stats_history

from rc_protocol.settings import EXIT_BAD_SETTINGS
from tracer_locust.control import (
    ASSIGN,
    FLUSH,
    FLUSHED,
    HELLO,
    RELEASE,
    Assignment,
    MasterPhase,
    MasterStatus,
    WorkerHello,
    WorkerStatus,
)
from tracer_locust.errors import SettingsError, WorkersMissing
from tracer_locust.settings import MasterSettings
from tracer_locust.user import TracerUser
from tracer_locust.worker import stub_environment

__all__ = ["Fleet", "FleetMasterRunner", "main", "plan_ranges"]

log = logging.getLogger("tracer_locust.master")

WsgiStart = Callable[[str, list[tuple[str, str]]], Any]


def plan_ranges(counts: Sequence[tuple[str, int]]) -> dict[str, tuple[int, int]]:
    """``worker id -> (first tracer, tracers)``: contiguous ranges in the given order, e.g.
    ``[("b", 3), ("a", 2)]`` -> ``{"b": (0, 3), "a": (3, 2)}``."""
    ranges: dict[str, tuple[int, int]] = {}
    base = 0
    for worker_id, count in counts:
        ranges[worker_id] = (base, count)
        base += count
    return ranges


def dispatch_counts(workers: Iterable[WorkerNode], users: int) -> list[tuple[str, int]]:
    """Each worker's user count after ``runner.start(users, ...)``, in the dispatcher's worker
    order, from a throwaway copy of Locust's own dispatcher (deterministic: workers sorted by id
    and spread across hosts, users handed out round robin)."""
    dispatcher = UsersDispatcher(worker_nodes=list(workers), user_classes=[TracerUser])
    dispatcher.new_dispatch(target_user_count=users, spawn_rate=float(users))
    final: dict[str, dict[str, int]] = {}
    for step in dispatcher:
        final = step
    order = [w.id for w in dispatcher._worker_nodes]
    return [(wid, sum(final.get(wid, {}).values())) for wid in order]


class FleetMasterRunner(MasterRunner):
    """Locust's master, except that the fleet is started once and stopped only by `quit`.

    Locust stops the whole test when its last worker goes missing (no heartbeat for 3 s, which a
    CPU-starved worker in a boot storm can miss), and re-dispatches the users of a worker missing
    for 60 s to the others. Either would change the fleet under measurement: the tracers of a
    worker that stopped reporting are still booting (or are counted as crashed by the harness if
    the worker is really gone), and no tracer is ever started twice.
    """

    def __init__(self, environment: Environment, master_bind_host: str, master_bind_port: int):
        super().__init__(environment, master_bind_host, master_bind_port)
        self.fleet_started = False
        self.quitting = False

    def start(
        self,
        user_count: int,
        spawn_rate: float,
        wait: bool = False,
        user_classes: list[type[User]] | None = None,
    ) -> None:
        if self.fleet_started:
            log.warning("Locust asked to re-dispatch the fleet (a worker went missing): ignored")
            return
        self.fleet_started = True
        super().start(user_count, spawn_rate, wait, user_classes)

    def stop(self, send_stop_to_client: bool = True) -> None:
        if not self.quitting:
            log.warning(
                "Locust asked to stop the fleet (its last worker went missing): ignored; the "
                "tracers of a worker that is really gone are counted as crashed"
            )
            return
        super().stop(send_stop_to_client)

    def quit(self) -> None:
        self.quitting = True
        super().quit()


class Fleet:
    """The master's state: workers, their hellos and assignments, the phase."""

    def __init__(
        self, settings: MasterSettings, runner: MasterRunner, stub_env: Mapping[str, str]
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.stub_env = dict(stub_env)
        self.hellos: dict[str, WorkerHello] = {}
        self.assignments: dict[str, Assignment] = {}
        self.phase = MasterPhase.WAITING
        self.error = ""
        self.web_ui_url = ""
        self.flushed: set[str] = set()
        self.release_at: float | None = None
        self.released = gevent.event.Event()

    def on_flushed(self, environment: Environment, msg: Any, **kwargs: Any) -> None:
        del environment, kwargs
        self.flushed.add(msg.node_id)

    def flush(self, timeout_s: float = 5.0) -> None:
        """Ask every connected worker for its last statistics and wait (up to `timeout_s`) until
        each has sent them (Locust's workers report every 3 s; the last seconds would be lost)."""
        waiting = {w.id for w in self.connected()}
        for worker_id in waiting:
            self.runner.send_message(FLUSH, None, client_id=worker_id)
        deadline = time.monotonic() + timeout_s
        while not waiting <= self.flushed and time.monotonic() < deadline:
            gevent.sleep(0.05)
        missing = waiting - self.flushed
        if missing:
            log.warning("%d worker(s) sent no final statistics: %s", len(missing), missing)

    def on_hello(self, environment: Environment, msg: Any, **kwargs: Any) -> None:
        del environment, kwargs
        try:
            self.hellos[msg.node_id] = WorkerHello.from_data(msg.data)
        except ValueError as exc:
            log.error("worker %s sent a bad hello (%s): ignored", msg.node_id, exc)

    def connected(self) -> list[WorkerNode]:
        return [
            w
            for w in self.runner.clients.values()
            if w.state != STATE_MISSING and w.id in self.hellos
        ]

    def wait_for_workers(self) -> list[WorkerNode]:
        """The expected workers, once connected; raises `WorkersMissing` after the timeout."""
        deadline = time.monotonic() + self.settings.expect_workers_timeout_s
        expected = self.settings.expect_workers
        while True:
            ready = self.connected()
            if len(ready) >= expected:
                return ready
            if time.monotonic() >= deadline:
                raise WorkersMissing(
                    f"{len(ready)} of {expected} Locust workers connected within "
                    f"{self.settings.expect_workers_timeout_s:g} s (master port "
                    f"{self.settings.master_bind_port})"
                )
            gevent.sleep(0.05)

    def orchestrate(self) -> None:
        """Steps 2-4 of the module docstring."""
        s = self.settings
        try:
            workers = self.wait_for_workers()
        except WorkersMissing as exc:
            self.error, self.phase = str(exc), MasterPhase.FAILED
            log.error("%s", exc)
            return
        ranges = plan_ranges(dispatch_counts(workers, s.users))
        ramp = s.ramp_s > 0
        for worker_id, (first, count) in ranges.items():
            assignment = Assignment(
                first_tracer=first,
                tracers=count,
                start_at=s.start_at,
                ramp=ramp,
                stub_env=self.stub_env,
                run_id=s.run_id,
            )
            self.assignments[worker_id] = assignment
            self.runner.send_message(ASSIGN, assignment.to_data(), client_id=worker_id)
        self.phase = MasterPhase.ASSIGNED
        log.info(
            "%d tracers on %d workers: %s",
            s.users,
            len(ranges),
            ", ".join(f"{self._index(w)}: {c}" for w, (_, c) in ranges.items()),
        )
        if ramp:
            start_at = self.ramp_instant()
            if start_at is not None:
                gevent.sleep(max(0.0, start_at - time.time()))
        self.runner.start(s.users, s.spawn_rate)

    def on_release(self, environment: Environment, msg: Any, **kwargs: Any) -> None:
        """A worker's start signal (a ramp): its first tracer's instant -> the fleet's."""
        del environment, kwargs
        try:
            start_at, first = float(msg.data["start_at"]), int(msg.data["first_tracer"])
        except (KeyError, TypeError, ValueError):
            log.error("worker %s sent a bad release: %r", msg.node_id, msg.data)
            return
        if self.release_at is None:
            self.release_at = start_at - first * self.settings.ramp_s / self.settings.users
            self.released.set()

    def ramp_instant(self) -> float | None:
        """When the ramp begins: the start signal's instant when the tracers use it (waiting
        for it up to the deadline ``start_at``), else ``start_at``."""
        signal_mode = self.stub_env.get("RC_STUB_START_SIGNAL", "at").strip().lower() == "http"
        deadline = self.settings.start_at
        if not signal_mode:
            return deadline
        timeout = None if deadline is None else max(0.0, deadline - time.time())
        if self.released.wait(timeout) and self.release_at is not None:
            return self.release_at
        log.warning("no start signal came: the ramp begins at the deadline %s", deadline)
        return deadline

    def _index(self, worker_id: str) -> int:
        return int(self.runner.get_worker_index(worker_id))

    def status(self) -> MasterStatus:
        workers = [
            WorkerStatus(
                id=w.id,
                index=self._index(w.id),
                state=str(w.state),
                hello=self.hellos.get(w.id),
                assignment=self.assignments.get(w.id),
                users=w.user_count,
            )
            for w in self.runner.clients.values()
        ]
        return MasterStatus(
            phase=self.phase,
            expected_workers=self.settings.expect_workers,
            users=self.settings.users,
            workers=sorted(workers, key=lambda w: w.index),
            error=self.error,
            web_ui_url=self.web_ui_url,
        )

    def app(self, environ: dict[str, Any], start: WsgiStart) -> Iterable[bytes]:
        """``GET /health``, ``GET /status``."""
        path = environ.get("PATH_INFO", "")
        if path == "/health":
            status, body = "200 OK", b'{"status": "ok"}'
        elif path == "/status":
            status, body = "200 OK", self.status().model_dump_json().encode()
        else:
            status, body = "404 Not Found", json.dumps({"error": "try /status"}).encode()
        start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def write_final_csv(environment: Environment, prefix: str) -> None:
    """Locust's ``_stats.csv``, ``_failures.csv`` and ``_exceptions.csv`` as they stand now,
    and its HTML report (``_report.html``)."""
    table = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for suffix, write in (
        ("_stats.csv", table.requests_csv),
        ("_failures.csv", table.failures_csv),
        ("_exceptions.csv", table.exceptions_csv),
    ):
        with open(prefix + suffix, "w", newline="", encoding="utf-8") as fh:
            write(csv.writer(fh))
    html = get_html_report(environment, show_download_link=False)
    Path(prefix + "_report.html").write_text(html, encoding="utf-8")


def run(settings: MasterSettings, environ: Mapping[str, str]) -> int:
    """Run the master until SIGTERM/SIGINT; 1 when the workers did not come."""
    environment = Environment(user_classes=[TracerUser], events=events)
    runner = FleetMasterRunner(environment, settings.master_bind_host, settings.master_bind_port)
    environment.runner = runner
    fleet = Fleet(settings, runner, stub_environment(environ))
    runner.register_message(HELLO, fleet.on_hello)
    runner.register_message(FLUSHED, fleet.on_flushed)
    runner.register_message(RELEASE, fleet.on_release)
    server = WSGIServer((settings.host, settings.port), fleet.app, log=None)
    server.start()
    log.info(
        "tracer fleet master: %d tracers, %d workers expected on port %d, status on "
        "http://%s:%d/status",
        settings.users,
        settings.expect_workers,
        settings.master_bind_port,
        settings.host,
        server.server_port,
    )
    if settings.web_ui:
        environment.create_web_ui(settings.web_host, settings.web_port)
        fleet.web_ui_url = f"http://{settings.web_host}:{settings.web_port}"
        log.info("Locust web UI on %s", fleet.web_ui_url)
    writer: StatsCSVFileWriter | None = None
    if settings.csv_prefix:
        Path(settings.csv_prefix).parent.mkdir(parents=True, exist_ok=True)
        writer = StatsCSVFileWriter(
            environment, PERCENTILES_TO_REPORT, settings.csv_prefix, full_history=True
        )
        gevent.spawn(writer.stats_writer)
    gevent.spawn(stats_history, runner)
    stop = gevent.event.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, stop.set)
    orchestrator = gevent.spawn(fleet.orchestrate)
    orchestrator.join()
    if fleet.phase is not MasterPhase.FAILED:
        stop.wait()
    log.info("tracer fleet master: collecting the workers' last statistics, then stopping them")
    fleet.flush()
    runner.quit()
    if writer is not None:
        writer.close_files()
        write_final_csv(environment, settings.csv_prefix)
    server.stop(timeout=1)
    return 1 if fleet.phase is MasterPhase.FAILED else 0


def main(argv: Sequence[str] | None = None) -> int:
    environ = os.environ
    try:
        parser = MasterSettings.build_parser(
            prog="python -m tracer_locust.master",
            description="The Locust master of a simulated tracer fleet (rc-fastlane).",
            environ=environ,
        )
        settings = MasterSettings.from_args(
            parser.parse_args(sys.argv[1:] if argv is None else argv), environ
        )
    except SettingsError as exc:
        print(f"tracer_locust.master: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run(settings, environ)


if __name__ == "__main__":
    sys.exit(main())
