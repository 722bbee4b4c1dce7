"""Scenarios: a typed description of everything a run depends on.

A scenario is a YAML (or TOML) file with the sections below. Every field has the real default
from the reference docs (``docs/contracts.md`` lists the minimum; the agent's constants come
from datadog-agent ``pkg/config/remote/service/service.go``). Unknown keys are errors that name
the key. ``harness run`` writes the resolved scenario (every default filled in) as
``scenario.yaml`` in the results folder; loading that file back reproduces the run.

Sections map to service environment variables (``docs/contracts.md``): ``backend.<field>`` →
``RC_BACKEND_<FIELD>``, ``agent.<field>`` → ``RC_AGENT_<FIELD>``, ``client.<field>`` →
``RC_STUB_<FIELD>``, ``provider.<field>`` → ``RC_STUB_PROVIDER_<FIELD>`` (the stub's settings
are ``provider_mode`` and ``provider_init_timeout_s``). Unset (``null``) values are not passed,
so the service applies its own rule (e.g. the agent's refresh interval: 60 s, and the backend may
override it).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import ScenarioError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fleet(_Section):
    """How many tracers and how they boot."""

    tracers: int = Field(default=100, ge=1, description="simulated tracers in the fleet")
    boot: Literal["all_at_once", "ramp"] = "all_at_once"
    ramp_s: float = Field(
        default=0.0, ge=0, description="ramp: tracer starts spread over this span"
    )
    tracers_per_process: int | None = Field(
        default=None, ge=1, description="local packing; null = the harness default"
    )


class Client(_Section):
    """The simulated tracer (stub settings, ``RC_STUB_<FIELD>``); defaults are the stub's
    (libdatadog's client, see ``tracer_stub.settings``)."""

    client_policy: Literal["legacy", "phase1", "fastlane"] = "legacy"
    products: list[str] = Field(default_factory=lambda: ["APM_TRACING", "FFE_FLAGS"])
    poll_interval_s: float = Field(default=5.0, gt=0)
    first_poll: Literal["immediate", "after_interval"] = "immediate"
    poll_scheduling: Literal["fixed_delay", "fixed_rate"] = "fixed_delay"
    ffe_subscription: Literal["start", "provider"] = "start"
    request_timeout_s: float = Field(default=3.0, gt=0)
    fast_lane_enabled: bool = True
    fast_lane_interval_ms: float = Field(default=1000.0, gt=0)
    fast_lane_initial_interval_ms: float = Field(default=0.0, ge=0)
    max_backoff_s: float = Field(default=30.0, gt=0)
    backoff_max_exponent: int = Field(default=3, ge=0)
    standard_permits: int = Field(default=100, ge=1)
    fast_lane_permits: int = Field(default=20, ge=1)
    shared_multitarget: bool = False
    wire_bytes: Literal["array", "base64"] = "array"
    http_keepalive: bool = True
    report_errors: bool = False
    service: str = "rc-stub"
    service_suffix_index: bool = True
    env: str = "prod"
    version: str = "1.0.0"
    language: str = "go"
    tracer_version: str = "v2.5.0"
    flag_key: str = "rc-fastlane-flag"
    flag_default: bool = False
    tracer_start_cost_ms: float = Field(default=0.0, ge=0)
    seed: int | None = None


class Provider(_Section):
    """The OpenFeature provider (``RC_STUB_PROVIDER_<FIELD>``)."""

    mode: Literal["event", "wait"] = "event"
    init_timeout_s: float = Field(default=30.0, gt=0)


class Agent(_Section):
    """The agent's RC service (``RC_AGENT_<FIELD>``); defaults from datadog-agent service.go."""

    policy: Literal["legacy", "fastlane"] = "legacy"
    refresh_interval_s: float | None = None
    clients_ttl_s: float = 30.0
    cache_bypass_limit: int = 5
    new_client_block_ttl_s: float = 2.0
    refresh_spacing_s: float = 1.0
    max_backoff_interval_s: float = 300.0
    fast_lane_cache_bypass_limit: int = 50
    fast_lane_block_ttl_ms: float = 500.0
    max_body_bytes: int = 5 * 1024 * 1024
    backend_timeout_s: float = 30.0
    hostname: str = "rc-agent-model"
    agent_version: str = "7.70.0"
    trace_agent_env: str = ""
    seed: int | None = None
    serve_cost_ms: float = Field(
        default=0.0, ge=0, description="diagnostic, not a real constant (agent.settings)"
    )
    rc_unavailable_s: float = Field(
        default=0.0, ge=0, description="diagnostic, not a real constant (agent.settings)"
    )
    prefetch_products: str = Field(
        default="", description="calibration only, not a real setting (agent.settings)"
    )


class Backend(_Section):
    """The RC backend (``RC_BACKEND_<FIELD>``); defaults are the fake backend's."""

    org_id: int = Field(default=2, gt=0)
    org_uuid: str = "8f7ad9a1-7e3b-4c1c-9f4e-000000000002"
    rc_enabled: bool = True
    rc_authorized: bool = True
    products: list[str] = Field(default_factory=lambda: ["FFE_FLAGS"])
    flag_key: str = "rc-fastlane-flag"
    flag_environment: str = "prod"
    asm_data_bytes: int = Field(default=300 * 1024, gt=0)
    agent_refresh_interval_s: int | None = None
    target_files: Literal["changed", "all"] = "changed"
    targets_expires_s: int = Field(default=5 * 365 * 24 * 3600, gt=0)
    latency_ms: int = Field(default=0, ge=0)
    latency_spread_ms: int = Field(default=0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    error_status: Literal[500, 503] = 500
    seed: int = 0
    rate_limit_windows: str = ""
    outage_windows: str = ""
    outage_status: int = Field(default=503, ge=400, le=599)


class Timeouts(_Section):
    """How long the harness waits."""

    run_s: float = Field(
        default=120.0, gt=0, description="from the boot instant until we stop scraping"
    )
    startup_s: float = Field(
        default=30.0, gt=0, description="for every component to answer /health"
    )


class Scenario(_Section):
    """Everything one run depends on."""

    name: str
    description: str = ""
    fleet: Fleet = Fleet()
    client: Client = Client()
    provider: Provider = Provider()
    agent: Agent = Agent()
    backend: Backend = Backend()
    timeouts: Timeouts = Timeouts()

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

    def backend_env(self) -> dict[str, str]:
        return _env("RC_BACKEND_", self.backend.model_dump(mode="json"))

    def agent_env(self) -> dict[str, str]:
        return _env("RC_AGENT_", self.agent.model_dump(mode="json"))

    def stub_env(self) -> dict[str, str]:
        env = _env("RC_STUB_", self.client.model_dump(mode="json"))
        env.update(_env("RC_STUB_PROVIDER_", self.provider.model_dump(mode="json")))
        return env


def _env(prefix: str, fields: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, list):
            text = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        out[prefix + key.upper()] = text
    return out


def valid_keys(model: type[BaseModel] = Scenario, prefix: str = "") -> Iterator[str]:
    """Every dotted key a scenario accepts (``fleet.tracers``, ``agent.policy``, ...)."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, _Section):
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


def builtin_dir() -> Path:
    return Path(str(resources.files("harness.scenario") / "builtin"))


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, in the proposal's order where it has one."""
    order = ["baseline", "phase1", "phase2", "phase3", "instant"]
    names = sorted(p.stem for p in builtin_dir().glob("*.yaml"))
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))


def read_raw(name_or_path: str) -> tuple[dict[str, Any], str]:
    """The raw mapping of a built-in (by name) or a file (by path), and where it came from."""
    path = Path(name_or_path)
    if not path.suffix:
        candidate = builtin_dir() / f"{name_or_path}.yaml"
        if candidate.is_file():
            path = candidate
        elif not path.is_file():
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


def validate(raw: Mapping[str, Any], source: str = "scenario") -> Scenario:
    """Validate a raw mapping; errors name every bad key."""
    try:
        return Scenario.model_validate(raw)
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
