"""Unbuffered channels in asyncio: Go's ``make(chan chan<- struct{})`` for the bypass hand-off.

The real agent hands a bypass request to its poll loop over ``refreshBypassCh``, an
**unbuffered** channel (``Start()`` in ``service.go``). Go semantics reproduced here:

- a send completes only when a receiver takes the value: either the poll loop is currently
  parked in its ``select`` (the send completes at once), or the sender blocks in a FIFO queue
  until the loop comes back to its ``select`` and takes the first waiting sender;
- while the loop is busy (a refresh is running, or it is sleeping for the 1 s spacing), every
  sender blocks;
- a sender gives up after its timeout (``case <-s.clock.After(newClientBlockTTL)``) and leaves
  the queue; a hand-off that happened is never undone; with no time at all (a budget of 0) it
  hands off only to a receiver waiting right now;
- several channels in one ``select`` (the fastlane policy's two bypass channels): when senders
  wait on more than one, the loop takes them in the channels' priority order (fast lane first,
  proposal B2). Go's ``select`` would pick at random; the proposal asks for priority.
- when the loop's timer and a waiting sender are ready at the same instant Go picks at random;
  this model always takes the sender (the case needs both at the same clock reading).

:meth:`Rendezvous.put` is a buffered put (never blocks), used only by the single-flight design
alternative (:mod:`agent.bypass`).

Times are on the injected clock (``rc_protocol.clock.wait_for``), so tests never sleep.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rc_protocol.clock import Clock, wait_for

T = TypeVar("T")


@dataclass(eq=False)
class _Sender(Generic[T]):
    value: T
    delivered: asyncio.Future[None] = field(repr=False)
    taken: bool = False


class Rendezvous(Generic[T]):
    """A set of unbuffered channels read by one receiver (the poll loop) with priorities."""

    def __init__(self, clock: Clock, channels: Sequence[str]) -> None:
        if not channels:
            raise ValueError("Rendezvous needs at least one channel name")
        self._clock = clock
        self._priority = list(channels)
        self._queues: dict[str, deque[_Sender[T]]] = {name: deque() for name in channels}
        self._receiver: asyncio.Future[tuple[str, T]] | None = None

    @property
    def channels(self) -> list[str]:
        """Channel names, highest priority first."""
        return list(self._priority)

    @property
    def receiver_waiting(self) -> bool:
        """True while the receiver is parked in its select (a send would complete at once)."""
        return self._receiver is not None and not self._receiver.done()

    def waiting_senders(self, channel: str | None = None) -> int:
        """Number of blocked senders on ``channel`` (all channels when ``None``)."""
        if channel is not None:
            return len(self._queues[channel])
        return sum(len(q) for q in self._queues.values())

    def offer(self, channel: str, value: T) -> bool:
        """Hand ``value`` over only if the receiver waits right now (a send with no time)."""
        receiver = self._receiver
        if receiver is not None and not receiver.done():
            receiver.set_result((channel, value))
            self._receiver = None
            return True
        return False

    async def send(self, channel: str, value: T, timeout: float) -> bool:
        """Send ``value`` on ``channel``; True once a receiver took it, False on timeout."""
        queue = self._queues[channel]
        if self.offer(channel, value):
            return True
        if timeout <= 0:
            return False  # nobody waits and no time to wait: the select's timer wins
        sender = _Sender(value, asyncio.get_running_loop().create_future())
        queue.append(sender)
        try:
            await wait_for(self._clock, asyncio.shield(sender.delivered), timeout)
        except TimeoutError:
            if sender.taken:
                return True
            queue.remove(sender)
            return False
        except asyncio.CancelledError:
            if not sender.taken:
                queue.remove(sender)
            raise
        return True

    def put(self, channel: str, value: T) -> None:
        """Put ``value`` on ``channel`` without blocking (a buffered hand-off; unlike
        :meth:`offer`, which hands over only to a receiver waiting right now).

        Not the real agent's channel: the single-flight alternative (:mod:`agent.bypass`)
        queues its shared request here. The receiver takes it at once when it is parked in its
        select, else at its next select, in the channels' priority order; it never times out.
        """
        if not self.offer(channel, value):
            self._queues[channel].append(_Sender(value, asyncio.get_running_loop().create_future()))

    def try_receive(self) -> tuple[str, T] | None:
        """Take the first waiting sender in priority order, without blocking."""
        for name in self._priority:
            queue = self._queues[name]
            if queue:
                sender = queue.popleft()
                sender.taken = True
                sender.delivered.set_result(None)
                return name, sender.value
        return None

    async def receive(self, timeout: float) -> tuple[str, T] | None:
        """The poll loop's select: a ``(channel, value)`` or ``None`` when ``timeout`` fires."""
        ready = self.try_receive()
        if ready is not None:
            return ready
        if self._receiver is not None:
            raise RuntimeError("Rendezvous.receive: only one receiver may wait at a time")
        fut: asyncio.Future[tuple[str, T]] = asyncio.get_running_loop().create_future()
        self._receiver = fut
        try:
            return await wait_for(self._clock, asyncio.shield(fut), timeout)
        except TimeoutError:
            return fut.result() if fut.done() else None
        finally:
            if self._receiver is fut:
                self._receiver = None
            if not fut.done():
                fut.cancel()
