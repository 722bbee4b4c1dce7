"""``harness validate``: run a scenario with real tracers of one kind, then with stubs of the
matching client profile, on the same runtime, and compare (:mod:`harness.studies.validate`).

Both runs are the scenario with ``fleet.tracers=N``; the real one with ``fleet.kind=KIND``, the
stub one with ``fleet.kind=stub`` and ``client.profile=<profile of KIND>`` (client keys the
scenario gives explicitly still win over the profile, as everywhere), booting with the real
fleet's measured start instants (``fleet.start_offsets_ms``): stub tracer i starts, and its
client polls, when real tracer i's start ended (its barrier wake-up plus its own start cost,
at whose end the real client sends its first poll). Real tracers do not reach the agent in
one instant: their first polls spread over a few hundred milliseconds, and against the agent's
1 s refresh spacing and 2 s bypass budget that spread decides who is served by a bypass
refresh in time (docs/real-tracers.md, "Validation"). They go to
``OUT/real`` and ``OUT/stub``; ``OUT/validate.json`` and ``OUT/validate.html`` hold the
comparison. :func:`compare_saved` compares two saved runs again (another tolerance) without
running anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from harness.report.html.validate_page import validate_html
from harness.results.folder import load_summary
from harness.results.samples import TracerSample, read_samples
from harness.run.events import Progress, ProgressFn, ignore_progress
from harness.run.runner import RunResult, RuntimeFactory, run_scenario
from harness.scenario.model import Scenario, load_scenario
from harness.studies.validate import (
    PROFILE_OF,
    Tolerance,
    ValidateError,
    Validation,
    compare,
    rc_delays_ms,
    side_of,
)
from rc_protocol.clock import Clock

VALIDATE_JSON = "validate.json"
VALIDATE_HTML = "validate.html"


@dataclass(frozen=True)
class ValidateRequest:
    """What to validate and how."""

    kind: str
    tracers: int
    scenario: str = "baseline"
    overrides: Sequence[str] = ()
    tolerance: Tolerance = field(default_factory=Tolerance)
    tracers_per_process: int | None = None


def validate_kind(
    request: ValidateRequest,
    out_dir: Path,
    runtime_factory: RuntimeFactory,
    runtime_name: str,
    *,
    clock: Clock | None = None,
    progress: ProgressFn = ignore_progress,
) -> Validation:
    """Both runs, the comparison, ``validate.json`` and ``validate.html`` in ``out_dir``."""
    if request.kind not in PROFILE_OF:
        raise ValidateError(
            f"--tracer-kind {request.kind!r}: validate compares a real tracer with the stub; "
            f"choose one of {', '.join(PROFILE_OF)}"
        )
    profile = PROFILE_OF[request.kind]
    common = [*request.overrides, f"fleet.tracers={request.tracers}", "fleet.members=[]"]
    real = load_scenario(request.scenario, [*common, f"fleet.kind={request.kind}"])
    results: dict[str, RunResult] = {}
    progress(Progress(f"validate: the real run ({request.kind})"))
    results["real"] = run_scenario(
        real, out_dir / "real", runtime_factory, clock=clock, progress=progress
    )
    offsets = start_offsets_ms(results["real"])
    stub_keys = [
        "fleet.kind=stub",
        f"client.profile={profile}",
        f"fleet.start_offsets_ms={offsets}",
    ]
    stub = load_scenario(request.scenario, [*common, *stub_keys])
    progress(Progress(f"validate: the stub run ({profile}, at the real run's start instants)"))
    results["stub"] = run_scenario(
        stub,
        out_dir / "stub",
        runtime_factory,
        clock=clock,
        progress=progress,
        tracers_per_process=request.tracers_per_process,
    )
    return _conclude(
        request, real, out_dir, runtime_name, results["real"].samples, results["stub"].samples
    )


def start_offsets_ms(result: RunResult) -> list[float]:
    """Per tracer, in index order: ms from the boot instant to the end of its start (0 for a
    tracer that never reported one)."""
    boot = datetime.fromisoformat(result.summary.boot_at).timestamp()
    offsets = []
    for row in sorted(result.samples, key=lambda r: r.tracer):
        if row.start_wall is None:
            offsets.append(0.0)
        else:
            offset = (row.start_wall - boot) * 1000.0 + (row.start_ms or 0)
            offsets.append(round(max(0.0, offset), 1))
    return offsets


def compare_saved(request: ValidateRequest, out_dir: Path) -> Validation:
    """Compare the runs already saved in ``out_dir/real`` and ``out_dir/stub`` again."""
    summary = load_summary(out_dir / "real")
    rows = {side: read_samples(out_dir / side / "samples.csv") for side in ("real", "stub")}
    if not rows["real"] or not rows["stub"]:
        raise ValidateError(f"{out_dir}: no saved real/ and stub/ runs to compare")
    real = load_scenario(str(out_dir / "real" / "scenario.yaml"))
    return _conclude(request, real, out_dir, summary.runtime, rows["real"], rows["stub"])


def _conclude(
    request: ValidateRequest,
    real: Scenario,
    out_dir: Path,
    runtime_name: str,
    real_rows: Sequence[TracerSample],
    stub_rows: Sequence[TracerSample],
) -> Validation:
    real_ms, stub_ms = rc_delays_ms(real_rows), rc_delays_ms(stub_rows)
    rows, ks, problems = compare(
        real_ms, stub_ms, request.tolerance, real_fleet=len(real_rows), stub_fleet=len(stub_rows)
    )
    validation = Validation(
        kind=request.kind,
        profile=PROFILE_OF[request.kind],
        scenario=real.name,
        agent_policy=str(real.agent.policy),
        runtime=runtime_name,
        tolerance=request.tolerance.describe(),
        real=side_of(request.kind, real_rows, str(out_dir / "real")),
        stub=side_of("stub", stub_rows, str(out_dir / "stub")),
        rows=rows,
        ks_statistic=ks,
        passed=all(r.ok for r in rows),
        problems=problems,
    )
    (out_dir / VALIDATE_JSON).write_text(
        json.dumps(validation.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8"
    )
    (out_dir / VALIDATE_HTML).write_text(
        validate_html(validation, real_ms, stub_ms), encoding="utf-8"
    )
    return validation
