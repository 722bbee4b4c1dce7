"""Semantic validation of a ``ClientGetConfigsRequest`` (``validateRequest`` in service.go).

The checks run in the real order and the first failure wins; each raises
:class:`~agent.errors.InvalidRequest` with the real message, which names the field. The real
agent returns gRPC ``InvalidArgument``; the trace-agent's HTTP layer turns every error that is
not ``Unimplemented``/``NotFound`` into **500** (``ConfigHandler``).

1. ``client`` missing; 2. ``client.state`` missing; 3. ``client.state.root_version`` < 1;
4-6. ``is_agent``/``is_tracer``/``is_updater`` without its ``client_agent``/``client_tracer``/
``client_updater``; 7. more than one of them; 8. none of them; 9. empty ``client.id``;
for tracers: 10. ``client_agent`` set, 11. ``client.id == client_tracer.runtime_id``,
12. empty ``client_tracer.language``; for agents: 13. ``client_tracer`` set; then for each
``cached_target_files[i]``: empty or unparsable ``path``, ``length == 0``, no ``hashes``, and
for each ``hashes[j]`` an empty ``algorithm`` or ``hash``.

(The real message for a missing ``hashes`` list is built with ``status.Error`` and so shows a
literal ``%d``; the model formats the index.)
"""

from __future__ import annotations

from agent.errors import InvalidRequest
from rc_protocol.paths import ConfigPath, PathError
from rc_protocol.wire import ClientGetConfigsRequest

_SUFFIX = "is a required field for client config update requests"


def validate_request(request: ClientGetConfigsRequest) -> None:
    """Raise :class:`InvalidRequest` naming the first invalid field, as the real agent does."""
    client = request.client
    if client is None:
        raise InvalidRequest(f"client {_SUFFIX}")
    if client.state is None:
        raise InvalidRequest(f"client.state {_SUFFIX}")
    if client.state.root_version <= 0:
        raise InvalidRequest(
            "client.state.root_version must be >= 1 (clients must start with the base TUF "
            "director root)"
        )
    if client.is_agent and client.client_agent is None:
        raise InvalidRequest(
            "client.client_agent is a required field for agent client config update requests"
        )
    if client.is_tracer and client.client_tracer is None:
        raise InvalidRequest(
            "client.client_tracer is a required field for tracer client config update requests"
        )
    if client.is_updater and client.client_updater is None:
        raise InvalidRequest(
            "client.client_updater is a required field for updater client config update requests"
        )
    if sum((client.is_tracer, client.is_agent, client.is_updater)) > 1:
        raise InvalidRequest(
            "client.is_tracer, client.is_agent, and client.is_updater are mutually exclusive"
        )
    if not (client.is_tracer or client.is_agent or client.is_updater):
        raise InvalidRequest(
            "agents only support remote config updates from tracer or agent or updater at this "
            "time (set one of client.is_tracer, client.is_agent, client.is_updater)"
        )
    if client.id == "":
        raise InvalidRequest(f"client.id {_SUFFIX}")
    if client.is_tracer and client.client_tracer is not None:
        if client.client_agent is not None:
            raise InvalidRequest("client.client_agent must not be set if client.is_tracer is true")
        if client.id == client.client_tracer.runtime_id:
            raise InvalidRequest("client.id must be different from client.client_tracer.runtime_id")
        if client.client_tracer.language == "":
            raise InvalidRequest(
                "client.client_tracer.language is a required field for tracer client config "
                "update requests"
            )
    if client.is_agent and client.client_tracer is not None:
        raise InvalidRequest("client.client_tracer must not be set if client.is_agent is true")
    for i, meta in enumerate(request.cached_target_files):
        if meta.path == "":
            raise InvalidRequest(f"cached_target_files[{i}].path {_SUFFIX}")
        try:
            ConfigPath.parse(meta.path)
        except PathError as exc:
            raise InvalidRequest(
                f"cached_target_files[{i}].path is not a valid path: {exc}"
            ) from exc
        if meta.length == 0:
            raise InvalidRequest(
                f"cached_target_files[{i}].length must be >= 1 (no empty file allowed)"
            )
        if not meta.hashes:
            raise InvalidRequest(f"cached_target_files[{i}].hashes {_SUFFIX}")
        for j, file_hash in enumerate(meta.hashes):
            if file_hash.algorithm == "":
                raise InvalidRequest(f"cached_target_files[{i}].hashes[{j}].algorithm {_SUFFIX}")
            if file_hash.hash == "":
                raise InvalidRequest(f"cached_target_files[{i}].hashes[{j}].hash {_SUFFIX}")
