"""Scenarios: a typed description of everything a run depends on.

A scenario is a YAML (or TOML) file with the sections below. Unknown keys are errors that name
the key. ``harness run`` writes the resolved scenario (every default filled in) as
``scenario.yaml`` in the results folder; loading that file back reproduces the run.

``fleet`` and ``timeouts`` are the harness's own. ``client``, ``provider``, ``agent`` and
``backend`` are derived from the services' settings (:mod:`harness.scenario.sections`): their
keys, types, defaults (the real ones, see each service's ``settings.py``) and validation rules
are the services', minus the fields the harness sets for each process itself (host, port, run
id, ...). They map to service environment variables (``docs/contracts.md``): ``backend.<field>``
→ ``RC_BACKEND_<FIELD>``, ``agent.<field>`` → ``RC_AGENT_<FIELD>``, ``client.<field>`` →
``RC_STUB_<FIELD>``, ``provider.<field>`` → ``RC_STUB_PROVIDER_<FIELD>`` (the stub's settings
``provider_mode`` and ``provider_init_timeout_s``). Unset (``null``) values are not passed, so
the service applies its own rule (e.g. the agent's refresh interval: 60 s, and the backend may
override it).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from agent.settings import Settings as AgentSettings
from fake_backend.settings import Settings as BackendSettings
from harness.errors import ScenarioError
from harness.scenario.faults import FaultEvent, check_sequence, from_backend_windows
from harness.scenario.sections import Section, ServiceSection, derive
from harness.scenario.validity_limits import ValidityLimits
from tracer_stub.profiles import PROFILES
from tracer_stub.settings import Settings as StubSettings

TracerKind = Literal["stub", "ddtrace-py", "dd-trace-js"]
"""What a fleet member is: the simulated tracer, or a real tracer app (``tracer_apps/``)."""
TRACER_KINDS: tuple[str, ...] = ("stub", "ddtrace-py", "dd-trace-js")


class Member(Section):
    """A group of the fleet: ``tracers`` tracers of one ``kind``."""

    kind: TracerKind
    tracers: int = Field(ge=1, description="tracers of this kind")


class Fleet(Section):
    """How many tracers, of which kinds, how they boot, and whether the agent is up before them."""

    tracers: int = Field(default=100, ge=1, description="tracers in the fleet")
    kind: TracerKind = Field(
        default="stub", description="kind of every tracer when members is empty"
    )
    members: tuple[Member, ...] = Field(
        default=(),
        description="a mixed fleet, e.g. [{kind: stub, tracers: 50}, {kind: ddtrace-py, "
        "tracers: 25}]; tracers is their sum",
    )
    boot: Literal["all_at_once", "ramp", "as_started"] = Field(
        default="all_at_once",
        description="all_at_once: every tracer at one boot instant; ramp: starts spread evenly "
        "over ramp_s; as_started: no barrier, each tracer starts when its process or container "
        "is up (the runtime's own start spread, e.g. Docker's container starts)",
    )
    ramp_s: float = Field(
        default=0.0, ge=0, description="ramp: tracer starts spread over this span"
    )
    agent_start: Literal["healthy_first", "with_fleet"] = Field(
        default="healthy_first",
        description="healthy_first: the agent is started and healthy before the fleet boots; "
        "with_fleet: agent and fleet are started together with no health gate, as `docker "
        "compose up` would, and agent.rc_unavailable_s counts from the boot instant",
    )
    tracers_per_process: int | None = Field(
        default=None, ge=1, description="local packing; null = the harness default"
    )
    start_offsets_ms: tuple[float, ...] = Field(
        default=(),
        description="stubs only: tracer i starts this long after the boot instant (one per "
        "tracer, one tracer per process; harness validate replays a real fleet's measured "
        "start instants); empty = the boot shape",
    )

    @model_validator(mode="before")
    @classmethod
    def _tracers_from_members(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("members") and data.get("tracers") is None:
            members = data["members"]
            if isinstance(members, Sequence) and all(isinstance(m, Mapping) for m in members):
                data = {**data, "tracers": sum(int(m.get("tracers") or 0) for m in members)}
        return data

    @model_validator(mode="after")
    def _members_add_up(self) -> Fleet:
        total = sum(m.tracers for m in self.members)
        if self.members and total != self.tracers:
            raise ValueError(
                f"fleet.members add up to {total} tracers but fleet.tracers is {self.tracers}: "
                "drop fleet.tracers (and --tracers) or make them agree"
            )
        if self.start_offsets_ms and len(self.start_offsets_ms) != self.tracers:
            raise ValueError(
                f"fleet.start_offsets_ms has {len(self.start_offsets_ms)} values for "
                f"{self.tracers} tracers: give one per tracer"
            )
        if any(o < 0 for o in self.start_offsets_ms):
            raise ValueError("fleet.start_offsets_ms must not be negative")
        if len({m.kind for m in self.members}) != len(self.members):
            raise ValueError("fleet.members names a kind twice: give each kind one entry")
        return self

    def groups(self) -> tuple[Member, ...]:
        """The fleet by kind, in order: ``members``, or every tracer of ``kind``."""
        return self.members or (Member(kind=self.kind, tracers=self.tracers),)


#: Stub fields the harness sets for each process itself (contracts: "The harness itself sets").
STUB_PROCESS_FIELDS = (
    "host",
    "port",
    "tracers",
    "tracer_index_base",
    "start_at",
    "start_signal",
    "boot_stagger_ms",
    "run_id",
    "agent_url",
    "log_level",
)
#: The stub's provider fields, and their keys in the ``provider`` section.
PROVIDER_KEYS = {"provider_mode": "mode", "provider_init_timeout_s": "init_timeout_s"}
#: Backend settings the harness applies as faults from the boot instant, not as variables.
BACKEND_WINDOW_VARIABLES = ("RC_BACKEND_OUTAGE_WINDOWS", "RC_BACKEND_RATE_LIMIT_WINDOWS")
AGENT_PROCESS_FIELDS = (
    "host",
    "port",
    "backend_url",
    "api_key",
    "run_id",
    "log_level",
    "rc_available_at",
)
BACKEND_PROCESS_FIELDS = ("host", "port", "run_id", "api_key", "admin_token", "log_level")

if TYPE_CHECKING:  # made at run time, from the services' settings
    Client = ServiceSection
    Provider = ServiceSection
    Agent = ServiceSection
    Backend = ServiceSection
else:
    Client = derive(
        "Client",
        StubSettings,
        module=__name__,
        exclude=(*STUB_PROCESS_FIELDS, *PROVIDER_KEYS),
        doc="The simulated tracer (``tracer_stub.settings``, ``RC_STUB_<FIELD>``); defaults are "
        "the stub's (libdatadog's client).",
    )
    Provider = derive(
        "Provider",
        StubSettings,
        module=__name__,
        only=PROVIDER_KEYS,
        rename=PROVIDER_KEYS,
        doc="The OpenFeature provider (the stub's ``provider_*`` settings, "
        "``RC_STUB_PROVIDER_<FIELD>``).",
    )
    Agent = derive(
        "Agent",
        AgentSettings,
        module=__name__,
        exclude=AGENT_PROCESS_FIELDS,
        doc="The agent's RC service (``agent.settings``, ``RC_AGENT_<FIELD>``); defaults from "
        "datadog-agent service.go.",
    )
    Backend = derive(
        "Backend",
        BackendSettings,
        module=__name__,
        exclude=BACKEND_PROCESS_FIELDS,
        doc="The RC backend (``fake_backend.settings``, ``RC_BACKEND_<FIELD>``); defaults are "
        "the fake backend's.",
    )


class Timeouts(Section):
    """How long the harness waits."""

    run_s: float = Field(
        default=120.0, gt=0, description="from the boot instant until we stop scraping"
    )
    startup_s: float = Field(
        default=30.0, gt=0, description="for every component to answer /health"
    )


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$"
"""A scenario name: it becomes part of a results folder's name (``results/<time>-<name>-<id>``
and ``<compare>/<name>/run-k``), so no path separator and no leading dot can escape it."""


class Scenario(Section):
    """Everything one run depends on."""

    name: str = Field(
        description="letters, digits, '.', '_' and '-', starting with a letter or digit (at "
        "most 64); part of the results folder's name",
    )
    description: str = ""
    fleet: Fleet = Fleet()
    client: Client = Client()
    provider: Provider = Provider()
    agent: Agent = Agent()
    backend: Backend = Backend()
    timeouts: Timeouts = Timeouts()
    validity: ValidityLimits = ValidityLimits()
    faults: tuple[FaultEvent, ...] = Field(
        default=(), description="timed events from the boot instant (harness.scenario.faults)"
    )

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        if not re.fullmatch(NAME_PATTERN, name):
            raise ValueError(
                f"{name!r} is not a scenario name: use letters, digits, '.', '_', '+' and '-', "
                "starting with a letter or digit, at most 100 (it names the results folder)"
            )
        return name

    @model_validator(mode="after")
    def _faults(self) -> Scenario:
        check_sequence(self.timed_faults())
        return self

    @model_validator(mode="after")
    def _same_flag(self) -> Scenario:
        if self.client.flag_key != self.backend.flag_key:
            raise ValueError(
                f"client.flag_key ({self.client.flag_key!r}) must equal backend.flag_key "
                f"({self.backend.flag_key!r}): the tracers evaluate the flag the backend serves"
            )
        return self

    def to_yaml(self) -> str:
        """The resolved scenario (every default filled in), loadable by :func:`load_scenario`."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def timed_faults(self) -> tuple[FaultEvent, ...]:
        """Every fault of the run from the boot instant, in time order: the ``faults`` section
        and the backend's ``outage_windows`` / ``rate_limit_windows`` settings."""
        windows = from_backend_windows(
            self.backend.outage_windows,
            self.backend.rate_limit_windows,
            self.backend.outage_status,
        )
        return tuple(sorted((*self.faults, *windows), key=lambda e: e.at_s))

    def backend_env(self) -> dict[str, str]:
        """``RC_BACKEND_*`` for the backend section's values that are set, but the fault
        windows: the harness arms them from the boot instant (:meth:`timed_faults`), not from
        the backend's own start."""
        env = self.backend.to_env()
        for key in BACKEND_WINDOW_VARIABLES:
            env.pop(key, None)
        return env

    def agent_env(self) -> dict[str, str]:
        """``RC_AGENT_*`` for the agent section's values that are set."""
        return self.agent.to_env()

    def stub_env(self) -> dict[str, str]:
        """``RC_STUB_*`` for the client and provider sections' values that are set."""
        return {**self.client.to_env(), **self.provider.to_env()}


def valid_keys(model: type[BaseModel] = Scenario, prefix: str = "") -> Iterator[str]:
    """Every dotted key a scenario accepts (``fleet.tracers``, ``agent.policy``, ...)."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            yield from valid_keys(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def apply_override(raw: dict[str, Any], assignment: str) -> None:
    """Apply one ``key.sub=value`` override (value parsed as a YAML scalar) to ``raw``."""
    key, sep, text = assignment.partition("=")
    key = key.strip()
    keys = list(valid_keys())
    if not sep or not key:
        raise ScenarioError(f"--set {assignment!r}: expected key=value, e.g. fleet.tracers=20")
    if key not in keys:
        raise ScenarioError(f"--set {key}: unknown key; valid keys: {', '.join(keys)}")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"--set {key}: value {text!r} is not a YAML scalar: {exc}") from exc
    node = raw
    *parents, leaf = key.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[leaf] = value
    if key == "fleet.members" and value:
        node.pop("tracers", None)  # the fleet is now the members: its size is their sum


def builtin_dir() -> Path:
    return Path(str(resources.files("harness.scenario") / "builtin"))


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, in the proposal's order where it has one."""
    order = [
        "baseline",
        "phase1",
        "phase2",
        "phase3",
        "instant",
        "loadtest-setup",
        "late-subscription",
        "agent-only",
        "agent-any-product",
        "agent-single-flight",
        "agent-new-products",
        "agent-warm",
        "agent-short-block",
        "client-go-2.10",
    ]
    names = sorted(p.stem for p in builtin_dir().glob("*.yaml"))
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))


def read_raw(name_or_path: str) -> tuple[dict[str, Any], str]:
    """The raw mapping of a built-in (by name) or a file (by path), and where it came from."""
    path = Path(name_or_path)
    builtin = builtin_dir() / f"{name_or_path}.yaml"
    if path.name == name_or_path and builtin.is_file():  # a name, dots allowed (client-go-2.10)
        path = builtin
    elif path.suffix not in (".yaml", ".yml", ".toml") and not path.is_file():
        raise ScenarioError(
            f"unknown scenario {name_or_path!r}: built-ins are "
            f"{', '.join(builtin_names())}, or give a path to a .yaml/.toml file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario file {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"scenario file {path} is not valid: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"scenario file {path}: expected a mapping at the top level")
    return data, str(path)


def with_profile(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` with the values of its ``client.profile`` (:mod:`tracer_stub.profiles`) beneath
    the client keys it gives explicitly; an unknown profile is left for validation to name."""
    out = dict(raw)
    client = out.get("client")
    if isinstance(client, Mapping) and client.get("profile") in PROFILES:
        out["client"] = {**PROFILES[client["profile"]].values, **client}
    return out


def validate(raw: Mapping[str, Any], source: str = "scenario") -> Scenario:
    """Validate a raw mapping (its client profile applied first); errors name every bad key."""
    try:
        return Scenario.model_validate(with_profile(raw))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
            problems.append(f"{loc}: {err['msg']}")
        raise ScenarioError(f"{source}: " + "; ".join(problems)) from exc


def load_scenario(name_or_path: str, overrides: Sequence[str] = ()) -> Scenario:
    """Load a built-in or a file, apply ``--set`` overrides, validate."""
    raw, source = read_raw(name_or_path)
    for assignment in overrides:
        apply_override(raw, assignment)
    return validate(raw, source)
