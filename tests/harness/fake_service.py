"""A stand-in for the three services, for runner and runtime tests (``python -m``).

It follows the service contract that the harness depends on (``--host``/``--port``, ``/health``,
``/metrics``, SIGTERM exits 0, the start signal) and nothing else. Its role comes from the
environment: with ``RC_STUB_TRACERS`` it is a tracer process whose tracers turn ready
``FAKE_READY_AFTER_S`` seconds after its start instant (plus 10 ms per tracer): the one
``POST /start`` gave it, else ``RC_STUB_START_AT``. Knobs (environment):

- ``FAKE_CRASH_BASE=<n>``: the tracer process whose index base is n exits with code 3 at boot.
- ``FAKE_PENDING_BASE=<n>``: that process's tracers stay pending forever.
- ``FAKE_EXIT_AT_START=<role>``: the backend/agent/tracer exits at once with code 4.
- ``FAKE_METRICS_ERROR=<role>``: that role answers ``/metrics`` with a 500.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RELEASED: list[float] = []
"""The instant ``POST /start`` gave this process (docs/contracts.md, "The start signal")."""


def start_instant() -> float:
    """The released instant, else the deadline ``RC_STUB_START_AT``."""
    return RELEASED[0] if RELEASED else float(os.environ.get("RC_STUB_START_AT", "0") or 0)


def tracer_metrics(now: float) -> str:
    count = int(os.environ["RC_STUB_TRACERS"])
    base = int(os.environ["RC_STUB_TRACER_INDEX_BASE"])
    start_at = start_instant()
    after = float(os.environ.get("FAKE_READY_AFTER_S", "0.3"))
    pending = os.environ.get("FAKE_PENDING_BASE") == str(base)
    lines = [f'tracer_run_info{{run_id="{os.environ.get("RC_STUB_RUN_ID", "")}"}} 1.0']
    for i in range(base, base + count):
        ready_s = after + 0.01 * (i - base)
        ready = not pending and now >= start_at + ready_s
        for outcome in ("pending", "ready", "timeout", "error"):
            value = 1.0 if outcome == ("ready" if ready else "pending") else 0.0
            lines.append(f'tracer_outcome{{tracer="{i}",outcome="{outcome}"}} {value}')
        lines.append(f'tracer_start_seconds{{tracer="{i}"}} 0.002')
        lines.append(f'tracer_start_wall_seconds{{tracer="{i}"}} {start_at}')
        if ready:
            lines.append(f'tracer_provider_ready_seconds{{tracer="{i}"}} {ready_s}')
            lines.append(f'tracer_first_evaluation_seconds{{tracer="{i}"}} {ready_s + 0.001}')
            lines.append(f'tracer_boot_total_seconds{{tracer="{i}"}} {ready_s + 0.003}')
        lines.append(f'tracer_provider_error_events_total{{tracer="{i}"}} 0.0')
    return "\n".join(lines) + "\n"


def other_metrics(role: str) -> str:
    if role == "agent":
        return (
            "# TYPE agent_rc_bypass_total counter\n"
            'agent_rc_bypass_total{lane="fast",result="refreshed"} 3.0\n'
            "agent_rc_active_clients 7.0\n"
        )
    return (
        "# TYPE backend_rc_requests_total counter\n"
        'backend_rc_requests_total{endpoint="configurations",status="200"} 4.0\n'
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    role = (
        "tracer"
        if "RC_STUB_TRACERS" in os.environ
        else "agent"
        if "RC_AGENT_BACKEND_URL" in os.environ
        else "backend"
    )
    if os.environ.get("FAKE_EXIT_AT_START") == role:
        print(f"fake {role}: exiting on purpose", flush=True)
        sys.exit(4)
    crash = role == "tracer" and os.environ.get("FAKE_CRASH_BASE") == os.environ.get(
        "RC_STUB_TRACER_INDEX_BASE"
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/health":
                body = b'{"status": "ok"}'
            elif self.path == "/ready-to-start" and role == "tracer":
                count = int(os.environ["RC_STUB_TRACERS"])
                body = json.dumps({"ready": True, "started": bool(RELEASED), "tracers": count})
                body = body.encode()
            elif self.path == "/metrics" and os.environ.get("FAKE_METRICS_ERROR") == role:
                self.send_error(500)
                return
            elif self.path == "/metrics":
                text = tracer_metrics(time.time()) if role == "tracer" else other_metrics(role)
                body = text.encode()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            doc = json.loads(self.rfile.read(length) or b"{}")
            if self.path != "/start" or role != "tracer" or RELEASED:
                self.send_error(404 if self.path != "/start" else 409)
                return
            RELEASED.append(float(doc["start_at"]))
            body = json.dumps({"start_at": RELEASED[0], "late_s": 0.0}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    if crash:
        deadline = float(os.environ.get("RC_STUB_START_AT", "0") or 0)

        def die() -> None:
            while not RELEASED and time.time() < deadline:
                time.sleep(0.01)
            time.sleep(max(0.0, start_instant() - time.time()) + 0.05)
            print("fake tracer: crashing on purpose", flush=True)
            os._exit(3)

        threading.Thread(target=die, daemon=True).start()
    print(f"fake {role} serving on {args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
