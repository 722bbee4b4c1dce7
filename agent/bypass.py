"""What a new client hands to the poll loop, and the single-flight alternative.

The real agent (``ClientGetConfigs`` in ``service.go``): every new client hands its own response
channel to the poll loop over the unbuffered ``refreshBypassCh`` and waits for it to be closed;
the loop spends one limiter token per hand-off, whether or not a refresh is already running. A
:class:`BypassRequest` with one rider is that hand-off.

``bypass_single_flight`` (a design alternative, not in the real agent nor the proposal) turns the
hand-off into a shared refresh, as Go's ``singleflight.Group`` shares one call among callers:

- a new client whose bypass would follow a channel on which a refresh is **in flight** rides that
  refresh, provided the refresh will carry the client's products: it has not yet collected the
  active clients (the client was marked ``seen`` before it joined, so it will be collected), or
  every product of the client was among the products it collected;
- otherwise it rides the **pending** request of that channel (queued for the poll loop, not yet
  taken), creating it when there is none: the first rider offers it to the loop without
  blocking (a buffered hand-off: the request waits in the channel until the loop takes it);
- every rider waits for the shared ``done`` within its own block budget;
- the poll loop takes one request, spends **one** limiter token for it (the limiter counts
  refreshes, not clients), and completes it for every rider at once.

Why one might ship it: at fleet boot the unbuffered channel refuses every hand-off while a refresh
runs (and during the 1 s spacing), so most new clients wait out their whole block budget and are
served from the cache they would have got at once; the limiter's 5 tokens go to the first 5
clients instead of to 5 refreshes. Cost: at most one queued refresh per channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.policy import Lane


@dataclass(eq=False)
class BypassRequest:
    """A bypass handed to the poll loop: the channel it was sent on and its response.

    ``riders`` holds the lane label of every client waiting on ``done`` (one for the real
    agent's hand-off). ``collected`` and ``covered`` are set by the refresh it triggers when it
    collects the active clients' products (single-flight uses them to decide who may join).
    """

    channel: str
    done: asyncio.Future[None]
    riders: list[Lane] = field(default_factory=list)
    collected: bool = False
    covered: frozenset[str] = frozenset()

    def covers(self, products: Iterable[str]) -> bool:
        """Whether the refresh of this request will carry ``products`` (see the module doc)."""
        return not self.collected or all(p in self.covered for p in products)


class SingleFlight:
    """The pending and in-flight bypass request of each channel (``bypass_single_flight``)."""

    def __init__(self) -> None:
        self.pending: dict[str, BypassRequest] = {}
        self.in_flight: dict[str, BypassRequest] = {}

    def join(self, channel: str, lane: Lane, products: Iterable[str]) -> tuple[BypassRequest, bool]:
        """The request a new client of ``lane`` rides, and whether it is new (to be offered)."""
        products = tuple(products)
        current = self.in_flight.get(channel)
        if current is not None and not current.done.done() and current.covers(products):
            current.riders.append(lane)
            return current, False
        pending = self.pending.get(channel)
        if pending is not None and not pending.done.done():
            pending.riders.append(lane)
            return pending, False
        created = BypassRequest(channel, asyncio.get_running_loop().create_future(), [lane])
        self.pending[channel] = created
        return created, True

    def taken(self, request: BypassRequest) -> None:
        """The poll loop took ``request``: it is no longer pending, it is in flight."""
        if self.pending.get(request.channel) is request:
            del self.pending[request.channel]
        self.in_flight[request.channel] = request

    def finished(self, request: BypassRequest) -> None:
        """``request`` was completed: nobody may join it any more."""
        if self.in_flight.get(request.channel) is request:
            del self.in_flight[request.channel]

    def collected(self, products: Iterable[str]) -> None:
        """The running refresh collected these products: record them on what is in flight."""
        covered = frozenset(products)
        for request in self.in_flight.values():
            if not request.collected:
                request.collected = True
                request.covered = covered
