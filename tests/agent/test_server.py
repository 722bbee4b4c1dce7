"""The agent's own HTTP server over real sockets: keep-alive, GET with a body, chunked bodies,
pipelining in order, 413/400 then close, 404/405, Expect: 100-continue, HTTP/1.0, graceful stop,
the accept queue; and the same answers as the FastAPI app for the same bodies."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agent.app import build_endpoints, create_app
from agent.backend_client import FakeBackend
from agent.endpoints import Endpoints
from agent.server import GO_SOMAXCONN_FALLBACK, AgentServer, listen_backlog
from agent.settings import Settings
from rc_protocol.clock import SystemClock
from rc_protocol.wire import encode_request
from tests.agent.conftest import FFE_PATH, Catalogue, request

LIMIT = 4096


def make_endpoints() -> Endpoints:
    clock = SystemClock()
    settings = Settings(refresh_spacing_s=0.0, max_body_bytes=LIMIT, new_client_block_ttl_s=0.05)
    return build_endpoints(settings, clock, FakeBackend(Catalogue(), clock))


@pytest.fixture
async def server() -> AsyncIterator[tuple[AgentServer, int]]:
    endpoints = make_endpoints()
    srv = AgentServer(endpoints)
    port = await srv.start("127.0.0.1", 0, backlog=16)
    endpoints.start()
    while endpoints.service.store.targets_version == 0:  # the start-up refresh
        await asyncio.sleep(0.01)
    yield srv, port
    await srv.stop()
    await endpoints.stop()


class Conn:
    """A raw HTTP/1.1 connection that reads one answer at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    def send(self, raw: bytes) -> None:
        self.writer.write(raw)

    async def answer(self) -> tuple[int, dict[str, str], bytes]:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
        body = await self.reader.readexactly(int(headers["content-length"]))
        return int(lines[0].split()[1]), headers, body

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(), 5) == b""


def post(body: bytes, method: str = "POST", path: str = "/v0.7/config", extra: str = "") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: agent\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


async def test_keep_alive_serves_a_new_client_then_its_up_to_date_poll(
    server: tuple[AgentServer, int],
) -> None:
    _, port = server
    conn = await Conn.open(port)
    conn.send(post(encode_request(request(1))))
    status, headers, body = await conn.answer()
    doc = json.loads(body)
    assert status == 200 and headers["content-type"] == "application/json"
    assert doc["client_configs"] == [FFE_PATH]
    version = json.loads(base64.b64decode(doc["targets"]))["signed"]["version"]
    conn.send(post(encode_request(request(1, targets_version=version)), method="GET"))
    assert await conn.answer() == (200, {"content-type": "application/json",
                                        "content-length": "2"}, b"{}")  # fmt: skip


async def test_pipelined_requests_are_answered_in_order(server: tuple[AgentServer, int]) -> None:
    _, port = server
    conn = await Conn.open(port)
    # a new client (it waits for its bypass), then /health (answered at once): order is kept
    conn.send(post(encode_request(request(7))) + b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n")
    first, second = await conn.answer(), await conn.answer()
    assert json.loads(first[2])["client_configs"] == [FFE_PATH]
    assert second[2] == b'{"status": "ok"}'


async def test_a_chunked_body_is_read_whole(server: tuple[AgentServer, int]) -> None:
    _, port = server
    body = encode_request(request(2))
    half = len(body) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:half], body[half:]))
    conn = await Conn.open(port)
    conn.send(b"POST /v0.7/config HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
              + chunks + b"0\r\n\r\n")  # fmt: skip
    status, _, answer = await conn.answer()
    assert status == 200 and json.loads(answer)["client_configs"] == [FFE_PATH]


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_over_the_limit_is_413_then_the_connection_closes(
    server: tuple[AgentServer, int], chunked: bool
) -> None:
    srv, port = server
    conn = await Conn.open(port)
    big = b" " * (LIMIT + 1)
    if chunked:
        conn.send(b"POST /v0.7/config HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big))  # fmt: skip
    else:
        conn.send(post(big))
    status, headers, body = await conn.answer()
    assert status == 413 and "larger than 4096 bytes" in json.loads(body)["error"]
    assert headers["connection"] == "close" and await conn.closed()
    text = srv.endpoints.metrics.render().decode()
    assert 'agent_rc_requests_total{lane="standard",outcome="error_too_large"} 1.0' in text


async def test_a_malformed_request_is_400_then_closed_and_the_server_goes_on(
    server: tuple[AgentServer, int],
) -> None:
    _, port = server
    conn = await Conn.open(port)
    conn.send(b"NOT HTTP AT ALL\r\n\r\n")
    status, _, body = await conn.answer()
    assert status == 400 and "malformed" in json.loads(body)["error"] and await conn.closed()
    again = await Conn.open(port)
    again.send(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (await again.answer())[0] == 200


async def test_unknown_paths_and_methods(server: tuple[AgentServer, int]) -> None:
    _, port = server
    conn = await Conn.open(port)
    conn.send(b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (await conn.answer())[0] == 404
    conn.send(b"DELETE /v0.7/config HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (await conn.answer())[0] == 405
    conn.send(post(b"[]", path="/evp_proxy/v2/api/v2/exposures"))
    assert (await conn.answer())[0] == 202


async def test_expect_continue_and_http_1_0(server: tuple[AgentServer, int]) -> None:
    _, port = server
    conn = await Conn.open(port)
    body = encode_request(request(3))
    conn.send(post(body, extra="Expect: 100-continue\r\n")[: -len(body)])  # the head alone
    assert await asyncio.wait_for(conn.reader.readuntil(b"\r\n\r\n"), 5) == (
        b"HTTP/1.1 100 Continue\r\n\r\n"
    )
    conn.send(body)
    assert (await conn.answer())[0] == 200
    old = await Conn.open(port)
    old.send(b"GET /health HTTP/1.0\r\n\r\n")
    status, headers, _ = await old.answer()
    assert status == 200 and headers["connection"] == "close" and await old.closed()


async def test_stop_lets_a_waiting_request_finish() -> None:
    clock = SystemClock()
    backend = FakeBackend(Catalogue(), clock, gate=asyncio.Event())  # the refresh never ends
    endpoints = build_endpoints(Settings(new_client_block_ttl_s=0.3), clock, backend)
    srv = AgentServer(endpoints)
    port = await srv.start("127.0.0.1", 0, backlog=16)
    endpoints.start()
    conn = await Conn.open(port)
    conn.send(post(encode_request(request(9))))  # a new client: its bypass waits 0.3 s
    await asyncio.sleep(0.05)
    stopping = asyncio.create_task(srv.stop())
    status, headers, body = await conn.answer()
    await stopping
    assert (status, body, headers["connection"]) == (200, b"{}", "close")
    assert backend.gate is not None
    backend.gate.set()
    await endpoints.stop()


def test_listen_backlog_is_somaxconn_by_default(tmp_path: Path) -> None:
    somaxconn = tmp_path / "somaxconn"
    somaxconn.write_text("8192\n")
    assert listen_backlog(0, somaxconn) == 8192
    assert listen_backlog(100, somaxconn) == 100
    assert listen_backlog(0, tmp_path / "absent") == GO_SOMAXCONN_FALLBACK


BODIES = [
    encode_request(request(20)),
    encode_request(request(21, ["APM_TRACING"]), bytes_as="array"),
    b"{not json",
    b'{"client": {"id": 5}}',
    b"{}",
    b"",
    b" " * (LIMIT + 1),
]


async def test_the_server_and_the_asgi_app_give_the_same_answers(
    server: tuple[AgentServer, int],
) -> None:
    _, port = server
    app_endpoints = make_endpoints()
    app = create_app(app_endpoints.settings, app_endpoints.clock, FakeBackend(Catalogue(),
                     app_endpoints.clock))  # fmt: skip
    async with app.router.lifespan_context(app):
        while app.state.service.store.targets_version == 0:
            await asyncio.sleep(0.01)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
            for body in BODIES:
                conn = await Conn.open(port)
                conn.send(post(body))
                status, _, answer = await conn.answer()
                asgi = await client.post("/v0.7/config", content=body)
                assert (status, _normal(answer)) == (asgi.status_code, _normal(asgi.content))
            for path in ("/info", "/health", "/nope"):
                conn = await Conn.open(port)
                conn.send(f"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
                status, _, answer = await conn.answer()
                asgi = await client.get(path)
                assert (status, answer) == (asgi.status_code, asgi.content)


def _normal(body: bytes) -> object:
    """The answer without what differs between two agents (targets signed at their start)."""
    doc = json.loads(body)
    if isinstance(doc, dict):
        doc.pop("targets", None)
    return doc
