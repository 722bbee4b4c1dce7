"""The options every fleet-running command shares (``run``, ``compare``, and those built on
them), declared once, and the dependencies the CLI takes from its context (so that tests run a
whole command on an in-memory runtime without patching anything).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from harness.errors import ThresholdError
from harness.gates.metrics import metric_names
from harness.gates.thresholds import Threshold, parse_thresholds
from harness.run.placement import LocustOptions, Placement, runtime_factory
from harness.run.preflight import HostLimits
from harness.run.runner import RuntimeFactory
from harness.run.validity import MachineProbe, machine_probe_for
from harness.runtime import RUNTIME_NAMES, RuntimeChoice, choose_runtime
from harness.runtime.images import DEFAULT_IMAGE
from rc_protocol.clock import Clock


def default_out_dir(scenario: str, run_id: str) -> Path:
    """``results/<UTC time>-<scenario>-<run id>``: a run's folder when ``--out`` is not given."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("results") / f"{stamp}-{scenario}-{run_id}"


@dataclass(frozen=True)
class CliDeps:
    """What the commands run on: how a runtime is chosen and built, and the clock. The real
    ones by default; a test passes others as ``CliRunner().invoke(app, args, obj=CliDeps(...))``.
    """

    choose: Callable[[str, str], RuntimeChoice] = field(
        default=lambda requested, image: choose_runtime(requested, image=image)
    )
    factory: Callable[[RuntimeChoice, Placement], RuntimeFactory] = runtime_factory
    clock: Clock | None = None
    host: Callable[[], HostLimits] = HostLimits.probe
    """The machine's limits that preflight checks a fleet against."""
    machine: Callable[[str], MachineProbe | None] = machine_probe_for
    """The CPU counters of the machine a runtime's components run on (self-checks)."""


def deps_of(ctx: typer.Context) -> CliDeps:
    """The dependencies the command was invoked with (the real ones unless a test set them)."""
    return ctx.obj if isinstance(ctx.obj, CliDeps) else CliDeps()


THRESHOLD_HELP = (
    "A pass/fail gate, k6-style: 'METRIC OP VALUE[ms|s]', optionally scoped to one scenario "
    "with 'SCENARIO: ...' (repeatable), e.g. --threshold 'provider_ready.p99 < 1s' "
    "--threshold 'phase3: success_ratio >= 1'. A breach exits 99. Metrics: "
    + ", ".join(metric_names())
    + "."
)

Tracers = Annotated[
    int | None, typer.Option("--tracers", min=1, help="Fleet size (overrides fleet.tracers).")
]
TracerKindOption = Annotated[
    str | None,
    typer.Option(
        "--tracer-kind",
        help="Every tracer of this kind: stub|ddtrace-py|dd-trace-js (overrides fleet.kind; "
        "a real kind installs its pinned packages on first use). Mixed fleets: fleet.members.",
    ),
]
RuntimeName = Annotated[
    str,
    typer.Option(
        "--runtime",
        help=f"Where to run: {'|'.join(RUNTIME_NAMES)} (auto: Docker when an engine answers "
        "and has the harness image, else local).",
    ),
]
ResultsDir = Annotated[
    Path | None,
    typer.Option("--out", help="Results folder [default: results/<UTC time>-<scenario>-<run id>]."),
]

Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=1,
        help="Seconds from the boot instant until collection stops (overrides timeouts.run_s).",
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a scenario key, e.g. --set client.poll_interval_s=1 "
        "(repeatable; values are YAML scalars).",
    ),
]
PerProcess = Annotated[
    int | None,
    typer.Option(
        "--tracers-per-process",
        min=1,
        help="Local runtime: tracers hosted by one process "
        "[default: the scenario's fleet.tracers_per_process, else 25, or more so that at most "
        "5 tracer processes share a core; see README].",
    ),
]
PerContainer = Annotated[
    int | None,
    typer.Option(
        "--tracers-per-container",
        min=1,
        help="Docker runtime: tracers hosted by one container (default: as for local processes, "
        "--tracers-per-process and its default). 1 gives each tracer its own container "
        "and Python process: on a small machine their start-up and event loops add a delay of "
        "their own, which the run's validity block reports.",
    ),
]
Image = Annotated[
    str,
    typer.Option("--image", envvar="HARNESS_IMAGE", help="Docker runtime: the harness image."),
]
LocustWorkers = Annotated[
    int | None,
    typer.Option(
        "--locust-workers",
        min=0,
        help="Locust runtime: local Locust workers [default: one per core].",
    ),
]
LocustExtraWorkers = Annotated[
    int,
    typer.Option(
        "--locust-extra-workers",
        min=0,
        help="Locust runtime: workers joining from other machines, waited for too "
        "(`locust --worker -f tracer_locust/locustfile.py --master-host ...`; see README).",
    ),
]
LocustMasterBind = Annotated[
    str,
    typer.Option(
        "--locust-master-bind",
        help="Locust runtime: where the master listens for workers (0.0.0.0 for other "
        "machines; the port is then 5557 unless --locust-master-port).",
    ),
]
LocustMasterPort = Annotated[
    int | None,
    typer.Option("--locust-master-port", min=1, max=65535, help="Locust runtime: master port."),
]
LocustUi = Annotated[
    bool,
    typer.Option(
        "--locust-ui",
        help="Locust runtime: serve Locust's web UI on 127.0.0.1 (--locust-ui-port) while the "
        "run lasts.",
    ),
]
LocustUiPort = Annotated[
    int, typer.Option("--locust-ui-port", min=1, max=65535, help="Locust runtime: web UI port.")
]
Thresholds = Annotated[list[str] | None, typer.Option("--threshold", help=THRESHOLD_HELP)]
Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace a non-empty --out (refused otherwise); the old results are removed only "
        "once the new ones are in place.",
    ),
]
Junit = Annotated[
    Path | None,
    typer.Option("--junit", help="Also write JUnit XML here (one testcase per run and threshold)."),
]


@dataclass(frozen=True)
class FleetOptions:
    """The shared options of one command, parsed."""

    overrides: tuple[str, ...]
    """``--set`` assignments, plus those ``--tracers`` and ``--timeout`` stand for."""
    placement: Placement
    thresholds: tuple[Threshold, ...]
    junit: Path | None


def parse_threshold_options(expressions: Iterable[str] | None) -> tuple[Threshold, ...]:
    """Parse ``--threshold`` values; a bad one is a usage error (exit 2) naming it."""
    try:
        return tuple(parse_thresholds(expressions or []))
    except ThresholdError as exc:
        raise typer.BadParameter(str(exc), param_hint="--threshold") from exc


def fleet_options(
    *,
    tracers: int | None,
    timeout: float | None,
    overrides: Sequence[str] | None,
    placement: Placement,
    thresholds: Iterable[str] | None = None,
    junit: Path | None = None,
    tracer_kind: str | None = None,
) -> FleetOptions:
    """Parse the shared options; ``--tracers``, ``--timeout`` and ``--tracer-kind`` become
    ``--set`` assignments."""
    assignments = list(overrides or [])
    if tracer_kind is not None:
        assignments.append(f"fleet.kind={tracer_kind}")
    if tracers is not None:
        assignments.append(f"fleet.tracers={tracers}")
    if timeout is not None:
        assignments.append(f"timeouts.run_s={timeout}")
    return FleetOptions(tuple(assignments), placement, parse_threshold_options(thresholds), junit)


def locust_options(
    workers: int | None,
    extra_workers: int,
    master_bind: str,
    master_port: int | None,
    ui: bool,
    ui_port: int,
) -> LocustOptions:
    """The ``--locust-*`` options, parsed."""
    return LocustOptions(
        workers=workers,
        extra_workers=extra_workers,
        master_bind_host=master_bind,
        master_port=master_port,
        web_ui=ui,
        web_port=ui_port,
    )


__all__ = [
    "DEFAULT_IMAGE",
    "CliDeps",
    "FleetOptions",
    "default_out_dir",
    "deps_of",
    "fleet_options",
    "locust_options",
    "parse_threshold_options",
]
