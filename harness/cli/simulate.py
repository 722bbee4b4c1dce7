"""``harness simulate``: the same scenario, in virtual time, for many agents against one backend
(:mod:`harness.simulate`). It takes ``harness run``'s scenario options (``--scenario``,
``--tracers``, ``--set``, ``--timeout``, ``--threshold``, ``--junit``) plus how many agents and
how their boots are spread, shows progress on stderr, and writes a results folder."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from harness.cli.exit import EXIT_INTERRUPTED, fail
from harness.cli.gate import gate_run
from harness.cli.options import (
    Junit,
    Overrides,
    ResultsDir,
    Thresholds,
    Timeout,
    Tracers,
    default_out_dir,
    fleet_options,
)
from harness.errors import HarnessError, ThresholdError
from harness.gates.thresholds import check_scope
from harness.run.placement import Placement
from harness.run.startup import new_run_id
from harness.scenario.model import load_scenario
from harness.simulate.engine import SimProgress
from harness.simulate.fleet import AGENT_BOOTS, SimOptions
from harness.simulate.run import simulate as run_simulation


def progress_line(p: SimProgress) -> str:
    """``[  12.5s simulated,   3.1s wall] ready 40/100  timeout 0  error 0  backend calls 7``

    >>> progress_line(SimProgress(12.5, 3.14, 100, 40, 0, 1, 7, 2))
    '[  12.5s simulated,    3.1s wall] ready 40/100  timeout 0  error 1  backend calls 7 (429: 2)'
    """
    line = (
        f"[{p.virtual_s:6.1f}s simulated, {p.wall_s:6.1f}s wall] ready {p.ready:,}/{p.total:,}"
        f"  timeout {p.timeout:,}  error {p.error:,}  backend calls {p.backend_calls:,}"
    )
    return line + (f" (429: {p.rejected:,})" if p.rejected else "")


@contextmanager
def sim_progress(console: Console) -> Iterator[Callable[[SimProgress], None]]:
    """A progress callback: a live line on a terminal, a line every 5 s of wall time otherwise."""
    if console.is_terminal:
        with Live(Text(""), console=console, transient=True, refresh_per_second=4) as live:

            def show(p: SimProgress) -> None:
                if p.message:
                    live.console.print(p.message, markup=False, highlight=False)
                else:
                    live.update(Text(progress_line(p)))

            yield show
        return
    last = {"t": -1e9}

    def plain(p: SimProgress) -> None:
        now = time.monotonic()
        if p.message or now - last["t"] >= 5.0:
            console.print(p.message or progress_line(p), markup=False, highlight=False)
            last["t"] = now

    yield plain


def simulate(
    tracers: Tracers = None,
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario", help="A built-in name (see `harness scenarios`) or a .yaml/.toml path."
        ),
    ] = "baseline",
    agents: Annotated[
        int, typer.Option("--agents", min=1, help="Agents, each with fleet.tracers tracers.")
    ] = 1,
    agent_boot: Annotated[
        str,
        typer.Option(
            "--agent-boot",
            help=f"How agents' boots are spread: {'|'.join(AGENT_BOOTS)} (random: uniform "
            "over --boot-spread-s, seeded).",
        ),
    ] = "random",
    boot_spread_s: Annotated[
        float, typer.Option("--boot-spread-s", min=0, help="Span of the agents' boots (s).")
    ] = 30.0,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the boots and of every unseeded model RNG.")
    ] = 0,
    start_wall: Annotated[
        float | None,
        typer.Option(
            "--start-wall",
            help="Simulated unix time at the start [default: now]; with --seed, repeats a "
            "simulation exactly (the agents' limiter windows are aligned to the wall clock).",
        ),
    ] = None,
    keep_polling: Annotated[
        bool,
        typer.Option(
            "--keep-polling",
            help="Simulate every poll of fleets that have settled (slower; only the agents' "
            "request counters change, see harness/simulate/engine.py).",
        ),
    ] = False,
    out: ResultsDir = None,
    timeout: Timeout = None,
    overrides: Overrides = None,
    thresholds: Thresholds = None,
    junit: Junit = None,
) -> None:
    """Simulate many agents with their tracers against one backend, in virtual time."""
    opts = fleet_options(
        tracers=tracers,
        timeout=timeout,
        overrides=overrides,
        placement=Placement(),
        thresholds=thresholds,
        junit=junit,
    )
    try:
        loaded = load_scenario(scenario, opts.overrides)
        try:
            check_scope(opts.thresholds, loaded.name)
        except ThresholdError as exc:
            raise typer.BadParameter(str(exc), param_hint="--threshold") from exc
        options = SimOptions(
            agents=agents,
            agent_boot=agent_boot,  # type: ignore[arg-type]  # checked by SimOptions
            boot_spread_s=boot_spread_s,
            seed=seed,
        )
        run_id = new_run_id()
        out_dir = out or default_out_dir(loaded.name, run_id)
        err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
        err.print(
            f"simulate: {loaded.name}, {agents:,} agents x {loaded.fleet.tracers:,} tracers "
            f"against one backend, run id {run_id}"
        )
        with sim_progress(err) as show:
            result = run_simulation(
                loaded,
                options,
                out_dir,
                run_id=run_id,
                start_wall=start_wall,
                progress=show,
                keep_polling=keep_polling,
            )
    except KeyboardInterrupt:
        fail("interrupted: nothing left running (a simulation has no process)", EXIT_INTERRUPTED)
    except HarnessError as exc:
        fail(str(exc))
    sys.stdout.write(result.report)
    typer.echo(f"\nresults: {result.out_dir}")
    gate_run(result.summary, opts.thresholds, result.out_dir, opts.junit)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the main CLI."""
    app.command("simulate")(simulate)
