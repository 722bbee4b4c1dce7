"""LeanTransport against a real local socket: GET and POST, Content-Length, chunked and
read-to-close bodies, and httpx's errors for refused, silent and garbled servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from harness.runtime.http import LeanTransport
from harness.runtime.local import free_port

Reply = Callable[[bytes], bytes]
Serve = Callable[[Reply], Awaitable[int]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a one-answer-per-connection server that replies with ``reply(request bytes)``."""
    servers: list[asyncio.Server] = []

    async def start(reply: Reply) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            answer = reply(head + await reader.readexactly(length))
            if answer:
                writer.write(answer)
                await writer.drain()
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()


def client(timeout: float = 2.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=LeanTransport(), timeout=timeout)


async def test_get_and_post_with_a_content_length(serve: Serve) -> None:
    requests: list[bytes] = []

    def reply(request: bytes) -> bytes:
        requests.append(request)
        return b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello"

    port = await serve(reply)
    async with client() as c:
        got = await c.get(f"http://127.0.0.1:{port}/metrics?x=1")
        posted = await c.post(f"http://127.0.0.1:{port}/start", json={"start_at": 1.5})
    assert (got.status_code, got.text, got.headers["x-a"]) == (200, "hello", "b")
    assert posted.status_code == 200
    assert requests[0].startswith(b"GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"Connection: close\r\n" in requests[0]
    assert requests[1].endswith(b'\r\n\r\n{"start_at":1.5}')


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab\n\r\n2\r\ncd\r\n0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\nab\ncd",
    ],
)
async def test_chunked_and_read_to_close_bodies(serve: Serve, answer: bytes) -> None:
    port = await serve(lambda _request: answer)
    async with client() as c:
        assert (await c.get(f"http://127.0.0.1:{port}/")).content == b"ab\ncd"


async def test_errors_are_httpx_errors(serve: Serve) -> None:
    async with client(timeout=0.2) as c:
        with pytest.raises(httpx.ConnectError):
            await c.get(f"http://127.0.0.1:{free_port()}/")
        silent = await serve(lambda _request: b"")
        with pytest.raises(httpx.ReadTimeout):
            await c.get(f"http://127.0.0.1:{silent}/")
        garbled = await serve(lambda _request: b"SPDY/9 what\r\n\r\n")
        with pytest.raises(httpx.RemoteProtocolError, match="malformed status line"):
            await c.get(f"http://127.0.0.1:{garbled}/")
        with pytest.raises(httpx.UnsupportedProtocol):
            await c.get("https://127.0.0.1:1/")
