"""Active clients of the RC service, keyed by ``client.id`` (``clients.go``).

- ``seen(client)`` records the client with ``expireAt = now + clientsTTL`` (and stamps the
  client's ``last_seen`` in unix ms, as ``pbClient.LastSeen`` was in older versions);
- ``active(client_id)``: the client is known and not expired (``now > expireAt`` = expired);
- ``active_clients()`` returns the unexpired clients and prunes the expired ones, as the real
  ``activeClients`` does on every collection (``refresh()`` calls it).

The TTL is resolved by :meth:`agent.settings.Settings.resolve` (``WithClientTTL``: 5-60 s, else
30 s). Times are taken from the injected clock's monotonic reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

C = TypeVar("C")


@dataclass
class _Entry(Generic[C]):
    expire_at: float
    client: C
    last_seen_wall: float

    def expired(self, now: float) -> bool:
        """``now > expireAt`` (a client is still active at exactly its expiry)."""
        return now > self.expire_at


class ActiveClients(Generic[C]):
    """The ``clients`` map: client id -> (expiry, last client message)."""

    def __init__(self, ttl_s: float, now: Callable[[], float], wall: Callable[[], float]) -> None:
        self.ttl_s = ttl_s
        self._now = now
        self._wall = wall
        self._clients: dict[str, _Entry[C]] = {}

    def seen(self, client_id: str, client: C) -> None:
        """Mark ``client`` active for another TTL (replaces the stored client message)."""
        entry = self._clients.get(client_id)
        if entry is None:
            self._clients[client_id] = _Entry(self._now() + self.ttl_s, client, self._wall())
        else:
            entry.expire_at = self._now() + self.ttl_s
            entry.client = client
            entry.last_seen_wall = self._wall()

    def active(self, client_id: str) -> bool:
        """True when the client was seen within the TTL."""
        entry = self._clients.get(client_id)
        return entry is not None and not entry.expired(self._now())

    def last(self, client_id: str) -> C | None:
        """The last message of an active client; ``None`` when unknown or expired."""
        entry = self._clients.get(client_id)
        if entry is None or entry.expired(self._now()):
            return None
        return entry.client

    def active_clients(self) -> list[C]:
        """Unexpired clients, pruning the expired ones (``activeClients``)."""
        now = self._now()
        expired = [cid for cid, e in self._clients.items() if e.expired(now)]
        for cid in expired:
            del self._clients[cid]
        return [e.client for e in self._clients.values()]

    def count_active(self) -> int:
        """Number of unexpired clients, without pruning (for the metrics scrape)."""
        now = self._now()
        return sum(1 for e in self._clients.values() if not e.expired(now))

    def last_seen_ms(self, client_id: str) -> int:
        """Unix milliseconds of the last ``seen`` of a known client (0 if unknown)."""
        entry = self._clients.get(client_id)
        return 0 if entry is None else int(entry.last_seen_wall * 1000)

    def __len__(self) -> int:
        return len(self._clients)
