"""The worker's start signal (docs/contracts.md "The start signal"): StartGate and the routes."""

from __future__ import annotations

import io
import json
from typing import Any

import gevent

from tracer_locust.control import Assignment
from tracer_locust.release import StartGate
from tracer_locust.settings import WorkerSettings
from tracer_locust.worker import WorkerFleet


def gate(ready: bool = True, signal: bool = True, deadline: float | None = 1000.0) -> StartGate:
    state = {"ready": ready}
    g = StartGate(
        use_signal=signal,
        deadline=deadline,
        tracers=4,
        is_ready=lambda: state["ready"],
        now=lambda: 990.0,
    )
    return g


def test_ready_to_start_says_whether_and_how_many() -> None:
    assert gate(ready=False).state() == (
        "503 Service Unavailable",
        {"ready": False, "started": False, "tracers": 4},
    )
    g = gate()
    assert g.state() == ("200 OK", {"ready": True, "started": False, "tracers": 4})
    g.post(b'{"start_at": 995}')
    assert g.state()[1] == {"ready": True, "started": True, "tracers": 4, "start_at": 995.0}


def test_start_releases_once_and_says_how_late() -> None:
    g = gate()
    assert g.post(b'{"start_at": 985.5}') == ("200 OK", {"start_at": 985.5, "late_s": 4.5})
    assert g.post(b'{"start_at": 985.5}')[0] == "200 OK"  # the same T again
    assert g.post(b'{"start_at": 999}')[0] == "409 Conflict"
    assert g.instant() == 985.5 and not g.by_deadline


def test_a_bad_body_is_400_and_an_unready_worker_503() -> None:
    for body in (b"", b"[]", b'{"start_at": "soon"}', b'{"start_at": true}', b"{", b'{"x": 1}'):
        assert gate().post(body)[0] == "400 Bad Request", body
    assert gate().post(b'{"start_at": 1e999}')[0] == "400 Bad Request"
    assert gate(ready=False).post(b'{"start_at": 995}')[0] == "503 Service Unavailable"


def test_without_a_signal_the_deadline_is_the_instant() -> None:
    g = gate(deadline=990.0)
    assert g.instant() == 990.0 and g.by_deadline
    assert gate(signal=False).instant() == 1000.0


def test_instant_waits_for_the_signal() -> None:
    g = StartGate(use_signal=True, deadline=None, tracers=1, is_ready=lambda: True)
    waiter = gevent.spawn(g.instant)
    gevent.sleep(0.01)
    assert not waiter.ready()
    g.post(b'{"start_at": 123.0}')
    assert waiter.get(timeout=1) == 123.0


def call(fleet: WorkerFleet, method: str, path: str, body: bytes = b"") -> tuple[str, Any]:
    seen: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    out = b"".join(fleet._app(environ, lambda status, headers: seen.append(status)))
    return seen[0], json.loads(out)


def test_the_worker_serves_the_signal_on_its_metrics_endpoint() -> None:
    from locust import events
    from locust.env import Environment

    from tracer_locust.user import TracerUser

    fleet = WorkerFleet(Environment(user_classes=[TracerUser], events=events), WorkerSettings(), {})
    assert call(fleet, "GET", "/ready-to-start")[0] == "503 Service Unavailable"
    fleet.assign(
        Assignment(
            first_tracer=0, tracers=0, start_at=None, stub_env={"RC_STUB_START_SIGNAL": "http"}
        )
    )
    status, body = call(fleet, "GET", "/ready-to-start")
    assert status == "200 OK" and body == {"ready": True, "started": False, "tracers": 0}
    status, body = call(fleet, "POST", "/start", b'{"start_at": 1.0}')
    assert status == "200 OK" and body["start_at"] == 1.0
    assert call(fleet, "PUT", "/start")[0] == "405 Method Not Allowed"
