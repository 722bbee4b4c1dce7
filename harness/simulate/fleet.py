"""What a simulation is made of: its options, when each agent boots, and each service's settings
read from the scenario exactly as the service processes read them (``from_env`` of the scenario's
variables, `docs/contracts.md`)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, get_args

from agent.settings import Settings as AgentSettings
from fake_backend.settings import Settings as BackendSettings
from harness.errors import SimulationError
from harness.scenario.model import Scenario
from tracer_stub.settings import Settings as StubSettings

__all__ = [
    "AGENT_BOOTS",
    "AgentBoot",
    "SimOptions",
    "agent_boot_offsets",
    "agent_lead_of",
    "agent_settings",
    "backend_settings",
    "stub_settings",
    "tracer_offsets",
]

AgentBoot = Literal["all_at_once", "ramp", "random"]
AGENT_BOOTS: tuple[str, ...] = get_args(AgentBoot)

API_KEY = "simulate000000000000000000000000"
"""The fake ``DD_API_KEY`` of a simulation (never a real key; nothing checks it in memory)."""


@dataclass(frozen=True)
class SimOptions:
    """How ``harness simulate`` spreads the scenario over many agents."""

    agents: int = 1
    """Agents, each with the scenario's ``fleet.tracers`` tracers, all calling one backend."""
    agent_boot: AgentBoot = "random"
    """When each agent's fleet boots: ``all_at_once``, a ``ramp`` (evenly over the spread) or
    ``random`` (uniform over the spread, seeded): a cluster restart's hosts coming up."""
    boot_spread_s: float = 30.0
    """The span over which agents' boots are spread (``ramp``, ``random``)."""
    seed: int = 0
    """Seeds the agent boots and every unseeded RNG of the models (jitter, backoff)."""
    agent_lead_s: float = 2.0
    """An agent starts this long before its tracers boot, as ``harness run`` starts the agent
    and waits for its health before the boot instant (its start-up refresh is done by then).
    Not with ``fleet.agent_start: with_fleet``: see :func:`agent_lead_of`."""

    def __post_init__(self) -> None:
        if self.agents < 1:
            raise SimulationError(f"--agents {self.agents}: give at least 1 agent")
        if self.agent_boot not in AGENT_BOOTS:
            raise SimulationError(
                f"--agent-boot {self.agent_boot!r}: choose one of {', '.join(AGENT_BOOTS)}"
            )
        if self.boot_spread_s < 0 or self.agent_lead_s < 0:
            raise SimulationError("--boot-spread-s and the agent lead must be >= 0 seconds")


def agent_boot_offsets(options: SimOptions) -> list[float]:
    """Seconds from the first possible boot to each agent's boot, by agent index.

    >>> agent_boot_offsets(SimOptions(agents=3, agent_boot="ramp", boot_spread_s=30))
    [0.0, 10.0, 20.0]
    >>> agent_boot_offsets(SimOptions(agents=2, agent_boot="all_at_once"))
    [0.0, 0.0]
    """
    n, spread = options.agents, options.boot_spread_s
    if options.agent_boot == "all_at_once" or n == 1:
        return [0.0] * n
    if options.agent_boot == "ramp":
        return [i * spread / n for i in range(n)]
    rng = random.Random(options.seed)
    return [rng.uniform(0.0, spread) for _ in range(n)]


def agent_lead_of(scenario: Scenario, options: SimOptions) -> float:
    """Seconds from an agent's start to its fleet's boot: ``agent_lead_s``, or none with
    ``fleet.agent_start: with_fleet``. There ``harness run`` passes the agent
    ``RC_AGENT_RC_AVAILABLE_AT`` = boot instant + ``agent.rc_unavailable_s`` (runner.py), so its
    RC serves that long after the boot, not after its own start (before that it only answers
    500 and its poll loop waits). An agent started at the boot instant with
    ``rc_unavailable_s`` counted from its start serves at that very instant, on the loop's own
    clock (a wall-clock instant would move it by the float resolution of unix time, about
    0.2 us, and a poll due at that instant would then be refused or not by chance).

    >>> from harness.scenario.model import load_scenario
    >>> agent_lead_of(load_scenario("loadtest-setup"), SimOptions())
    0.0
    >>> agent_lead_of(load_scenario("baseline"), SimOptions())
    2.0
    """
    return 0.0 if scenario.fleet.agent_start == "with_fleet" else options.agent_lead_s


def tracer_offsets(scenario: Scenario) -> list[float]:
    """Seconds from an agent's boot to each of its tracers' start, as ``harness run`` staggers
    them (``fleet.start_offsets_ms`` when given, else ``fleet.boot: ramp`` spreads them over
    ``ramp_s``). Only stub tracers can be simulated: a real tracer is a process of its own; and
    only scenarios without faults (``Scenario.timed_faults``)."""
    fleet = scenario.fleet
    kinds = {m.kind for m in fleet.groups()}
    if kinds != {"stub"}:
        raise SimulationError(
            f"fleet kinds {sorted(kinds)}: harness simulate runs stub tracers only (a real "
            "tracer is a process, it cannot run in virtual time); use harness run for them"
        )
    faults = scenario.timed_faults()
    if faults:
        named = ", ".join(sorted({f.kind for f in faults}))
        raise SimulationError(
            f"the scenario has faults ({named}): harness simulate does not apply them (they are "
            "anchored to one boot instant, and simulated agents boot over --boot-spread-s); "
            "run the scenario with harness run"
        )
    if fleet.start_offsets_ms:
        return [ms / 1000.0 for ms in fleet.start_offsets_ms]
    stagger = fleet.ramp_s / fleet.tracers if fleet.boot == "ramp" and fleet.tracers > 1 else 0.0
    return [i * stagger for i in range(fleet.tracers)]


def _read(kind: str, build: object) -> object:
    try:
        return build() if callable(build) else build
    except Exception as exc:  # a SettingsError of the service: name it and stop
        raise SimulationError(f"the scenario's {kind} settings are invalid: {exc}") from exc


def backend_settings(scenario: Scenario) -> BackendSettings:
    """The backend's settings, as ``python -m fake_backend`` reads them from the scenario."""
    env = {**scenario.backend_env(), "DD_API_KEY": API_KEY}
    settings = _read("backend", lambda: BackendSettings.from_env(env))
    assert isinstance(settings, BackendSettings)
    return settings


def agent_settings(scenario: Scenario, index: int, agents: int, seed: int) -> AgentSettings:
    """Agent `index`'s settings: the scenario's, with a hostname of its own when there are
    several (the backend tells agents apart by ``agent_uuid``, else hostname) and a seed."""
    env = {**scenario.agent_env(), "DD_API_KEY": API_KEY}
    settings = _read("agent", lambda: AgentSettings.from_env(env))
    assert isinstance(settings, AgentSettings)
    changes: dict[str, object] = {}
    if agents > 1:
        changes["hostname"] = f"{settings.hostname}-{index:05d}"
    if settings.seed is None:
        changes["seed"] = seed
    return settings.replace(**changes) if changes else settings


def stub_settings(scenario: Scenario, index_base: int, seed: int) -> StubSettings:
    """The tracers' settings of one agent, as a stub process reads them."""
    env = {
        **scenario.stub_env(),
        "RC_STUB_TRACERS": str(scenario.fleet.tracers),
        "RC_STUB_TRACER_INDEX_BASE": str(index_base),
    }
    settings = _read("client/provider", lambda: StubSettings.from_env(env))
    assert isinstance(settings, StubSettings)
    return settings if settings.seed is not None else settings.replace(seed=seed)
