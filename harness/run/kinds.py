"""Fleets of several kinds: the component specs of stubs and of real tracer apps.

A fleet is ``fleet.members`` (or ``fleet.kind`` for all of it, ``harness run --tracer-kind``).
Tracer indexes run over the members in order: ``members: [{kind: stub, tracers: 4},
{kind: ddtrace-py, tracers: 3}]`` gives stubs 0-3 (packed K per process, ``tracers-000`` ...)
and ddtrace-py tracers 4-6, one per process (``ddtrace-py-000`` ...), each a tracer component
with ``tracers=1`` and its kind. A real app reads the same ``RC_STUB_*`` run variables as a
stub process (index, start instant, run id, provider mode, flag) and the real ``DD_*`` settings
of its tracer (agent URL, service, FFE from Remote Configuration, poll interval, provider init
timeout).

Where the app runs: locally, the pinned packages installed once in a cache folder
(:mod:`harness.runtime.tracer_apps`); on Docker, the real-tracer image variant
(``harness image build-real``: ``rc-fastlane-real:dev``), which holds them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from harness.errors import ScenarioError
from harness.run.release import START_SIGNAL_ENV, uses_start_signal
from harness.runtime.base import ComponentSpec
from harness.runtime.real_image import REAL_IMAGE
from harness.runtime.tracer_apps import REAL_KINDS, AppLaunch, ensure_installed
from harness.scenario.model import Scenario

IN_IMAGE: Mapping[str, AppLaunch] = {
    "ddtrace-py": AppLaunch(
        "ddtrace-py", ("/opt/tracers/ddtrace-py/bin/python", "/opt/tracers/app.py")
    ),
    "dd-trace-js": AppLaunch(
        "dd-trace-js",
        ("node", "/opt/tracers/app.js"),
        {"NODE_PATH": "/opt/tracers/node_modules"},
    ),
}
"""How the image variant runs each app (``compose/Dockerfile.real``)."""

LOAD_COST_S: Mapping[str, float] = {"stub": 0.4, "ddtrace-py": 1.2, "dd-trace-js": 1.2}
"""Seconds of one process's start (interpreter and heavy modules) on a 2-core machine, used to
size the boot margin: stub, ``harness.run.runner.boot_margin_s``; real apps,
``benchmarks/real_tracers.py`` (docs/real-tracers.md, "Cost per tracer"), about three times a
stub process's."""


def real_kinds(scenario: Scenario) -> list[str]:
    """The real kinds the fleet holds, in fleet order."""
    return [m.kind for m in scenario.fleet.groups() if m.kind in REAL_KINDS]


def prepare_launches(
    scenario: Scenario,
    runtime: str,
    say: Callable[[str], None],
    install: Callable[..., AppLaunch] = ensure_installed,
) -> dict[str, AppLaunch]:
    """How to launch each real kind of the fleet on ``runtime``; locally, installs what is
    missing first (one progress line each) and raises ``TracerInstallError`` on failure. Real
    tracers are processes: the ``locust`` runtime (stub clients on Locust users) has none."""
    kinds = real_kinds(scenario)
    if kinds and runtime not in ("local", "docker"):
        raise ScenarioError(
            f"the fleet holds real tracers ({', '.join(kinds)}), which run on the local or "
            f"docker runtime, not on {runtime}: use --runtime local or --runtime docker"
        )
    if runtime == "docker":
        return {kind: replace(IN_IMAGE[kind]) for kind in real_kinds(scenario)}
    return {kind: install(kind, say=say) for kind in real_kinds(scenario)}


def equivalent_processes(scenario: Scenario, per_process: int) -> int:
    """Tracer processes in stub-process units of start cost, for the boot margin."""
    cost = 0.0
    for member in scenario.fleet.groups():
        if member.kind == "stub":
            per = 1 if scenario.fleet.start_offsets_ms else per_process
            cost += math.ceil(member.tracers / per) * LOAD_COST_S["stub"]
        else:
            cost += member.tracers * LOAD_COST_S[member.kind]
    return max(1, math.ceil(cost / LOAD_COST_S["stub"]))


def real_env(scenario: Scenario, index: int) -> dict[str, str]:
    """The real tracer's own ``DD_*`` settings, from the scenario's client and provider."""
    client, provider = scenario.client, scenario.provider
    service = f"{client.service}-{index}" if client.service_suffix_index else client.service
    return {
        "DD_SERVICE": service,
        "DD_ENV": client.env,
        "DD_VERSION": client.version,
        "DD_FEATURE_FLAGS_CONFIGURATION_SOURCE": "remote_config",
        "DD_REMOTE_CONFIG_POLL_INTERVAL_SECONDS": f"{client.poll_interval_s:g}",
        "DD_EXPERIMENTAL_FLAGGING_PROVIDER_INITIALIZATION_TIMEOUT_MS": (
            f"{provider.init_timeout_s * 1000:.0f}"
        ),
    }


DEFAULT_TRACERS_PER_PROCESS = 25
"""The least tracers a process hosts when neither ``--tracers-per-process`` nor the scenario sets
it; chosen by measurement (README, "Packing tracers into processes")."""

PROCESSES_PER_CORE = 5
"""The most tracer processes per core the default packing makes: every process wakes at the
start instant, and on 2 cores 100 tracers in up to 10 processes started within tens of ms,
1,000 in 40 spread their start over 180-300 ms, in 10 over 70 ms (README)."""


def default_per_process(tracers: int, cores: int | None = None) -> int:
    """Tracers per process: 25, or more when that would put more than
    :data:`PROCESSES_PER_CORE` processes on each core.

    >>> default_per_process(100, cores=2), default_per_process(1000, cores=2)
    (25, 100)
    """
    cores = cores or os.cpu_count() or 1
    return max(DEFAULT_TRACERS_PER_PROCESS, math.ceil(tracers / (PROCESSES_PER_CORE * cores)))


def fleet_specs(
    scenario: Scenario,
    per_process: int,
    agent_url: str,
    run_id: str,
    start_at: float,
    *,
    module: str = "tracer_stub",
    launches: Mapping[str, AppLaunch] | None = None,
    image: str = REAL_IMAGE,
    signal: bool | None = None,
) -> list[ComponentSpec]:
    """One spec per tracer process of every member, indexes in fleet order; ``signal``: the
    processes wait for the start signal (``start_at`` is then their deadline), else they start
    at ``start_at`` (or, ``fleet.boot: as_started``, at once); ``None``: as the scenario's
    fleet says (:func:`~harness.run.release.uses_start_signal`)."""
    fleet = scenario.fleet
    stagger_ms = 0.0
    if fleet.boot == "ramp" and fleet.tracers > 1:
        stagger_ms = fleet.ramp_s * 1000.0 / fleet.tracers
    common = {
        "RC_STUB_RUN_ID": run_id,
        "RC_STUB_AGENT_URL": agent_url,
        "DD_TRACE_AGENT_URL": agent_url,
        "RC_STUB_BOOT_STAGGER_MS": f"{stagger_ms:g}",
    }
    if signal is None:
        signal = uses_start_signal(scenario)
    if signal:  # docs/contracts.md, "The start signal"; RC_STUB_START_AT is then the deadline
        common[START_SIGNAL_ENV] = "http"

    offsets = fleet.start_offsets_ms

    def at(base: int) -> str:
        if offsets:
            return f"{start_at + offsets[base] / 1000.0:.3f}"
        return f"{start_at + base * stagger_ms / 1000.0:.3f}"

    specs: list[ComponentSpec] = []
    base = 0
    numbers: dict[str, int] = {}
    for member in fleet.groups():
        groups: Iterable[tuple[int, int]]
        if member.kind == "stub":
            groups = _pack(base, member.tracers, 1 if offsets else per_process)
        else:
            groups = ((base + i, 1) for i in range(member.tracers))
        for first, count in groups:
            n = numbers.get(member.kind, 0)
            numbers[member.kind] = n + 1
            env = {
                **scenario.stub_env(),
                **common,
                "RC_STUB_TRACERS": str(count),
                "RC_STUB_TRACER_INDEX_BASE": str(first),
                "RC_STUB_START_AT": at(first),
            }
            if fleet.boot == "as_started":  # no barrier: each starts when its process is up
                del env["RC_STUB_START_AT"]
            command: tuple[str, ...] = ()
            spec_image: str | None = None
            if member.kind == "stub":
                name, spec_module = f"tracers-{n:03d}", module
            else:
                launch = (launches or {})[member.kind]
                env.update(real_env(scenario, first))
                env.update(launch.env)
                name, spec_module = f"{member.kind}-{n:03d}", member.kind
                command, spec_image = launch.command, image
            specs.append(
                ComponentSpec(
                    name,
                    "tracer",
                    spec_module,
                    env,
                    tracers=count,
                    first_tracer=first,
                    command=command,
                    image=spec_image,
                    kind=member.kind,
                )
            )
        base += member.tracers
    return specs


def _pack(base: int, tracers: int, per_process: int) -> list[tuple[int, int]]:
    """``(first index, count)`` of each stub process of a member starting at ``base``.

    >>> _pack(10, 25, 10)
    [(10, 10), (20, 10), (30, 5)]
    """
    return [(base + k, min(per_process, tracers - k)) for k in range(0, tracers, per_process)]
