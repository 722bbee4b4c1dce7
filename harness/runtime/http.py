"""The harness's HTTP client transport to its components: one request per connection, no more.

The harness scrapes every tracer process twice a second; with a 1,000-tracer fleet that is 80
requests a second, on the machine the run measures. httpx's default transport (httpcore and
h11, pure Python) spent about 2.5 ms of CPU per scrape of a 25-tracer stub here, against about
0.5 ms for this one, which speaks just the HTTP/1.1 the components answer: a request line,
``Host``, ``Content-Length`` and ``Connection: close``, and a response read to its
``Content-Length`` (or to the end of the connection). It stays an httpx transport, so callers
keep httpx's API and errors (``httpx.HTTPError`` and its subclasses) and the in-memory runtime
keeps its own transport.

Timeouts come from the request (``httpx.Timeout``): the connect timeout bounds the connection,
the read timeout the whole exchange after it.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

__all__ = ["LeanTransport"]


def _timeouts(request: httpx.Request) -> tuple[float | None, float | None]:
    timeout = request.extensions.get("timeout", {})
    return timeout.get("connect"), timeout.get("read")


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over a fresh asyncio connection per request (``http://`` only)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            raise httpx.UnsupportedProtocol(
                f"only http:// is supported: {request.url}", request=request
            )
        connect_s, read_s = _timeouts(request)
        host, port = request.url.host, request.url.port or 80
        try:
            async with asyncio.timeout(connect_s):
                reader, writer = await asyncio.open_connection(host, port)
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"connecting to {host}:{port} timed out", request=request
            ) from None
        except OSError as exc:
            raise httpx.ConnectError(
                f"cannot connect to {host}:{port}: {exc}", request=request
            ) from None
        try:
            async with asyncio.timeout(read_s):
                return await self._exchange(request, reader, writer)
        except TimeoutError:
            raise httpx.ReadTimeout(
                f"no answer from {request.url} in time", request=request
            ) from None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise httpx.ReadError(f"{request.url}: {exc!r}", request=request) from None
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _exchange(
        self, request: httpx.Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> httpx.Response:
        body = await request.aread()
        target = request.url.raw_path.decode("ascii")
        head = [f"{request.method} {target} HTTP/1.1", f"Host: {request.url.netloc.decode()}"]
        for name, value in request.headers.items():
            if name.lower() not in ("host", "connection", "content-length"):
                head.append(f"{name}: {value}")
        head += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
        writer.write("\r\n".join(head).encode("latin-1") + body)
        raw_head = await reader.readuntil(b"\r\n\r\n")
        lines = raw_head[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise httpx.RemoteProtocolError(
                f"{request.url}: malformed status line {lines[0]!r}", request=request
            )
        headers = [tuple(line.split(":", 1)) for line in lines[1:] if ":" in line]
        pairs = [(k.strip(), v.strip()) for k, v in headers]
        fields = {k.lower(): v for k, v in pairs}
        if "content-length" in fields:
            content = await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            content = await _chunked(reader)
            pairs = [(k, v) for k, v in pairs if k.lower() != "transfer-encoding"]
        else:
            content = await reader.read()
        return httpx.Response(int(parts[1]), headers=pairs, content=content, request=request)


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
