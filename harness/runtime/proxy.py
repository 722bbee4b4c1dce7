"""The fault proxy: a TCP proxy the local runtime puts between the tracers and the agent.

It exists only for network faults (``network_cut``, ``network_latency``): a run without them
gives the tracers the agent's own address. Like toxiproxy (an HTTP-controlled TCP proxy with
``latency`` and ``reset_peer`` toxics), but in the harness's process, on an event loop of its
own in a daemon thread, so that the harness's scraping never delays a byte:

- normal: every connection is piped both ways, byte for byte;
- cut: a black hole. Open connections stop carrying anything (their bytes are dropped, the
  tracer's socket stays open) and stay dead after the cut; new ones are accepted and held,
  their bytes dropped, until the cut ends or the tracer gives up. A tracer's request so hangs
  until its own HTTP timeout, as in a network partition, and as on Docker, where a tracer
  container disconnected from its network waits 10 s for a name resolution that fails (measured:
  ``getaddrinfo`` of the agent's name, ``Temporary failure in name resolution`` after 10.0 s)
  and its open connections die with its old address;
- latency: every chunk from the agent reaches the tracer ``latency_ms`` after it arrived
  (toxiproxy's default ``latency`` toxic is downstream too), each connection in order.

Every change is written to ``log_path`` with its wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import RuntimeErrorBase

T = TypeVar("T")
_CHUNK = 64 * 1024


class FaultProxy:
    """A TCP proxy to ``upstream`` (host, port) listening on 127.0.0.1 (implements the
    runtime's ``AgentLink``). :meth:`start` before use, :meth:`close` after."""

    def __init__(self, upstream: tuple[str, int], log_path: Path | None = None) -> None:
        self.upstream = upstream
        self.log_path = log_path
        self.port = 0
        self.accepted = 0
        self.reset = 0
        self._cut = False
        self._latency_s = 0.0
        self._writers: set[asyncio.StreamWriter] = set()
        self._dead: set[asyncio.StreamWriter] = set()
        """Tracer-side writers of connections a cut went through: they carry nothing more."""
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1 and start forwarding."""
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._log(f"listening on {self.url}, forwarding to {self.upstream[0]}:{self.upstream[1]}")

    def cut(self) -> None:
        """Black-hole every open connection, and every new one until :meth:`restore`."""
        self._call(self._set_cut(True))
        self._log("cut: tracers cannot reach the agent")

    def restore(self) -> None:
        self._call(self._set_cut(False))
        self._log("restored: tracers reach the agent again")

    def set_latency(self, latency_ms: int) -> None:
        self._latency_s = max(0, latency_ms) / 1000.0
        self._log(f"latency of the agent's answers: {latency_ms} ms")

    def close(self) -> None:
        """Stop listening, reset what is open, stop the thread. Idempotent."""
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
        if not self._thread.is_alive():
            self._loop.close()

    # -- the proxy's own loop -----------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10.0)
        except (OSError, TimeoutError) as exc:
            raise RuntimeErrorBase(f"fault proxy to {self.upstream}: {exc}") from None

    async def _set_cut(self, cut: bool) -> None:
        self._cut = cut
        if cut:
            self._dead.update(self._writers)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            self._abort(writer)
        # Let every connection handler end on the running loop (closing its writers there):
        # one left pending would be finalised after the loop is closed.
        handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    def _abort(self, writer: asyncio.StreamWriter) -> None:
        """Close with a reset (SO_LINGER 0), not a graceful FIN."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        self.reset += 1

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        try:
            if self._cut:
                self._dead.add(writer)
                await self._drain_until_closed(reader)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            except OSError:  # the agent is down: the tracer sees its connection reset
                self._abort(writer)
                return
            try:
                await asyncio.gather(
                    self._pipe(reader, up_writer, writer),
                    self._pipe(up_reader, writer, writer, delayed=True),
                )
            finally:
                up_writer.close()
        finally:
            self._writers.discard(writer)
            self._dead.discard(writer)
            writer.close()

    async def _drain_until_closed(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while await reader.read(_CHUNK):
                pass

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tracer: asyncio.StreamWriter,
        *,
        delayed: bool = False,
    ) -> None:
        """Copy ``reader`` to ``writer`` until EOF; once the connection of ``tracer`` is dead
        (a cut), every byte is dropped."""
        try:
            while chunk := await reader.read(_CHUNK):
                if delayed and self._latency_s > 0:
                    await asyncio.sleep(self._latency_s)
                if tracer in self._dead:
                    continue
                if writer.is_closing():
                    return
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof() and tracer not in self._dead:
                writer.write_eof()
        except (OSError, ConnectionError):
            return

    def _log(self, text: str) -> None:
        if self.log_path is None:
            return
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self.log_path.open("a", encoding="utf-8") as fh:
            fh.write(f"{stamp} fault proxy: {text}\n")
