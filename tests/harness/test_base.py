"""The runtime interface's shared part: a runtime closes on every exit path, and a clean-up that
fails after the run failed is added to the run's error instead of hiding it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from harness.errors import ComponentStartError, HarnessError, RuntimeErrorBase
from harness.runtime.base import ClosesOnExit


class Sticky(ClosesOnExit):
    """A runtime whose clean-up fails (a network Docker will not remove)."""

    closed = 0

    def close(self) -> None:
        self.closed += 1
        raise RuntimeErrorBase("cannot remove network rcfl-x: it has active endpoints")


def test_a_failed_clean_up_is_a_note_on_the_run_s_own_error() -> None:
    runtime = Sticky()
    with pytest.raises(ComponentStartError) as err, runtime:
        raise ComponentStartError("tracers-007", "not ready to start within 30 s")
    assert runtime.closed == 1
    assert err.value.__notes__ == [
        "then, cleaning up: cannot remove network rcfl-x: it has active endpoints"
    ]


def test_a_failed_clean_up_after_a_good_run_is_the_error() -> None:
    with pytest.raises(RuntimeErrorBase, match="active endpoints"), Sticky():
        pass


def test_the_cli_prints_the_error_and_its_notes() -> None:
    import typer

    from harness.cli.exit import fail

    app = typer.Typer()

    @app.command()
    def run() -> None:
        error = HarnessError("tracers-007 failed to start")
        error.add_note("then, cleaning up: network left")
        fail(error)

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 1
    assert "error: tracers-007 failed to start\nthen, cleaning up: network left" in result.output
