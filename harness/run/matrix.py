"""``harness matrix`` as library code: plan the cells (set-ups x client variants x agent
designs), run each ``repeat`` times in interleaved rounds, rewrite ``matrix.json`` after every
run, then check the thresholds and write the HTML page.

The pure part (figures, ``matrix.json``, thresholds on cells) is :mod:`harness.studies.matrix`;
the scenario of a cell is :func:`harness.scenario.designs.cell_scenario`. Every cell is built and
validated before anything runs, so that a typo fails in a second, not after an hour. A run that
fails is recorded and the matrix goes on; an interrupt stops it after saving what ran.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import HarnessError, Interrupted, ScenarioError
from harness.gates.thresholds import Threshold
from harness.report.html.matrix_page import write_matrix_html
from harness.report.reference import PROVIDER_READY_EVENT_MS
from harness.results.summary import Summary
from harness.run.events import ProgressFn
from harness.run.runner import RuntimeFactory, run_scenario
from harness.scenario.designs import (
    AgentDesign,
    ClientVariant,
    cell_id,
    cell_scenario,
    setup_name,
)
from harness.scenario.model import Scenario, load_scenario
from harness.studies.matrix import (
    CellEntry,
    ClientInfo,
    DesignInfo,
    MatrixDoc,
    Reference,
    RunEntry,
    SetupInfo,
    cell_entry,
    check_matrix_scopes,
    evaluate_cells,
    run_figures,
    threshold_entries,
    write_matrix_json,
)
from rc_protocol.clock import Clock

REFERENCE_LABEL = (
    "the proposal's load test: 100 dd-trace-go v2.5.0 tracers, one Agent, Docker Desktop, "
    "SetProvider with event handlers"
)

REFERENCE_PROFILE = "go-2.5"
"""The client profile of the proposal's fleet (dd-trace-go v2.5.0)."""

Notify = Callable[[str], None]
ProgressFor = Callable[[Scenario], AbstractContextManager[ProgressFn]]
LoadAverage = Callable[[], tuple[float, float, float]]


@dataclass(frozen=True)
class Cell:
    """One planned cell: its three names and its scenario."""

    setup: str
    client: str
    agent: str
    scenario: Scenario

    @property
    def id(self) -> str:
        return cell_id(self.setup, self.client, self.agent)


@dataclass(frozen=True)
class MatrixPlan:
    """Every cell of a matrix, validated, and what the report says about each axis."""

    cells: tuple[Cell, ...]
    repeat: int
    overrides: tuple[str, ...]
    setups: tuple[SetupInfo, ...]
    clients: tuple[ClientInfo, ...]
    agents: tuple[DesignInfo, ...]


def _distinct(kind: str, names: Sequence[str]) -> None:
    if not names:
        raise ScenarioError(f"the matrix needs at least one {kind}")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ScenarioError(f"{kind} {name!r} is listed twice")
        seen.add(name)


def plan_matrix(
    setups: Sequence[str],
    clients: Sequence[ClientVariant],
    agents: Sequence[AgentDesign],
    *,
    repeat: int,
    overrides: Sequence[str] = (),
) -> MatrixPlan:
    """Build and validate every cell (set-ups outermost, then clients, then designs)."""
    if repeat < 1:
        raise ScenarioError(f"--repeat must be at least 1, not {repeat}")
    _distinct("set-up", [setup_name(s) for s in setups])
    _distinct("client", [c.name for c in clients])
    _distinct("agent design", [a.name for a in agents])
    cells = tuple(
        Cell(setup_name(s), c.name, a.name, cell_scenario(s, c, a, overrides))
        for s in setups
        for c in clients
        for a in agents
    )
    by_setup = {cell.setup: cell.scenario for cell in cells}
    by_client = {cell.client: cell.scenario for cell in cells}
    return MatrixPlan(
        cells=cells,
        repeat=repeat,
        overrides=tuple(overrides),
        setups=tuple(_setup_info(s, by_setup[setup_name(s)]) for s in setups),
        clients=tuple(_client_info(c, by_client[c.name]) for c in clients),
        agents=tuple(DesignInfo(name=a.name, title=a.title, agent=dict(a.agent)) for a in agents),
    )


def _setup_info(source: str, scenario: Scenario) -> SetupInfo:
    return SetupInfo(
        name=setup_name(source),
        source=source,
        description=load_scenario(source).description,
        boot=scenario.fleet.boot,
        ramp_s=scenario.fleet.ramp_s,
        agent_start=scenario.fleet.agent_start,
        rc_unavailable_s=scenario.agent.rc_unavailable_s,
        provider_delay_ms=scenario.client.provider_delay_ms,
    )


def _client_info(variant: ClientVariant, scenario: Scenario) -> ClientInfo:
    client = scenario.client
    return ClientInfo(
        name=variant.name,
        profile=variant.profile,
        policy=variant.policy,
        language=variant.language,
        description=variant.description,
        first_poll=str(client.first_poll),
        request_timeout_s=client.request_timeout_s,
        ffe_subscription=client.ffe_subscription,
    )


@dataclass(frozen=True)
class MatrixOutcome:
    """A finished (or interrupted) matrix: its document and where its files are."""

    doc: MatrixDoc
    out_dir: Path
    html: Path | None
    summaries: dict[str, list[Summary]]


def run_dir_for(out: Path, cell: Cell, index: int) -> Path:
    """``<out>/<setup>/<client>/<agent>/run-<k>``, the results folder of one run of a cell."""
    return out / cell.setup / cell.client / cell.agent / f"run-{index}"


@dataclass
class _State:
    """What has run so far (rebuilt into ``matrix.json`` after every run)."""

    plan: MatrixPlan
    head: dict[str, object]
    runs: dict[str, list[RunEntry]]
    summaries: dict[str, list[Summary]]

    def doc(self, *, complete: bool, thresholds: Sequence[Threshold] = ()) -> MatrixDoc:
        cells: list[CellEntry] = [
            cell_entry(c.setup, c.client, c.agent, c.id, self.runs[c.id]) for c in self.plan.cells
        ]
        checked = evaluate_cells(thresholds, self.summaries) if complete else []
        return MatrixDoc.model_validate(
            {
                **self.head,
                "complete": complete,
                "cells": [c.model_dump() for c in cells],
                "thresholds": [t.model_dump() for t in threshold_entries(checked)],
            }
        )


def run_matrix(
    plan: MatrixPlan,
    *,
    out_dir: Path,
    runtime_factory: RuntimeFactory,
    runtime_name: str,
    per_process: int | None,
    command: str,
    matrix_id: str,
    thresholds: Sequence[Threshold] = (),
    clock: Clock | None = None,
    notify: Notify | None = None,
    progress_for: ProgressFor | None = None,
    load_average: LoadAverage = os.getloadavg,
    monotonic: Callable[[], float] = time.monotonic,
) -> MatrixOutcome:
    """Run every cell ``plan.repeat`` times into ``out_dir``; see the module docstring."""
    check_matrix_scopes(thresholds, [c.id for c in plan.cells])
    say = notify or (lambda _m: None)
    load: dict[str, list[float]] = {"before": list(load_average())}
    head: dict[str, object] = {
        "matrix_id": matrix_id,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "runtime": runtime_name,
        "tracers": plan.cells[0].scenario.fleet.tracers,
        "repeat": plan.repeat,
        "overrides": list(plan.overrides),
        "command": command,
        "load_average": load,
        "setups": [s.model_dump() for s in plan.setups],
        "clients": [c.model_dump() for c in plan.clients],
        "agents": [a.model_dump() for a in plan.agents],
        "reference": Reference(
            label=REFERENCE_LABEL,
            tracers=100,
            profile=REFERENCE_PROFILE,
            provider_ready_ms={k: float(v) for k, v in PROVIDER_READY_EVENT_MS.items()},
        ).model_dump(),
    }
    state = _State(plan, head, {c.id: [] for c in plan.cells}, {c.id: [] for c in plan.cells})
    write_matrix_json(out_dir, state.doc(complete=False))
    total = len(plan.cells) * plan.repeat
    done = 0
    began = monotonic()
    try:
        for index in range(1, plan.repeat + 1):
            for cell in plan.cells:
                done += 1
                run_dir = run_dir_for(out_dir, cell, index)
                say(f"[{done}/{total}] {cell.id} run-{index} → {run_dir}")
                started = monotonic()
                entry = _run_cell(
                    cell,
                    index,
                    run_dir,
                    out_dir,
                    state,
                    runtime_factory,
                    clock,
                    per_process,
                    progress_for,
                    monotonic,
                )
                state.runs[cell.id].append(entry)
                write_matrix_json(out_dir, state.doc(complete=False))
                say(
                    _after_line(
                        done, total, cell, entry, monotonic() - started, monotonic() - began
                    )
                )
    except (Interrupted, KeyboardInterrupt):
        load["after"] = list(load_average())
        doc = state.doc(complete=False)
        write_matrix_json(out_dir, doc)
        write_matrix_html(out_dir, doc)
        say(f"interrupted: {done - 1} of {total} runs saved in {out_dir} (matrix.json)")
        raise
    head["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    load["after"] = list(load_average())
    doc = state.doc(complete=True, thresholds=thresholds)
    write_matrix_json(out_dir, doc)
    return MatrixOutcome(doc, out_dir, write_matrix_html(out_dir, doc), state.summaries)


def _run_cell(
    cell: Cell,
    index: int,
    run_dir: Path,
    out_dir: Path,
    state: _State,
    runtime_factory: RuntimeFactory,
    clock: Clock | None,
    per_process: int | None,
    progress_for: ProgressFor | None,
    monotonic: Callable[[], float],
) -> RunEntry:
    started = monotonic()
    name = f"run-{index}"
    where = str(run_dir.relative_to(out_dir))
    try:
        if progress_for is None:
            result = run_scenario(
                cell.scenario,
                run_dir,
                runtime_factory,
                clock=clock,
                tracers_per_process=per_process,
            )
        else:
            with progress_for(cell.scenario) as progress:
                result = run_scenario(
                    cell.scenario,
                    run_dir,
                    runtime_factory,
                    clock=clock,
                    progress=progress,
                    tracers_per_process=per_process,
                )
    except (Interrupted, KeyboardInterrupt):
        raise
    except HarnessError as exc:
        return RunEntry(
            run=name,
            dir=where,
            ok=False,
            error=str(exc).splitlines()[0],
            duration_s=round(monotonic() - started, 3),
        )
    state.summaries[cell.id].append(result.summary)
    return RunEntry(
        run=name,
        dir=where,
        ok=True,
        duration_s=round(monotonic() - started, 3),
        figures=run_figures(result.summary),
    )


def _after_line(
    done: int, total: int, cell: Cell, entry: RunEntry, took_s: float, elapsed_s: float
) -> str:
    left = (total - done) * elapsed_s / done
    eta = f"about {left / 60:.0f} min left" if done < total else "done"
    if not entry.ok or entry.figures is None:
        return f"[{done}/{total}] {cell.id} {entry.run} failed: {entry.error}  ({eta})"
    f = entry.figures
    ready = (
        "n/a"
        if f.ready_p50_ms is None
        else f"p50 {f.ready_p50_ms:,.0f}ms max {f.ready_max_ms:,.0f}ms"
    )
    return (
        f"[{done}/{total}] {cell.id} {entry.run}: provider ready {ready}, success "
        f"{f.success}/{f.tracers}, {took_s:.0f}s  ({eta})"
    )
