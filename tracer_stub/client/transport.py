"""HTTP transports for the RC client: the `Transport` protocol, a real one and a fake.

`HttpTransport` is a minimal HTTP/1.1 client on asyncio streams: one connection per fetcher,
kept alive between polls (dd-trace-go's ``http.Client``) or opened per request
(``keepalive=False``: libdatadog builds a new hyper ``Client`` inside every ``fetch_once`` in
``fetch/fetcher.rs``). It exists because a thousand tracers polling once a second from one
process must cost little CPU; a general client (httpx with a shared pool) spends far more per
request. It speaks only to the agent URL it was given (127.0.0.1 in this project).

`FakeTransport` answers from a queue or a handler function and records every request: the
hand-written fake the unit tests use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from tracer_stub.errors import SettingsError, TransportError

__all__ = ["FakeTransport", "HttpResponse", "HttpTransport", "RecordedRequest", "Transport"]


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """Status, lower-cased headers and body of one HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes


class Transport(Protocol):
    """Something that can POST a body to the agent."""

    async def post(self, path: str, body: bytes, timeout: float) -> HttpResponse:
        """POST `body` to `path`; raise `TransportError` on connection failure or bad HTTP.

        `timeout` is advisory (the driver enforces it on its clock and cancels the call); a
        transport must leave no half-read connection behind when cancelled.
        """
        ...

    async def aclose(self) -> None:
        """Close any open connection."""
        ...


class HttpTransport:
    """Keep-alive HTTP/1.1 over asyncio streams to one base URL (``http://host:port``)."""

    def __init__(self, base_url: str, *, keepalive: bool = True, user_agent: str = "") -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise SettingsError(
                f"agent_url {base_url!r} is not an http://host:port URL "
                "(set RC_STUB_AGENT_URL or DD_TRACE_AGENT_URL)"
            )
        self.host = parts.hostname
        self.port = parts.port or 80
        self.keepalive = keepalive
        self._host_header = f"{self.host}:{self.port}".encode()
        self._user_agent = (user_agent or "rc-fastlane-tracer-stub").encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, timeout: float) -> HttpResponse:
        del timeout  # enforced by the caller on its clock
        head = b"".join(
            (
                b"POST ",
                path.encode(),
                b" HTTP/1.1\r\nHost: ",
                self._host_header,
                b"\r\nUser-Agent: ",
                self._user_agent,
                b"\r\nContent-Type: application/json\r\nContent-Length: ",
                str(len(body)).encode(),
                b"\r\n" if self.keepalive else b"\r\nConnection: close\r\n",
                b"\r\n",
            )
        )
        request = head + body
        reused = self._writer is not None
        try:
            try:
                response = await self._exchange(request)
            except (ConnectionError, asyncio.IncompleteReadError):
                if not reused:
                    raise
                # A kept-alive connection the server closed while idle: retry once on a new one.
                await self.aclose()
                response = await self._exchange(request)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            # ValueError: a status, Content-Length or chunk size that is not a number.
            await self.aclose()
            raise TransportError(f"POST {self._url(path)} failed: {exc!r}") from exc
        except BaseException:
            # Cancelled (timeout, also during the retry) or malformed: the connection state is
            # unknown, drop it so that the next request cannot read this one's answer.
            await self.aclose()
            raise
        if not self.keepalive or response.headers.get("connection", "").lower() == "close":
            await self.aclose()
        return response

    def _url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    async def _exchange(self, request: bytes) -> HttpResponse:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        status_parts = lines[0].split(b" ", 2)
        if len(status_parts) < 2 or not status_parts[0].startswith(b"HTTP/1."):
            raise TransportError(f"malformed HTTP status line from agent: {lines[0]!r}")
        status = int(status_parts[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(reader)
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body = await reader.read()
            headers["connection"] = "close"
        return HttpResponse(status, headers, body)

    async def aclose(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request a `FakeTransport` received."""

    path: str
    body: bytes
    timeout: float


Handler = Callable[[RecordedRequest], Awaitable[HttpResponse] | HttpResponse]


@dataclass
class FakeTransport:
    """A transport for tests: answers queued responses (or calls `handler`), records requests.

    A queued item may be an `HttpResponse` or an exception instance, which is raised. When the
    queue is empty and there is no handler, it answers ``200 {}`` (no change).
    """

    handler: Handler | None = None
    responses: deque[HttpResponse | BaseException] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    closed: bool = False

    def queue(self, *items: HttpResponse | BaseException) -> None:
        self.responses.extend(items)

    async def post(self, path: str, body: bytes, timeout: float) -> HttpResponse:
        request = RecordedRequest(path, body, timeout)
        self.requests.append(request)
        if self.responses:
            item = self.responses.popleft()
            if isinstance(item, BaseException):
                raise item
            return item
        if self.handler is not None:
            result = self.handler(request)
            if isinstance(result, HttpResponse):
                return result
            return await result
        return HttpResponse(200, {}, b"{}")

    async def aclose(self) -> None:
        self.closed = True
