"""One real ddtrace-py tracer and its OpenFeature provider, as one fleet member of a run.

Run by the harness as ``<venv>/bin/python app.py --host H --port P`` in a virtual environment
holding the pinned ``requirements.txt`` (ddtrace 4.16, openfeature-sdk 0.10), never the
harness's own. Standard library apart from those two packages.

Sequence, as the proposal's load-test app booted its tracer (docs/real-tracers.md):

1. load the heavy modules without starting the tracer: ``ddtrace``, ``openfeature``, the Datadog
   provider, and every module ``import ddtrace.auto`` would import (``preload.txt``, written by
   ``app.py --probe-modules preload.txt`` for the pinned version); then serve ``/health`` and
   ``/metrics``. Measured here: this cuts the tracer start after the barrier from about 1.9 s
   to 0.3-0.4 s at load average 10 (docs/real-tracers.md);
2. wait for the run's start instant (:func:`wait_for_start`: ``POST /start`` with
   ``RC_STUB_START_SIGNAL=http``, else ``RC_STUB_START_AT``; docs/contracts.md, "The start
   signal"); ``GET /ready-to-start`` answers 200 once step 1 is done;
3. start the tracer (``import ddtrace.auto``: it subscribes FFE_FLAGS and sends the first
   ``/v0.7/config`` at once), then create the provider and register it: ``event`` mode with
   the non-blocking ``set_provider`` and event handlers, ``wait`` mode with
   ``set_provider_and_wait``;
4. on the provider's PROVIDER_READY event (never inferred), evaluate the flag once.

Every duration is measured from the tracer's start instant (after the barrier), because the
real RC client starts inside the tracer's start (its first poll leaves during ``import
ddtrace.auto``), as the stub's client starts at its tracer's start: ``tracer_start_seconds`` is
the start's own cost, ``tracer_provider_ready_seconds`` start -> PROVIDER_READY,
``tracer_first_evaluation_seconds`` and ``tracer_boot_total_seconds`` start -> first evaluation.

It reports what the stub reports, under the same metric names (``docs/contracts.md``, "Tracer
stub"), for one tracer whose index is ``RC_STUB_TRACER_INDEX_BASE``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

KIND = "ddtrace-py"
OUTCOMES = ("pending", "ready", "timeout", "error")


PRELOAD = Path(__file__).with_name("preload.txt")
NOT_PRELOADED = ("ddtrace.auto", "ddtrace.bootstrap", "sitecustomize")
"""Importing these starts the tracer: they are the start itself."""


def preload(path: Path) -> tuple[int, int]:
    """Import every module listed in ``path``; (imported, failed)."""
    names = path.read_text(encoding="utf-8").split() if path.is_file() else []
    failed = 0
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            failed += 1
    return len(names) - failed, failed


def probe_modules(out: Path) -> int:
    """Write the modules ``import ddtrace.auto`` imports beyond ``import ddtrace`` to ``out``."""
    import ddtrace
    import openfeature.api  # noqa: F401
    from ddtrace.openfeature import DataDogProvider  # noqa: F401

    before = set(sys.modules)
    import ddtrace.auto

    new = sorted(m for m in set(sys.modules) - before if not m.startswith(NOT_PRELOADED))
    out.write_text("\n".join(new) + "\n", encoding="utf-8")
    print(f"ddtrace {ddtrace.__version__}: {len(new)} modules written to {out}")
    return 0


def log(message: str) -> None:
    print(f"{time.time():.3f} {KIND}: {message}", flush=True)


class StartSignal:
    """The fleet's start instant (docs/contracts.md, "The start signal"): ``POST /start``
    ``{"start_at": T}`` when ``RC_STUB_START_SIGNAL=http`` (``RC_STUB_START_AT`` is then a
    deadline), else ``RC_STUB_START_AT`` alone (unset: at once)."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.http = environ.get("RC_STUB_START_SIGNAL", "at").strip() == "http"
        raw = environ.get("RC_STUB_START_AT", "").strip()
        self.deadline = float(raw) if raw else None
        self.ready = False  # loaded: every module the start imports is in memory
        self.start_at: float | None = None
        self.released = threading.Event()
        self.lock = threading.Lock()

    def state(self) -> tuple[int, dict[str, Any]]:
        """``GET /ready-to-start``."""
        body: dict[str, Any] = {"ready": self.ready, "started": self.start_at is not None}
        body["tracers"] = 1
        if self.start_at is not None:
            body["start_at"] = self.start_at
        return (200 if self.ready else 503), body

    def release(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        """``POST /start``."""
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        at = value.get("start_at") if isinstance(value, dict) else None
        if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
            return 400, {"error": 'expected {"start_at": <unix seconds>}'}
        if not self.ready:
            return 503, {"error": "not ready to start yet"}
        with self.lock:
            if self.start_at is not None and self.start_at != at:
                return 409, {"error": f"already released for {self.start_at}"}
            self.start_at = at
            self.released.set()
        return 200, {"start_at": at, "late_s": round(max(0.0, time.time() - at), 3)}


def wait_for_start(signal_: StartSignal) -> None:
    """The start barrier: block until the fleet's start instant."""
    at = signal_.deadline
    if signal_.http:
        timeout = None if at is None else max(0.0, at - time.time())
        if signal_.released.wait(timeout):
            at = signal_.start_at
        else:
            log(f"no POST /start by the deadline {at}: starting at the deadline")
    if at is None:
        return
    delay = at - time.time()
    if delay > 0:
        log(f"waiting {delay:.3f} s for the start instant")
        time.sleep(delay)
    elif delay < -0.05:
        log(f"the start instant passed {-delay:.3f} s ago: starting now")


class Report:
    """The tracer's measurements, rendered as the stub's Prometheus families."""

    def __init__(self, index: int, run_id: str, version: str = "") -> None:
        self.label = str(index)
        self.run_id = run_id
        self.version = version
        self.lock = threading.Lock()
        self.outcome = "pending"
        self.gauges: dict[str, float] = {}
        self.provider_errors = 0

    def set(self, name: str, value: float) -> None:
        with self.lock:
            self.gauges[name] = value

    def set_outcome(self, outcome: str) -> None:
        with self.lock:
            if self.outcome != "ready":
                self.outcome = outcome

    def render(self) -> bytes:
        with self.lock:
            t = f'tracer="{self.label}"'
            lines = ["# TYPE tracer_outcome gauge"]
            lines += [
                f'tracer_outcome{{{t},outcome="{o}"}} {1.0 if o == self.outcome else 0.0}'
                for o in OUTCOMES
            ]
            for name, value in self.gauges.items():
                lines += [f"# TYPE {name} gauge", f"{name}{{{t}}} {value!r}"]
            lines += [
                "# TYPE tracer_provider_error_events_total counter",
                f"tracer_provider_error_events_total{{{t}}} {float(self.provider_errors)}",
                "# TYPE tracer_hosted gauge",
                "tracer_hosted 1.0",
                "# TYPE tracer_settled gauge",
                f"tracer_settled {0.0 if self.outcome == 'pending' else 1.0}",
                "# TYPE tracer_run_info gauge",
                f'tracer_run_info{{run_id="{self.run_id}"}} 1.0',
                "# TYPE tracer_app_info gauge",
                f'tracer_app_info{{app="{KIND}",version="{self.version}"}} 1.0',
            ]
        return ("\n".join(lines) + "\n").encode()


def serve(host: str, port: int, report: Report, start: StartSignal) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body, ctype, status = report.render(), "text/plain; version=0.0.4", 200
            elif path == "/health" and start.ready:
                body, ctype, status = b'{"status": "ok"}', "application/json", 200
            elif path == "/health":  # 200 once loaded, so that a runner without the start
                # signal still sees a process that is not ready by the boot instant
                body, ctype, status = b'{"status": "loading"}', "application/json", 503
            elif path == "/ready-to-start":
                status, answer = start.state()
                body, ctype = json.dumps(answer).encode(), "application/json"
            else:
                body, ctype, status = b"try /metrics or /health\n", "text/plain", 404
            self.reply(status, ctype, body)

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != "/start":
                self.reply(404, "text/plain", b"POST /start only\n")
                return
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, answer = start.release(raw)
            self.reply(status, "application/json", json.dumps(answer).encode())

        def reply(self, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--probe-modules", type=Path, help="write preload.txt and exit")
    args = parser.parse_args(argv)
    if args.probe_modules:
        return probe_modules(args.probe_modules)
    env = dict(os.environ)
    index = int(env.get("RC_STUB_TRACER_INDEX_BASE", "0"))
    mode = env.get("RC_STUB_PROVIDER_MODE", "event")
    flag_key = env.get("RC_STUB_FLAG_KEY", "rc-fastlane-flag")
    flag_default = env.get("RC_STUB_FLAG_DEFAULT", "false").lower() in ("1", "true", "yes", "on")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    # The port first: the harness chose it free, and loading takes seconds on a busy machine.
    report = Report(index, env.get("RC_STUB_RUN_ID", ""))
    start = StartSignal(env)
    server = serve(args.host, args.port, report, start)

    # 1. heavy modules, without starting the tracer (``import ddtrace`` does not start products)
    loaded = time.monotonic()
    import ddtrace
    from ddtrace.openfeature import DataDogProvider
    from openfeature import api
    from openfeature.evaluation_context import EvaluationContext
    from openfeature.event import EventDetails, ProviderEvent

    imported, failed = preload(PRELOAD)
    report.version = ddtrace.__version__
    start.ready = True
    log(
        f"ddtrace {ddtrace.__version__} and {imported} modules of its start loaded in "
        f"{time.monotonic() - loaded:.2f} s ({failed} failed); serving"
    )

    # 2. the barrier
    wait_for_start(start)
    t0 = time.monotonic()
    report.set("tracer_start_wall_seconds", time.time())

    # 3. the tracer, then the provider
    import ddtrace.auto

    started = time.monotonic()
    report.set("tracer_start_seconds", started - t0)
    provider = DataDogProvider()
    # The READY of the default no-op provider (fired at once for a handler added before
    # set_provider) carries another name than the Datadog provider's.
    name = provider.get_metadata().name
    client = api.get_client()
    context = EvaluationContext(targeting_key=f"tracer-{index}")
    evaluated = threading.Event()
    returned = threading.Event()  # wait mode: set_provider_and_wait has returned

    def evaluate() -> None:
        details = client.get_boolean_details(flag_key, flag_default, context)
        if details.error_code is None and str(details.reason) != "ERROR":
            if not evaluated.is_set():
                evaluated.set()
                now = time.monotonic()
                report.set("tracer_first_evaluation_seconds", now - t0)
                report.set("tracer_boot_total_seconds", now - t0)
                log(f"first evaluation {flag_key}={details.value} ({details.reason})")
        else:
            log(f"evaluation of {flag_key}: {details.error_code} {details.error_message}")

    def on_ready(details: EventDetails) -> None:
        if details.provider_name != name:
            return  # the immediate READY of the default no-op provider
        now = time.monotonic()
        if "tracer_provider_ready_seconds" not in report.gauges:
            report.set("tracer_provider_ready_seconds", now - t0)
            report.set_outcome("ready")
            log(f"PROVIDER_READY {now - t0:.3f} s after the tracer's start")
        if mode == "event" or returned.is_set():
            evaluate()

    def on_error(details: EventDetails) -> None:
        if details.provider_name != name:
            return
        with report.lock:
            report.provider_errors += 1
        report.set_outcome("timeout")  # the init timeout: the provider may still turn ready
        log(f"PROVIDER_ERROR: {details.message}")

    api.add_handler(ProviderEvent.PROVIDER_READY, on_ready)
    api.add_handler(ProviderEvent.PROVIDER_ERROR, on_error)
    if mode == "wait":
        try:
            api.set_provider_and_wait(provider)
        except Exception as exc:  # the init timeout, re-raised
            log(f"set_provider_and_wait: {exc}")
        returned.set()
        evaluate()
    else:
        api.set_provider(provider)
    stop.wait()
    server.shutdown()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
