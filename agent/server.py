"""The agent's HTTP/1.1 server: ``asyncio.Protocol`` + httptools, serving :class:`Endpoints`.

Why not uvicorn and FastAPI: a thousand tracers polling every 500 ms is 2,000 requests a second
to one Python process. Measured with ``benchmarks/agent_throughput.py`` (one pinned core), the
FastAPI app on uvicorn spent about 400 us of CPU per up-to-date request, two thirds of it in the
ASGI layers (middleware, request and response objects, routing) around 15 % of model code;
the agent then measured its own overload instead of the design under test. This server parses
with the same C parser uvicorn uses (httptools), routes with one dict lookup, writes each answer
with one ``transport.write``, and answers a request the service can serve at once (most of a
fleet's polls) inside ``data_received``, without a task.

HTTP it speaks: keep-alive (HTTP/1.1 default, ``Connection: close``, HTTP/1.0), bodies by
``Content-Length`` or chunked, a body on GET (dd-trace-go), ``Expect: 100-continue``, pipelined
requests (answered in order; reading pauses while one waits). A body larger than
``max_body_bytes`` gets 413 and the connection is closed; a request httptools cannot parse gets
400 and the connection is closed. Anything the endpoints do not know is 404/405.

The listening socket's accept queue is ``listen_backlog``, by default the kernel's
``net.core.somaxconn`` as Go's ``net.Listen`` uses for the real trace-agent: a boot storm opens
thousands of connections at once, and a full accept queue drops connection attempts (their
clients retry SYNs after 1, 3, 7 s) whatever the server's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable
from http import HTTPStatus
from pathlib import Path
from typing import cast

import httptools

from agent.endpoints import Answer, Endpoints, error_answer

log = logging.getLogger("agent.server")

SOMAXCONN_FILE = Path("/proc/sys/net/core/somaxconn")
GO_SOMAXCONN_FALLBACK = 4096
"""Go's ``syscall.SOMAXCONN`` on linux, used by ``net.Listen`` when somaxconn cannot be read."""


def listen_backlog(setting: int, somaxconn_file: Path = SOMAXCONN_FILE) -> int:
    """The accept queue to ask for: the setting, or (0) somaxconn as Go reads it.

    >>> listen_backlog(128)
    128
    """
    if setting > 0:
        return setting
    try:
        value = int(somaxconn_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return GO_SOMAXCONN_FALLBACK
    return min(max(value, 1), 65535)  # Go caps it at the kernel's uint16 for old kernels


_HEADS: dict[tuple[int, str, int, bool], bytes] = {}


def _head(status: int, content_type: str, length: int, close: bool) -> bytes:
    key = (status, content_type, length, close)
    head = _HEADS.get(key)
    if head is None:
        if len(_HEADS) > 4096:
            _HEADS.clear()
        head = _HEADS[key] = _format_head(status, content_type, length, close)
    return head


def _format_head(status: int, content_type: str, length: int, close: bool) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    connection = "Connection: close\r\n" if close else ""
    return (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n{connection}\r\n"
    ).encode("latin-1")


class _Request:
    __slots__ = ("body", "keep_alive", "method", "path")

    def __init__(self, method: str, path: str, body: bytes | None, keep_alive: bool) -> None:
        self.method = method
        self.path = path
        self.body = body
        self.keep_alive = keep_alive


class _Connection(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: AgentServer) -> None:
        self.server = server
        self.limit = server.endpoints.settings.max_body_bytes
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.closing = False
        self.busy = False
        self.queue: deque[_Request] = deque()
        self._url = b""
        self._parts: list[bytes] = []
        self._size = 0
        self._too_large = False
        self._expect_continue = False

    # ---- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reject(error_answer(400, "protocol upgrades are not supported"))
            return
        except httptools.HttpParserError as exc:
            self._reject(error_answer(400, f"malformed HTTP request: {exc}"))
            return
        self._drain()

    # ---- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._parts = []
        self._size = 0
        self._too_large = False
        self._expect_continue = False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower == b"content-length":
            if value.strip().isdigit() and int(value) > self.limit:
                self._too_large = True
        elif lower == b"expect" and value.strip().lower() == b"100-continue":
            self._expect_continue = True

    def on_headers_complete(self) -> None:
        if self._too_large:
            self._reject(self._answer_too_large())
        elif self._expect_continue and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        if self.closing:
            return
        self._size += len(body)
        if self._size > self.limit:
            self._reject(self._answer_too_large())
            return
        self._parts.append(body)

    def on_message_complete(self) -> None:
        if self.closing:
            return
        path = self._url.split(b"?", 1)[0].decode("latin-1")
        body = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        method = self.parser.get_method().decode("latin-1")
        self.queue.append(_Request(method, path, body, self.parser.should_keep_alive()))

    # ---- serving ---------------------------------------------------------------------------

    def _drain(self) -> None:
        while self.queue and not self.busy and not self.closing:
            request = self.queue.popleft()
            handler = self.server.endpoints.find(request.method, request.path)
            if isinstance(handler, Answer):
                self._write(handler, request.keep_alive)
                continue
            try:
                result = handler(request.path, request.body)
            except Exception as exc:  # a bug in an endpoint: answered, and the server goes on
                log.exception("endpoint %s %s raised", request.method, request.path)
                result = error_answer(500, f"internal error: {exc!r}")
            if isinstance(result, Answer):
                self._write(result, request.keep_alive)
            else:
                self.busy = True
                if self.transport is not None:
                    self.transport.pause_reading()
                self.server.spawn(self._finish(result, request))

    async def _finish(self, pending: Awaitable[Answer], request: _Request) -> None:
        try:
            answer = await pending
        except Exception as exc:
            log.exception("endpoint %s %s raised", request.method, request.path)
            answer = error_answer(500, f"internal error: {exc!r}")
        self.busy = False
        if self.closing:
            return
        self._write(answer, request.keep_alive)
        if not self.closing and self.transport is not None:
            self.transport.resume_reading()
            self._drain()

    def _write(self, answer: Answer, keep_alive: bool) -> None:
        transport = self.transport
        if transport is None or self.closing:
            return
        close = not keep_alive or self.server.stopping
        head = _head(answer.status, answer.content_type, len(answer.body), close)
        transport.write(head + answer.body)
        if close:
            self.closing = True
            transport.close()

    def _answer_too_large(self) -> Answer:
        if self._url.split(b"?", 1)[0] == b"/v0.7/config":
            answer = self.server.endpoints.config(None)  # counted: error_too_large
            if isinstance(answer, Answer):
                return answer
        return error_answer(413, f"request body larger than {self.limit} bytes")

    def _reject(self, answer: Answer) -> None:
        """Answer and close: the rest of the connection cannot be read as requests."""
        self.queue.clear()
        self._write(answer, keep_alive=False)
        self.closing = True

    def close_if_idle(self) -> None:
        if not self.busy and not self.queue and self.transport is not None:
            self.closing = True
            self.transport.close()


class AgentServer:
    """Listens on ``host:port`` and serves :class:`Endpoints` until :meth:`stop`."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self.connections: set[_Connection] = set()
        self.stopping = False
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int, backlog: int) -> int:
        """Listen; return the bound port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), host, port, backlog=backlog, reuse_address=True
        )
        return int(self._server.sockets[0].getsockname()[1])

    def spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop listening, let requests in progress finish (up to ``grace_s``), close."""
        self.stopping = True
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close_if_idle()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_s)
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=grace_s)
