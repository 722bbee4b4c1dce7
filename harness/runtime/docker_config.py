"""How the Docker runtime configures a run's network and containers (pure: arguments of the
Docker SDK's ``networks.create`` and ``containers.create``).

Isolation. Every container drops every capability, runs with ``no-new-privileges`` as the
image's unprivileged user (uid 10001, compose/Dockerfile), and has a pids limit and a memory
limit sized to what it hosts (:func:`limits_for`); its open-file limits are the engine's, the
soft one raised to the hard one by the service itself (``rc_protocol.fdlimit``). Its DNS
upstream is its own loopback: Docker's embedded DNS answers the run's container names and
nothing else resolves.

Network (``network`` mode, ``HARNESS_DOCKER_NETWORK``):

- ``internal`` (chosen by ``auto`` when the engine runs on this Linux machine): the run's bridge
  network is ``internal``, so no container can reach anything outside it, and **no port is
  published at all**: Docker ignores port publishing for a container whose only network is
  internal (moby/moby#36174, open since 2018; checked on Engine 20.10: ``Ports`` stays empty).
  The harness reaches each component at its address on that network, which the host can
  route to because the bridge holds the network's gateway address (also true of internal
  networks, but for early Engine 25.0 releases: moby/moby commit c761353 restored it).
- ``published`` (``auto`` elsewhere: Docker Desktop, a remote engine, where the host cannot
  route to bridge addresses): a normal bridge network with each component's port published on
  127.0.0.1 only; containers can then open connections out, their DNS still answers nothing
  outside the run.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import RuntimeErrorBase
from harness.runtime.base import ComponentSpec
from harness.runtime.docker_engine import CONTAINER_PORT, command_for, host_port_from_attrs

NETWORK_ENV = "HARNESS_DOCKER_NETWORK"
NETWORK_MODES = ("auto", "internal", "published")

MIB = 1024 * 1024
SERVICE_MEMORY = 2048 * MIB
"""Agent and backend: a limit against a runaway that would take the machine down, not a model
constant (a service process starts at about 50 MB)."""
SERVICE_PIDS = 512
TRACER_MEMORY_BASE = 256 * MIB
TRACER_MEMORY_PER_TRACER = 1 * MIB
"""A stub process measured 50 MB with 1 tracer, 72 MB idle with 500 and 73-78 MB with 500
tracers ready (about 0.05 MB each; docs/hardening.md): 256 MiB plus 1 MiB per tracer leaves
a wide margin."""
TRACER_PIDS_BASE = 64
"""A stub process runs 6-11 threads of its own plus one parked thread per pending tracer
(``tracer_stub.threads``; measured 7 threads with 1 tracer, 511 with 500): 64 plus twice the
tracers."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one container."""

    memory_bytes: int
    pids: int


def limits_for(spec: ComponentSpec) -> Limits:
    """The limits of a component's container (see the constants)."""
    if spec.role == "tracer":
        return Limits(
            TRACER_MEMORY_BASE + TRACER_MEMORY_PER_TRACER * spec.tracers,
            TRACER_PIDS_BASE + 2 * spec.tracers,
        )
    return Limits(SERVICE_MEMORY, SERVICE_PIDS)


def choose_network(
    requested: str, *, base_url: str, operating_system: str, platform: str = sys.platform
) -> str:
    """``internal`` or ``published`` (see the module docstring); ``auto`` picks ``internal``
    when this is a Linux machine talking to its own engine over a unix socket, not Docker
    Desktop."""
    if requested not in NETWORK_MODES:
        raise RuntimeErrorBase(
            f"{NETWORK_ENV}={requested!r}: choose one of {', '.join(NETWORK_MODES)}"
        )
    if requested != "auto":
        return requested
    local = base_url.startswith(("http+docker://", "unix://"))
    desktop = "docker desktop" in operating_system.lower()
    return "internal" if platform.startswith("linux") and local and not desktop else "published"


def network_options(name: str, mode: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """``networks.create`` arguments of the run's network."""
    return {
        "name": name,
        "driver": "bridge",
        "internal": mode == "internal",
        "labels": dict(labels),
        "check_duplicate": True,
    }


def container_options(
    spec: ComponentSpec,
    *,
    image: str,
    name: str,
    network: str,
    mode: str,
    labels: Mapping[str, str],
    mem_limit: str | None = None,
) -> dict[str, Any]:
    """``containers.create`` arguments of one component (its own entry point when the spec
    names one: a real tracer's app); ``mem_limit`` overrides the memory limit of every
    container (a test provokes an OOM kill with it)."""
    limits = limits_for(spec)
    options: dict[str, Any] = {
        "image": image,
        "command": command_for(spec),
        "entrypoint": list(spec.command) or None,
        "name": name,
        "hostname": spec.name,
        "environment": dict(spec.env),
        "labels": dict(labels),
        "network": network,
        "dns": ["127.0.0.1"],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "pids_limit": limits.pids,
        "mem_limit": mem_limit or limits.memory_bytes,
        "init": True,
        "detach": True,
    }
    if mode == "published":
        options["ports"] = {f"{CONTAINER_PORT}/tcp": ("127.0.0.1", None)}
    return options


def host_url_from_attrs(attrs: Mapping[str, Any], mode: str, network: str) -> str | None:
    """Where the harness reaches a started container: its address on the run's network
    (``internal``) or its port published on 127.0.0.1; None while Docker has not said."""
    if mode == "published":
        port = host_port_from_attrs(attrs)
        return None if port is None else f"http://127.0.0.1:{port}"
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    address = (networks.get(network) or {}).get("IPAddress")
    return f"http://{address}:{CONTAINER_PORT}" if address else None
