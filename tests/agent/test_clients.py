"""ActiveClients: TTL by client id, pruning on collection."""

from __future__ import annotations

from agent.clients import ActiveClients


class Now:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_seen_client_is_active_until_the_ttl_passes() -> None:
    now = Now()
    clients: ActiveClients[str] = ActiveClients(30, now, lambda: 1_700_000_000.0 + now.t)
    assert not clients.active("a")
    clients.seen("a", "client-a")
    now.t = 30.0
    assert clients.active("a")  # expired only strictly after expireAt
    now.t = 30.001
    assert not clients.active("a")


def test_seen_again_extends_and_replaces_the_message() -> None:
    now = Now()
    clients: ActiveClients[str] = ActiveClients(30, now, lambda: now.t)
    clients.seen("a", "v1")
    now.t = 20
    clients.seen("a", "v2")
    now.t = 45
    assert clients.active_clients() == ["v2"]


def test_collection_prunes_expired_clients() -> None:
    now = Now()
    clients: ActiveClients[str] = ActiveClients(30, now, lambda: now.t)
    clients.seen("old", "o")
    now.t = 20
    clients.seen("new", "n")
    now.t = 31
    assert len(clients) == 2
    assert clients.active_clients() == ["n"]
    assert len(clients) == 1


def test_count_active_skips_expired_clients_without_pruning() -> None:
    now = Now()
    clients: ActiveClients[str] = ActiveClients(30, now, lambda: now.t)
    clients.seen("old", "o")
    now.t = 20
    clients.seen("new", "n")
    now.t = 30
    assert clients.count_active() == 2  # "old" is still active at exactly its expiry
    now.t = 31
    assert clients.count_active() == 1
    assert len(clients) == 2  # nothing pruned: only active_clients() prunes


def test_last_gives_the_message_of_an_active_client_only() -> None:
    now = Now()
    clients: ActiveClients[str] = ActiveClients(30, now, lambda: now.t)
    assert clients.last("a") is None
    clients.seen("a", "v1")
    assert clients.last("a") == "v1"
    now.t = 30.5
    assert clients.last("a") is None
