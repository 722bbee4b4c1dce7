"""The keep-alive HTTP/1.1 transport against a real socket server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tracer_stub.client.transport import HttpTransport
from tracer_stub.errors import SettingsError, TransportError

Reply = Callable[[bytes], Awaitable[bytes | None]]


class Server:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.bodies: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                self.bodies.append(body)
                answer = await self.reply(body)
                if answer is None:
                    break  # close without answering
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Reply], Awaitable[Server]]]:
    servers: list[Server] = []

    async def start(reply: Reply) -> Server:
        s = Server(reply)
        s.server = await asyncio.start_server(s.handle, "127.0.0.1", 0)
        servers.append(s)
        return s

    yield start
    for s in servers:
        assert s.server is not None
        s.server.close()


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


@pytest.mark.e2e
async def test_keepalive_reuses_one_connection(serve: Callable[[Reply], Awaitable[Server]]) -> None:
    async def reply(body: bytes) -> bytes:
        return ok(b"{}")

    server = await serve(reply)
    t = HttpTransport(server.url)
    for i in range(3):
        r = await t.post("/v0.7/config", b'{"n":%d}' % i, 3.0)
        assert (r.status, r.body) == (200, b"{}")
    assert server.connections == 1
    assert server.bodies == [b'{"n":0}', b'{"n":1}', b'{"n":2}']
    await t.aclose()


@pytest.mark.e2e
async def test_without_keepalive_each_request_has_its_own_connection(
    serve: Callable[[Reply], Awaitable[Server]],
) -> None:
    async def reply(body: bytes) -> bytes:
        return ok(b"{}", b"Connection: close\r\n")

    server = await serve(reply)
    t = HttpTransport(server.url, keepalive=False)
    await t.post("/v0.7/config", b"{}", 3.0)
    await t.post("/v0.7/config", b"{}", 3.0)
    assert server.connections == 2


@pytest.mark.e2e
async def test_chunked_body_headers_and_status(serve: Callable[[Reply], Awaitable[Server]]) -> None:
    async def reply(body: bytes) -> bytes:
        return (
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )

    server = await serve(reply)
    t = HttpTransport(server.url)
    r = await t.post("/v0.7/config", b"{}", 3.0)
    assert (r.status, r.headers["retry-after"], r.body) == (429, "7", b"abcde")
    await t.aclose()


@pytest.mark.e2e
async def test_idle_connection_closed_by_the_server_is_retried_once(
    serve: Callable[[Reply], Awaitable[Server]],
) -> None:
    calls = 0

    async def reply(body: bytes) -> bytes | None:
        nonlocal calls
        calls += 1
        return None if calls == 2 else ok(b"{}")  # the 2nd request finds a dead connection

    server = await serve(reply)
    t = HttpTransport(server.url)
    await t.post("/v0.7/config", b"{}", 3.0)
    r = await t.post("/v0.7/config", b"{}", 3.0)
    assert r.status == 200 and server.connections == 2
    await t.aclose()


async def test_refused_connection_is_a_transport_error() -> None:
    t = HttpTransport("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(TransportError, match=r"127\.0\.0\.1:9"):
        await t.post("/v0.7/config", b"{}", 1.0)


@pytest.mark.parametrize("url", ["https://127.0.0.1:8126", "127.0.0.1:8126", "http://"])
def test_bad_agent_url_names_the_setting(url: str) -> None:
    with pytest.raises(SettingsError, match="DD_TRACE_AGENT_URL"):
        HttpTransport(url)


@pytest.mark.e2e
async def test_timeout_during_the_retry_drops_the_connection(
    serve: Callable[[Reply], Awaitable[Server]],
) -> None:
    calls = 0
    late = asyncio.Event()

    async def reply(body: bytes) -> bytes | None:
        nonlocal calls
        calls += 1
        if calls == 2:
            return None  # the kept-alive connection is dead: the transport retries
        if calls == 3:
            await late.wait()  # the retry's answer comes after the caller gave up
            return ok(b'{"late":true}')
        return ok(b"{}")

    server = await serve(reply)
    t = HttpTransport(server.url)
    await t.post("/v0.7/config", b"{}", 3.0)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(t.post("/v0.7/config", b"{}", 0.2), 0.2)
    late.set()
    # A half-read connection would hand this request the retry's late answer.
    r = await t.post("/v0.7/config", b"{}", 3.0)
    assert (r.status, r.body) == (200, b"{}")
    assert server.connections == 3
    await t.aclose()


@pytest.mark.e2e
@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
async def test_malformed_numbers_in_the_answer_are_a_transport_error(
    serve: Callable[[Reply], Awaitable[Server]], answer: bytes
) -> None:
    async def reply(body: bytes) -> bytes:
        return answer

    server = await serve(reply)
    t = HttpTransport(server.url)
    with pytest.raises(TransportError, match=r"POST http://127\.0\.0\.1:\d+/v0\.7/config failed"):
        await t.post("/v0.7/config", b"{}", 3.0)
    assert t._writer is None  # dropped, not reused
