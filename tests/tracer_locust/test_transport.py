"""LocustTransport against a real gevent HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import pytest
from gevent.pywsgi import WSGIServer

from tracer_locust.gevent_tasks import GeventClock, GeventTasks, drive
from tracer_locust.transport import LocustTransport
from tracer_stub.errors import TransportError

App = Callable[[dict[str, Any], Callable[..., Any]], list[bytes]]


class Events:
    """A stand-in for ``environment.events.request``: records every fire."""

    def __init__(self) -> None:
        self.fired: list[dict[str, Any]] = []

    def fire(self, **kwargs: Any) -> None:
        self.fired.append(kwargs)


@pytest.fixture
def serve() -> Iterator[Callable[[App], str]]:
    servers: list[WSGIServer] = []

    def start(app: App) -> str:
        server = WSGIServer(("127.0.0.1", 0), app, log=None)
        server.start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.stop(timeout=1)


def answering(status: str, body: bytes, headers: list[tuple[str, str]] | None = None) -> App:
    def app(environ: dict[str, Any], start: Callable[..., Any]) -> list[bytes]:
        environ["wsgi.input"].read()
        start(status, [("Content-Length", str(len(body))), *(headers or [])])
        return [body]

    return app


def test_a_poll_returns_status_headers_and_body_and_is_one_locust_request(
    serve: Callable[[App], str],
) -> None:
    url = serve(answering("200 OK", b'{"x": 1}', [("X-Thing", "yes")]))
    events = Events()
    transport = LocustTransport(url, events, name="fast")
    response = drive(transport.post("/v0.7/config", b"{}", 1.0))
    assert (response.status, response.body, response.headers["x-thing"]) == (
        200,
        b'{"x": 1}',
        "yes",
    )
    [fired] = events.fired
    assert fired["request_type"] == "POST" and fired["name"] == "/v0.7/config [fast]"
    assert fired["exception"] is None and fired["response_length"] == 8


def test_a_429_is_an_answer_for_the_client_and_a_failure_for_locust(
    serve: Callable[[App], str],
) -> None:
    url = serve(answering("429 Too Many Requests", b"", [("Retry-After", "3")]))
    events = Events()
    response = drive(LocustTransport(url, events, name="fast").post("/v0.7/config", b"{}", 1.0))
    assert response.status == 429 and response.headers["retry-after"] == "3"
    assert isinstance(events.fired[0]["exception"], TransportError)


def test_an_agent_that_is_not_there_is_a_transport_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    events = Events()
    transport = LocustTransport(f"http://127.0.0.1:{port}", events, name="standard")
    with pytest.raises(TransportError, match="failed"):
        drive(transport.post("/v0.7/config", b"{}", 1.0))
    assert isinstance(events.fired[0]["exception"], TransportError)


def test_the_drivers_timeout_interrupts_a_slow_agent(serve: Callable[[App], str]) -> None:
    def slow(environ: dict[str, Any], start: Callable[..., Any]) -> list[bytes]:
        gevent.sleep(2)
        start("200 OK", [("Content-Length", "2")])
        return [b"{}"]

    events = Events()
    transport = LocustTransport(serve(slow), events, name="fast")
    with pytest.raises(TimeoutError):
        drive(
            GeventTasks().wait_for(GeventClock(), transport.post("/v0.7/config", b"{}", 0.1), 0.1)
        )
    assert isinstance(events.fired[0]["exception"], TimeoutError)


def test_an_idle_connection_the_agent_closed_is_retried_once_on_a_new_one() -> None:
    """A server that answers one request per connection, then closes it without saying so."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    served: list[int] = []

    def one_per_connection() -> None:
        while True:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            served.append(1)
            gevent.sleep(0.01)
            conn.close()

    server = gevent.spawn(one_per_connection)
    try:
        events = Events()
        transport = LocustTransport(f"http://127.0.0.1:{port}", events, name="standard")
        assert drive(transport.post("/v0.7/config", b"{}", 1.0)).status == 200
        gevent.sleep(0.05)  # the server has closed the kept-alive connection meanwhile
        assert drive(transport.post("/v0.7/config", b"{}", 1.0)).status == 200
        assert len(served) == 2 and len(events.fired) == 2
        assert all(f["exception"] is None for f in events.fired)
    finally:
        server.kill()
        listener.close()


def test_keepalive_off_sends_connection_close(serve: Callable[[App], str]) -> None:
    seen: list[str] = []

    def app(environ: dict[str, Any], start: Callable[..., Any]) -> list[bytes]:
        seen.append(environ.get("HTTP_CONNECTION", ""))
        start("200 OK", [("Content-Length", "2")])
        return [b"{}"]

    transport = LocustTransport(serve(app), Events(), name="fast", keepalive=False)
    drive(transport.post("/v0.7/config", b"{}", 1.0))
    assert seen == ["close"]
