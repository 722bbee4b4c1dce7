"""The simulation agrees with the local runtime (1 agent, a small fleet): per percentile p10..p90
of the provider-ready times, within 10 % or 50 ms (``harness.simulate.agreement``). Real
processes: marked e2e. The full-size comparison is ``benchmarks/simulate_agreement.py``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.results.samples import read_samples, ready_times_ms
from harness.simulate.agreement import agree, agreement_table

pytestmark = pytest.mark.e2e

TRACERS = "10"


def harness(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("scenario", ["baseline", "phase3"])
def test_simulation_agrees_with_the_local_runtime(tmp_path: Path, scenario: str) -> None:
    real, sim = tmp_path / "local", tmp_path / "simulate"
    harness("run", "--runtime", "local", "--scenario", scenario, "--tracers", TRACERS,
            "--out", str(real))  # fmt: skip
    harness("simulate", "--agents", "1", "--scenario", scenario, "--tracers", TRACERS,
            "--out", str(sim))  # fmt: skip
    real_ms = ready_times_ms(read_samples(real / "samples.csv"))
    sim_ms = ready_times_ms(read_samples(sim / "samples.csv"))
    assert len(real_ms) == len(sim_ms) == int(TRACERS)
    checks = agree(real_ms, sim_ms)
    assert all(c.ok for c in checks), "\n" + agreement_table(checks)
