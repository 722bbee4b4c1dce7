"""`poll_until` and `apoll_until`: the one wait helper of the whole project.

Every "wait until X" (a service answering /health, a tracer settling, a container starting)
goes through these two functions; nobody writes their own sleep loop.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from rc_protocol.clock import Clock, SystemClock
from rc_protocol.errors import WaitTimeout

__all__ = ["WaitTimeout", "apoll_until", "poll_until"]

T = TypeVar("T")

_NO_EXCEPTIONS: tuple[type[BaseException], ...] = ()


def _is_value(result: object) -> bool:
    return result is not None and result is not False


def _timeout_error(
    what: str, timeout: float, attempts: int, last_error: BaseException | None
) -> WaitTimeout:
    detail = f"; last error: {last_error!r}" if last_error is not None else ""
    return WaitTimeout(
        f"timed out after {timeout:g} s ({attempts} attempts) waiting for {what}{detail}"
    )


def poll_until(
    check: Callable[[], T | None],
    *,
    timeout: float,
    interval: float,
    what: str,
    ignore: tuple[type[BaseException], ...] = _NO_EXCEPTIONS,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `check()` until it returns something other than ``None`` or ``False``; return it.

    `check` runs at least once, then every `interval` seconds, and a last time at the deadline.
    Exceptions listed in `ignore` count as "not yet" (the last one is chained to the timeout);
    any other exception propagates at once.

    Raises:
        WaitTimeout: after `timeout` seconds, naming `what`.
    """
    deadline = monotonic() + timeout
    attempts = 0
    last_error: BaseException | None = None
    while True:
        attempts += 1
        try:
            result = check()
        except ignore as exc:
            last_error = exc
        else:
            if _is_value(result):
                return result  # type: ignore[return-value]
        remaining = deadline - monotonic()
        if remaining <= 0:
            raise _timeout_error(what, timeout, attempts, last_error) from last_error
        sleep(min(interval, remaining))


async def apoll_until(
    check: Callable[[], T | Awaitable[T | None] | None],
    *,
    timeout: float,
    interval: float,
    what: str,
    ignore: tuple[type[BaseException], ...] = _NO_EXCEPTIONS,
    clock: Clock | None = None,
) -> T:
    """Async `poll_until`: `check` may be a plain or an async callable; time is `clock`'s.

    Raises:
        WaitTimeout: after `timeout` seconds of `clock` time, naming `what`.
    """
    clk = clock if clock is not None else SystemClock()
    deadline = clk.monotonic() + timeout
    attempts = 0
    last_error: BaseException | None = None
    while True:
        attempts += 1
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
        except ignore as exc:
            last_error = exc
        else:
            if _is_value(result):
                return result  # type: ignore[return-value]
        remaining = deadline - clk.monotonic()
        if remaining <= 0:
            raise _timeout_error(what, timeout, attempts, last_error) from last_error
        await clk.sleep(min(interval, remaining))
