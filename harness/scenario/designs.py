"""The design space around the proposal: agent designs, client variants, and the scenario of one
matrix cell (a set-up, a client, an agent design).

An **agent design** is a named set of ``agent`` keys (docs/design-space.md says, for each, what
it changes, why one might ship it and which real mechanism it departs from); every key is a
setting of the agent model whose default is the real agent, so ``legacy`` sets nothing but the
policy. ``a+b`` combines designs (their keys must not disagree); a ``.yaml`` file with
``name`` and an ``agent`` mapping is a design of one's own.

A **client variant** is a client profile (:mod:`tracer_stub.profiles`), optionally followed by
``+phase1`` or ``+fastlane`` for the proposal's client policies (Phase 1, Part A):
``go-2.5+fastlane`` with the ``fastlane`` design is the proposal's Phase 3.

A **set-up** is a scenario (a built-in name or a file) that gives everything else: the fleet and
how it boots, the backend, the timeouts, the agent's diagnostics. The cell's scenario is the
set-up with its ``client.profile`` and ``client.client_policy`` replaced by the variant's and the
design's keys laid over its ``agent`` section. A set-up that sets a profile's timing field itself
would silently beat the profile, so it is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from harness.errors import ScenarioError
from harness.scenario.model import Scenario, apply_override, read_raw, validate
from tracer_stub.profiles import PROFILES, TIMING_FIELDS

CLIENT_POLICIES = ("legacy", "phase1", "fastlane")


@dataclass(frozen=True)
class AgentDesign:
    """An agent design: its ``agent`` keys, what it is, and the built-in scenario showing it."""

    name: str
    title: str
    agent: Mapping[str, Any]
    scenario: str = ""
    """The built-in scenario that runs this design in its most telling set-up."""


def _design(name: str, title: str, scenario: str, **agent: Any) -> AgentDesign:
    return AgentDesign(name, title, MappingProxyType(agent), scenario)


AGENT_DESIGNS: Mapping[str, AgentDesign] = MappingProxyType(
    {
        d.name: d
        for d in (
            _design(
                "legacy", "today's agent (datadog-agent service.go)", "baseline", policy="legacy"
            ),
            _design(
                "fastlane",
                "the proposal's Part B (B1-B5), fast lane = every product fast-lane (B4)",
                "agent-only",
                policy="fastlane",
            ),
            _design(
                "fastlane-any",
                "Part B, fast lane = any fast-lane product in the request",
                "agent-any-product",
                policy="fastlane",
                fast_lane_match="any",
            ),
            _design(
                "single-flight",
                "new clients share the bypass refresh in flight; the limiter counts refreshes",
                "agent-single-flight",
                policy="legacy",
                bypass_single_flight=True,
            ),
            _design(
                "new-products",
                "an active client adding a product bypasses the cache (datadog-agent PR #47113)",
                "agent-new-products",
                policy="legacy",
                bypass_on_new_products=True,
            ),
            _design(
                "warm",
                "FFE_FLAGS fetched at agent start-up",
                "agent-warm",
                policy="legacy",
                prefetch_products="FFE_FLAGS",
            ),
            _design(
                "short-block",
                "a bypass block budget below the Python and Node.js clients' HTTP timeout",
                "agent-short-block",
                policy="legacy",
                new_client_block_ttl_s=0.5,
            ),
        )
    }
)
"""The built-in agent designs, in the order the decision report lists them."""


@dataclass(frozen=True)
class ClientVariant:
    """A client profile and the client policy it runs (``legacy`` unless named)."""

    name: str
    profile: str
    policy: str = "legacy"

    @property
    def language(self) -> str:
        """The profile's tracer language (``go``, ``python``, ...)."""
        return str(PROFILES[self.profile].values["language"])

    @property
    def description(self) -> str:
        """The profile's description, and the policy when it is not today's."""
        text = PROFILES[self.profile].description
        return text if self.policy == "legacy" else f"{text}, client policy {self.policy}"


def client_variant(name: str) -> ClientVariant:
    """Parse ``PROFILE[+POLICY]``; an unknown profile or policy raises naming the valid ones."""
    profile, _, policy = name.partition("+")
    if profile not in PROFILES:
        raise ScenarioError(
            f"unknown client profile {profile!r} in {name!r}: profiles are "
            f"{', '.join(PROFILES)} (optionally +phase1 or +fastlane)"
        )
    policy = policy or "legacy"
    if policy not in CLIENT_POLICIES:
        raise ScenarioError(
            f"unknown client policy {policy!r} in {name!r}: use {profile}, {profile}+phase1 or "
            f"{profile}+fastlane"
        )
    return ClientVariant(name, profile, policy)


def agent_design(name: str) -> AgentDesign:
    """A built-in design, a ``+`` combination of them, or a ``.yaml`` design file."""
    if name.endswith((".yaml", ".yml")):
        return _design_file(Path(name))
    parts = name.split("+")
    unknown = [p for p in parts if p not in AGENT_DESIGNS]
    if unknown:
        raise ScenarioError(
            f"unknown agent design {unknown[0]!r} in {name!r}: designs are "
            f"{', '.join(AGENT_DESIGNS)}, a+b to combine them, or a .yaml file with an agent "
            "section"
        )
    if len(parts) == 1:
        return AGENT_DESIGNS[name]
    merged: dict[str, Any] = {"policy": "legacy"}
    for part in parts:
        for key, value in AGENT_DESIGNS[part].agent.items():
            if key == "policy":  # the fast lane's policy wins over today's
                merged[key] = "fastlane" if "fastlane" in (value, merged[key]) else value
            elif key in merged and merged[key] != value:
                raise ScenarioError(
                    f"agent designs in {name!r} disagree on agent.{key}: "
                    f"{merged[key]!r} vs {value!r}"
                )
            else:
                merged[key] = value
    title = " + ".join(AGENT_DESIGNS[p].title for p in parts)
    return AgentDesign(name, title, MappingProxyType(merged))


def _design_file(path: Path) -> AgentDesign:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read agent design file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(f"agent design file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("agent"), dict):
        raise ScenarioError(
            f"agent design file {path}: expected a mapping with an 'agent' section, e.g. "
            "{name: mine, agent: {policy: fastlane, fast_lane_match: any}}"
        )
    name = str(data.get("name") or path.stem)
    return AgentDesign(name, str(data.get("title", name)), MappingProxyType(dict(data["agent"])))


def cell_id(setup: str, client: str, agent: str) -> str:
    """The name of a matrix cell (its scenario name and its folder under the matrix folder).

    >>> cell_id("baseline", "go-2.5+fastlane", "fastlane")
    'baseline/go-2.5+fastlane/fastlane'
    """
    return f"{setup}/{client}/{agent}"


def cell_scenario_name(cell: str) -> str:
    """The scenario name of a cell: its id with ``.`` for ``/``, since a scenario name is a plain
    folder name (``harness.scenario.model.NAME_PATTERN``); the cell's folder is its id.

    >>> cell_scenario_name("baseline/go-2.5+fastlane/fastlane")
    'baseline.go-2.5+fastlane.fastlane'
    """
    return cell.replace("/", ".")


def setup_name(setup: str) -> str:
    """The short name of a set-up: a built-in's name, or a file's stem.

    >>> setup_name("loadtest-setup"), setup_name("mine/slow-agent.yaml")
    ('loadtest-setup', 'slow-agent')
    """
    path = Path(setup)
    return path.stem if path.suffix in (".yaml", ".yml", ".toml") else setup


def cell_scenario(
    setup: str,
    client: ClientVariant,
    design: AgentDesign,
    overrides: Sequence[str] = (),
) -> Scenario:
    """The scenario of one cell (see the module docstring); ``overrides`` are ``--set``
    assignments applied last (``--tracers`` and ``--timeout`` included)."""
    raw, source = read_raw(setup)
    section = raw.get("client") or {}
    if not isinstance(section, dict):
        raise ScenarioError(f"set-up {source}: 'client' must be a mapping")
    clash = sorted(set(section) & set(TIMING_FIELDS))
    if clash:
        raise ScenarioError(
            f"set-up {source} sets client.{clash[0]}, which the client axis sets through the "
            "profile: remove it from the set-up (or run it with harness run/compare)"
        )
    raw["client"] = {**section, "profile": client.profile, "client_policy": client.policy}
    agent = raw.get("agent") or {}
    if not isinstance(agent, dict):
        raise ScenarioError(f"set-up {source}: 'agent' must be a mapping")
    raw["agent"] = {**agent, **design.agent}
    raw["name"] = cell_scenario_name(cell_id(setup_name(setup), client.name, design.name))
    raw["description"] = f"{client.description}; agent: {design.title}"
    for assignment in overrides:
        apply_override(raw, assignment)
    return validate(raw, f"matrix cell {raw['name']}")
