"""``harness down``: remove what runs left behind, on both runtimes.

Leftovers are found the way each runtime marks them: local processes by the
``HARNESS_RUN_ID`` in their environment (:mod:`harness.runtime.procs`), containers and networks
by their ``harness.run_id`` label. With a run id, that run goes, whatever it is. Without one,
only runs whose harness is gone (its lock is free: :mod:`harness.runtime.ownership`), made by
this user on this machine, and never the ``harness up`` review stack unless ``review`` is asked
for; what is left alone is listed with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import DockerUnavailableError
from harness.runtime.docker_engine import (
    LABEL_OWNER,
    LABEL_RUN_ID,
    LABEL_STACK,
    connect,
    leftovers,
    sweep,
)
from harness.runtime.ownership import forget, harness_alive, owner
from harness.runtime.procs import PROC, run_processes, stop_processes


@dataclass
class DownResult:
    """What ``harness down`` removed, and what it left alone and why."""

    containers: int = 0
    networks: int = 0
    processes: int = 0
    removed: list[str] = field(default_factory=list)
    """Run ids whose leftovers were removed."""
    alive: list[str] = field(default_factory=list)
    """Runs whose harness still runs."""
    review: list[str] = field(default_factory=list)
    """``harness up`` stacks (``--review`` removes them)."""
    foreign: list[str] = field(default_factory=list)
    """Runs of another user or machine (``--run-id`` removes one)."""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Run:
    run_id: str
    labels: dict[str, str]


def down(
    run_id: str | None = None,
    *,
    review: bool = False,
    docker: Callable[[], Any] = connect,
    proc: Path = PROC,
    state: Path | None = None,
    me: str | None = None,
    stop: Callable[[list[int]], int] = stop_processes,
) -> DownResult:
    """Remove leftovers (see the module docstring). ``docker`` connects to the engine,
    ``proc``, ``state``, ``me`` and ``stop`` are seams for tests."""
    result = DownResult()
    processes = run_processes(proc, run_id)
    client = None
    try:
        client = docker()
    except DockerUnavailableError as exc:
        result.notes.append(f"{exc}; only local processes were looked for")
    docker_runs = _docker_runs(client, run_id) if client is not None else {}
    who = me or owner()
    for rid in sorted(set(processes) | set(docker_runs)):
        labels = docker_runs.get(rid, {})
        if run_id is None:
            if labels.get(LABEL_STACK) == "review" and not review:
                result.review.append(rid)
                continue
            if labels.get(LABEL_OWNER, who) != who:
                result.foreign.append(rid)
                continue
            if harness_alive(rid, state):
                result.alive.append(rid)
                continue
        if rid in processes:
            result.processes += stop(processes[rid])
        if client is not None and rid in docker_runs:
            swept = sweep(client, rid)
            result.containers += swept.containers
            result.networks += swept.networks
        forget(rid, state)
        result.removed.append(rid)
    if client is not None:
        client.close()
    return result


def _docker_runs(client: Any, run_id: str | None) -> dict[str, dict[str, str]]:
    """Run id -> the labels of one of its objects (owner, stack)."""
    containers, networks = leftovers(client, run_id)
    runs: dict[str, dict[str, str]] = {}
    for container in containers:
        labels = dict(container.labels or {})
        runs.setdefault(labels.get(LABEL_RUN_ID, ""), labels)
    for network in networks:
        labels = dict(network.attrs.get("Labels") or {})
        runs.setdefault(labels.get(LABEL_RUN_ID, ""), labels)
    runs.pop("", None)
    return runs
