"""One Locust worker's tracers: their assignment, their ``/metrics``, and building each one.

A `WorkerFleet` is installed on a worker's Locust environment by the locustfile's ``init``
hook (:func:`install`). It serves ``/metrics`` (every hosted tracer, in the stub's exposition)
and ``/health`` (200 once the worker's tracers are built and waiting for the start, 503 before),
sends the master a `WorkerHello` with its ``/metrics`` URL, and waits for the master's
`Assignment`. Each Locust user then claims the next tracer index of the worker's range and
builds its `SimulatedTracer` the way a stub process does (`tracer_stub.host.Host`): its own
permit pools unless ``shared_multitarget``, its own RNG, the worker's metrics, and here greenlets
(`GeventTasks`) and Locust's HTTP client (`LocustTransport`).

``python -m tracer_locust.worker [--host H] [--port P] [locust worker options]`` runs plain
``locust --worker -f <this package's locustfile>``, with ``/metrics`` on ``H:P`` (what the
harness's local runtime starts).
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from gevent.pywsgi import WSGIServer
from locust.env import Environment
from locust.runners import WorkerRunner
from prometheus_client import CONTENT_TYPE_LATEST

from tracer_locust.control import (
    ASSIGN,
    FLUSH,
    FLUSHED,
    HELLO,
    RELEASE,
    Assignment,
    WorkerHello,
)
from tracer_locust.errors import FleetError
from tracer_locust.gevent_tasks import GeventClock, GeventPermits, GeventTasks
from tracer_locust.metrics import LocustMetrics
from tracer_locust.release import StartGate
from tracer_locust.settings import WorkerSettings
from tracer_locust.transport import LocustTransport
from tracer_stub.client.driver import LanePermits
from tracer_stub.client.policy import Lane, MultiTargetFetcher
from tracer_stub.client.transport import Transport
from tracer_stub.settings import ENV_PREFIX as STUB_PREFIX
from tracer_stub.settings import Settings
from tracer_stub.tracer import SimulatedTracer

__all__ = ["LOCUSTFILE", "WorkerFleet", "attach", "fleet_of", "install", "stub_environment"]

log = logging.getLogger(__name__)

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
"""What every worker runs: ``locust --worker -f <LOCUSTFILE> --master-host ...``."""

#: The aliases of stub settings a worker forwards or overrides (tracer_stub.settings).
_STUB_ALIASES = ("DD_TRACE_AGENT_URL", "DD_REMOTE_CONFIG_POLL_INTERVAL_SECONDS", "DD_RC_")
_DD_KEEP = ("DD_SERVICE", "DD_ENV", "DD_VERSION")

_fleets: weakref.WeakKeyDictionary[Environment, WorkerFleet] = weakref.WeakKeyDictionary()

WsgiStart = Callable[[str, list[tuple[str, str]]], Any]


def stub_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``RC_STUB_*`` variables of `environ` and the ``DD_*`` aliases the stub reads."""
    return {
        k: v
        for k, v in environ.items()
        if k.startswith(STUB_PREFIX) or k.startswith(_STUB_ALIASES) or k in _DD_KEEP
    }


class WorkerFleet:
    """The tracers one worker hosts (one per Locust user)."""

    def __init__(
        self,
        environment: Environment,
        settings: WorkerSettings,
        environ: Mapping[str, str],
    ) -> None:
        self.environment = environment
        self.settings = settings
        self.own_stub_env = stub_environment(environ)
        self.assignment: Assignment | None = None
        self.tracer_settings: Settings | None = None
        self.metrics = LocustMetrics(environment.events.request)
        self.assigned = gevent.event.Event()
        self.tracers: dict[int, SimulatedTracer] = {}
        self._next_slot = 0
        self._shared_permits: LanePermits | None = None
        self.error = ""
        self.gate: StartGate | None = None
        self._deadline_logged = False
        self.port: int | None = None
        self._server: WSGIServer | None = None

    # -- master messages --------------------------------------------------------------------

    def hello(self) -> WorkerHello:
        assert self.port is not None, "serve() first"
        return WorkerHello(
            metrics_url=self.settings.metrics_url(self.port),
            hostname=os.uname().nodename,
            pid=os.getpid(),
        )

    def assign(self, assignment: Assignment) -> None:
        """Take the master's assignment: the stub settings (the worker's own win) and range."""
        env = {**assignment.stub_env, **self.own_stub_env}
        if assignment.run_id:
            env.setdefault("RC_STUB_RUN_ID", assignment.run_id)
        try:
            settings = Settings.from_env(env)
        except ValueError as exc:  # the stub's SettingsError
            self.error = f"the tracers' settings are invalid: {exc}"
            log.error("%s", self.error)
            raise FleetError(self.error) from exc
        self.tracer_settings = settings
        self.metrics.run_info.labels(settings.run_id).set(1)
        if settings.shared_multitarget:
            self._shared_permits = self._permits(settings)
        self.gate = StartGate(
            use_signal=env.get("RC_STUB_START_SIGNAL", "at").strip().lower() == "http",
            deadline=assignment.start_at,
            tracers=assignment.tracers,
            is_ready=lambda: self.healthy,
            on_release=self._pass_on_release if assignment.ramp else None,
        )
        self.assignment = assignment
        self.assigned.set()
        log.info(
            "assigned tracers %d..%d (%s), agent %s",
            assignment.first_tracer,
            assignment.first_tracer + assignment.tracers - 1,
            "ramp" if assignment.ramp else f"start at {assignment.start_at}",
            settings.agent_url,
        )

    # -- users ------------------------------------------------------------------------------

    def claim(self) -> int | None:
        """The next tracer index of this worker (waits for the assignment); None when every
        index is taken (a user the master did not plan for)."""
        self.assigned.wait()
        assert self.assignment is not None
        slot = self._next_slot
        if slot >= self.assignment.tracers:
            log.error(
                "a user beyond the %d tracers assigned to this worker: it hosts no tracer",
                self.assignment.tracers,
            )
            return None
        self._next_slot += 1
        return self.assignment.first_tracer + slot

    def build(self, index: int) -> SimulatedTracer:
        """The tracer of index `index`, built as a stub process builds its tracers."""
        settings = self.tracer_settings
        assert settings is not None
        seed = settings.seed
        rng = random.Random(f"{seed}:{index}") if seed is not None else random.Random()
        tracer = SimulatedTracer(
            index,
            settings,
            clock=GeventClock(),
            transport_factory=self._transport_factory(settings),
            permits=self._shared_permits or self._permits(settings),
            metrics=self.metrics,
            rng=rng,
            tasks=GeventTasks(),
        )
        self.tracers[index] = tracer
        return tracer

    def wait_for_start(self) -> None:
        """Sleep until the common start instant (all at once); at once when ramping (the
        master spawns the users from the fleet's instant)."""
        assignment, gate = self.assignment, self.gate
        assert assignment is not None and gate is not None
        if assignment.ramp:
            return
        start_at = gate.instant()
        if gate.by_deadline and not self._deadline_logged:
            self._deadline_logged = True
            log.warning("no start signal came: the tracers start at the deadline %s", start_at)
        if start_at is not None:
            gevent.sleep(max(0.0, start_at - GeventClock().time()))

    def _pass_on_release(self, start_at: float) -> None:
        runner = self.environment.runner
        assignment = self.assignment
        if runner is not None and assignment is not None:
            runner.send_message(
                RELEASE, {"start_at": start_at, "first_tracer": assignment.first_tracer}
            )

    @property
    def healthy(self) -> bool:
        """Assigned, and (all at once) every tracer built and waiting for the start."""
        a = self.assignment
        return a is not None and (a.ramp or len(self.tracers) >= a.tracers)

    def _permits(self, settings: Settings) -> LanePermits:
        pools = MultiTargetFetcher.from_settings(settings.policy_settings())
        return LanePermits(pools, GeventPermits)

    def _transport_factory(self, settings: Settings) -> Callable[[Lane], Transport]:
        def make(lane: Lane) -> Transport:
            return LocustTransport(
                settings.agent_url,
                self.environment.events.request,
                name=str(lane),
                keepalive=settings.http_keepalive,
                user_agent=f"rc-fastlane-tracer-locust/{settings.language}",
                timeout_s=settings.request_timeout_s,
            )

        return make

    # -- /metrics ---------------------------------------------------------------------------

    def serve(self) -> int:
        """Serve ``/metrics`` and ``/health``; return the bound port."""
        server = WSGIServer(
            (self.settings.metrics_host, self.settings.metrics_port), self._app, log=None
        )
        server.start()
        self._server = server
        self.port = int(server.server_port)
        return self.port

    def _app(self, environ: dict[str, Any], start: WsgiStart) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in ("/ready-to-start", "/start"):
            status, answer = self._signal(environ, path)
            ctype, body = "application/json", json.dumps(answer).encode()
        elif environ.get("REQUEST_METHOD") != "GET":
            status, ctype, body = "405 Method Not Allowed", "text/plain", b"GET only\n"
        elif path == "/metrics":
            status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, self.metrics.render()
        elif path == "/health":
            ok = self.healthy and not self.error
            status = "200 OK" if ok else "503 Service Unavailable"
            ctype = "application/json"
            body = b'{"status": "ok"}' if ok else b'{"status": "starting"}'
        else:
            status, ctype, body = "404 Not Found", "text/plain", b"try /metrics or /health\n"
        start(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]

    def _signal(self, environ: dict[str, Any], path: str) -> tuple[str, dict[str, object]]:
        gate, method = self.gate, environ.get("REQUEST_METHOD")
        if path == "/start" and method == "POST":
            if gate is None:
                return "503 Service Unavailable", {"error": "no tracers assigned yet"}
            length = int(environ.get("CONTENT_LENGTH") or 0)
            return gate.post(environ["wsgi.input"].read(length) if length else b"")
        if path == "/ready-to-start" and method == "GET":
            if gate is None:
                return "503 Service Unavailable", {"ready": False, "started": False, "tracers": 0}
            return gate.state()
        return "405 Method Not Allowed", {"error": "GET /ready-to-start, POST /start"}

    def close(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)


def attach(environment: Environment, fleet: WorkerFleet) -> None:
    """Make `fleet` the one `fleet_of(environment)` returns (`install` does it on a worker;
    benchmarks run a fleet on a local runner)."""
    _fleets[environment] = fleet


def fleet_of(environment: Environment) -> WorkerFleet:
    """The fleet installed on this worker's environment."""
    fleet = _fleets.get(environment)
    if fleet is None:
        raise FleetError(
            "no tracer fleet on this Locust environment: run the workers with "
            "tracer_locust's locustfile under `locust --worker` (not standalone)"
        )
    return fleet


def install(environment: Environment, environ: Mapping[str, str] | None = None) -> None:
    """The locustfile's ``init`` hook: on a worker, serve ``/metrics``, say hello, wait for
    the assignment. Anywhere else, say what to run instead."""
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        log.error(
            "tracer_locust's locustfile runs on Locust workers only (`locust --worker -f ...`); "
            "the master is `python -m tracer_locust.master` (see the README)"
        )
        return
    environ = os.environ if environ is None else environ
    fleet = WorkerFleet(environment, WorkerSettings.from_env(environ), environ)
    attach(environment, fleet)
    port = fleet.serve()

    def on_assign(environment: Environment, msg: Any, **kwargs: Any) -> None:
        del environment, kwargs
        try:
            fleet.assign(Assignment.from_data(msg.data))
        except (FleetError, ValueError) as exc:
            log.error("cannot host the assigned tracers: %s", exc)
            runner.quit()

    def on_flush(environment: Environment, msg: Any, **kwargs: Any) -> None:
        del environment, msg, kwargs
        runner._send_stats()  # what Locust's own reporter sends every 3 s, now
        runner.send_message(FLUSHED)

    runner.register_message(ASSIGN, on_assign)
    runner.register_message(FLUSH, on_flush)
    runner.send_message(HELLO, fleet.hello().to_data())
    log.info("tracer fleet worker: /metrics on %s", fleet.hello().metrics_url)
    del port


def main(argv: list[str] | None = None) -> None:
    """``python -m tracer_locust.worker``: ``locust --worker`` with the harness's ``--host``
    and ``--port`` (the ``/metrics`` endpoint) taken out of the arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    rest: list[str] = []
    while args:
        arg = args.pop(0)
        if arg in ("--host", "--port") and args:
            key = "METRICS_HOST" if arg == "--host" else "METRICS_PORT"
            os.environ[f"RC_LOCUST_{key}"] = args.pop(0)
        else:
            rest.append(arg)
    from locust.main import main as locust_main

    sys.argv = ["locust", "--worker", "-f", str(LOCUSTFILE), *rest]
    locust_main()


if __name__ == "__main__":
    main()
