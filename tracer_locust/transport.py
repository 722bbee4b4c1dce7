"""`tracer_stub.client.transport.Transport` over Locust's gevent HTTP client (``FastHttpSession``).

One session (one connection, ``concurrency=1``) per fetcher, kept alive between polls like
dd-trace-go's ``http.Client``; ``keepalive=False`` sends ``Connection: close`` so that every
poll opens a new connection (libdatadog builds a new client per ``fetch_once``). As the stub's
own `HttpTransport` does, a kept-alive connection the server closed while idle is retried once
on a new one (uvicorn closes idle connections after 5 s, the standard poll interval).

Every poll is one Locust request (``POST``, named ``/v0.7/config [<lane>]``), fired here once
per poll whatever the retries, so that Locust's statistics, CSV and web UI show the RC traffic
per lane; a network failure, a timeout or an HTTP status >= 400 is a Locust failure.

The session catches every network failure and returns a response with status 0 and ``error``
set; those become `TransportError` (or `TimeoutError` when the caller's timeout interrupted the
request), and the session is dropped, so that no half-read connection serves the next poll.
"""

from __future__ import annotations

import time
from typing import Any

import gevent
from geventhttpclient.response import HTTPConnectionClosed
from locust.contrib.fasthttp import FastHttpSession

from tracer_stub.client.transport import HttpResponse
from tracer_stub.errors import TransportError

__all__ = ["LocustTransport"]

#: geventhttpclient's own timeouts stay a backstop behind the driver's request timeout.
_BACKSTOP_S = 5.0


class _Unreported:
    """The session's own request event: silent (`LocustTransport` reports each poll once)."""

    def fire(self, **kwargs: Any) -> None:
        del kwargs


class LocustTransport:
    """POSTs to the agent with a ``FastHttpSession``; reports each poll to `request_event`."""

    def __init__(
        self,
        base_url: str,
        request_event: Any,
        *,
        name: str,
        keepalive: bool = True,
        user_agent: str = "",
        timeout_s: float = 3.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.request_event = request_event
        self.name = name
        self.timeout_s = timeout_s
        self._headers = {
            "Content-Type": "application/json",
            "User-Agent": user_agent or "rc-fastlane-tracer-locust",
        }
        if not keepalive:
            self._headers["Connection"] = "close"
        self._session: FastHttpSession | None = None

    def _new_session(self) -> FastHttpSession:
        backstop = self.timeout_s + _BACKSTOP_S
        return FastHttpSession(
            self.base_url,
            request_event=_Unreported(),
            user=None,
            concurrency=1,
            network_timeout=backstop,
            connection_timeout=backstop,
            max_retries=0,
        )

    async def post(self, path: str, body: bytes, timeout: float) -> HttpResponse:
        del timeout  # enforced by the caller (GeventTasks.wait_for)
        started_wall, started = time.time(), time.perf_counter()
        name = f"{path} [{self.name}]"
        try:
            response = self._exchange(path, body)
        except BaseException as exc:  # timeouts, failures, and a kill: report, then re-raise
            self._report(name, started_wall, started, 0, exc)
            raise
        failure = None if response.status < 400 else TransportError(f"HTTP {response.status}")
        self._report(name, started_wall, started, len(response.body), failure)
        return response

    def _exchange(self, path: str, body: bytes) -> HttpResponse:
        reused = self._session is not None
        response = self._send(path, body)
        if response is None and reused:  # the server closed the idle connection: once more
            response = self._send(path, body)
        if response is None:
            raise TransportError(f"POST {self.base_url}{path}: the agent closed the connection")
        return response

    def _send(self, path: str, body: bytes) -> HttpResponse | None:
        """One attempt; None when a kept-alive connection turned out closed."""
        session = self._session or self._new_session()
        self._session = session
        # FastHttpSession sends bytes as they are (its annotation says str | dict).
        raw = session.request("POST", path, data=body, headers=self._headers)  # type: ignore[arg-type]
        status = int(raw.status_code or 0)
        if status == 0:
            self._session = None
            error = getattr(raw, "error", None)
            # geventhttpclient wraps what ended its (single) try in RetriesExceeded.original.
            error = getattr(error, "original", None) or error
            if isinstance(error, gevent.Timeout | TimeoutError):
                raise TimeoutError(f"POST {self.base_url}{path}: {error!r}")
            if isinstance(error, HTTPConnectionClosed | ConnectionResetError | BrokenPipeError):
                return None
            raise TransportError(f"POST {self.base_url}{path} failed: {error!r}")
        headers = {str(k).lower(): str(v) for k, v in (raw.headers or {}).items()}
        if headers.get("connection", "").lower() == "close":
            self._session = None
        return HttpResponse(status, headers, bytes(raw.content or b""))

    def _report(
        self,
        name: str,
        started_wall: float,
        started: float,
        length: int,
        exception: BaseException | None,
    ) -> None:
        if isinstance(exception, gevent.Timeout):
            exception = TimeoutError(f"timed out: {exception}")
        elif exception is not None and not isinstance(exception, Exception):
            return  # the greenlet is being killed (the tracer stops): not a poll's outcome
        self.request_event.fire(
            request_type="POST",
            name=name,
            response_time=(time.perf_counter() - started) * 1000.0,
            response_length=length,
            exception=exception,
            context={},
            start_time=started_wall,
            url=self.base_url + name.split(" ", 1)[0],
        )

    async def aclose(self) -> None:
        self._session = None
