"""The body limit middleware, on a tiny ASGI app that echoes the body it was handed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from fake_backend.limits import BodyLimit, Message, Receive, Scope, Send


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def client(limit: int) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=BodyLimit(echo, limit))
    return httpx.AsyncClient(transport=transport, base_url="http://app")


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_a_body_within_the_limit_reaches_the_app_unchanged() -> None:
    async with client(10) as c:
        answer = await c.post("/", content=b"0123456789")
    assert (answer.status_code, answer.content) == (200, b"0123456789")


async def test_a_declared_length_over_the_limit_is_413_before_reading() -> None:
    async with client(10) as c:
        answer = await c.post("/", content=b"x" * 11)
    assert answer.status_code == 413
    assert b"larger than 10 bytes" in answer.content


async def test_a_streamed_body_without_length_is_cut_at_the_limit() -> None:
    async with client(10) as c:
        answer = await c.post("/", content=chunks(b"x" * 6, b"y" * 6))
        fits = await c.post("/", content=chunks(b"x" * 5, b"y" * 5))
    assert answer.status_code == 413
    assert (fits.status_code, fits.content) == (200, b"xxxxxyyyyy")


async def test_a_client_that_leaves_gets_nothing_and_the_app_is_not_called() -> None:
    called: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        called.append({"scope": scope})

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await BodyLimit(app, 10)({"type": "http", "headers": []}, receive, send)
    assert (called, sent) == ([], [])
