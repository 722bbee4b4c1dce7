"""The fault proxy (harness.runtime.proxy) on real sockets: a proxy is about real I/O, so this is
one of the few places where a test uses them. An in-thread HTTP server stands for the agent."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from harness.runtime.proxy import FaultProxy


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello " * 20_000  # 120 KB: several chunks
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(upstream: int, tmp_path: Path) -> Iterator[FaultProxy]:
    p = FaultProxy(("127.0.0.1", upstream), tmp_path / "fault-proxy.log")
    p.start()
    yield p
    p.close()


def get(url: str, timeout: float = 5) -> httpx.Response:
    with httpx.Client(timeout=timeout) as client:  # a new connection each time
        return client.get(url + "/")


def test_it_forwards_byte_for_byte(proxy: FaultProxy) -> None:
    response = get(proxy.url)
    assert response.status_code == 200 and response.content == b"hello " * 20_000


def test_a_cut_is_a_black_hole_for_new_and_open_connections(proxy: FaultProxy) -> None:
    with httpx.Client(timeout=0.5) as kept:
        assert kept.get(proxy.url + "/").status_code == 200  # a keep-alive connection
        proxy.cut()
        with pytest.raises(httpx.ReadTimeout):  # no answer, no reset: the request hangs
            kept.get(proxy.url + "/")
    with pytest.raises(httpx.ReadTimeout):
        get(proxy.url, timeout=0.5)
    proxy.restore()
    assert get(proxy.url).status_code == 200
    log = proxy.log_path.read_text() if proxy.log_path else ""
    assert "cut: tracers cannot reach the agent" in log and "restored" in log


def test_latency_delays_the_answer_at_least_that_long(proxy: FaultProxy) -> None:
    proxy.set_latency(300)
    started = time.monotonic()
    assert get(proxy.url).status_code == 200
    assert time.monotonic() - started >= 0.3  # a lower bound the fault guarantees
    proxy.set_latency(0)


def test_an_upstream_that_is_down_resets_the_connection(tmp_path: Path) -> None:
    p = FaultProxy(("127.0.0.1", 9), None)  # the discard port: nobody listens
    p.start()
    try:
        with pytest.raises(httpx.TransportError):
            get(p.url)
    finally:
        p.close()
    p.close()  # idempotent
