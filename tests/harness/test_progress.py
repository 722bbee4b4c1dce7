import io

from rich.console import Console

from harness.cli.progress import make_progress
from harness.run.events import Progress, Tick


def test_plain_lines_when_not_a_terminal_print_phases_and_changes_only() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with make_progress(console, 10) as show:
        show(Progress("starting fake_backend"))
        show(Progress("warning: see results/[red]run/logs"))  # printed as is, not as markup
        show(Progress("collecting", Tick(0.0, 10, 0, 0, 0, 0, 0)))
        show(Progress("collecting", Tick(0.5, 10, 0, 0, 0, 0, 0)))  # unchanged: not printed
        show(Progress("collecting", Tick(1.0, 10, 4, 0, 0, 0, 1)))
    assert out.getvalue().splitlines() == [
        "starting fake_backend",
        "warning: see results/[red]run/logs",
        "[   0.0s] ready 0/10  timeout 0  error 0  crashed 0",
        "[   1.0s] ready 4/10  timeout 0  error 0  crashed 0  unreachable processes 1",
    ]


def test_live_display_on_a_terminal_keeps_phase_messages() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200)
    with make_progress(console, 10) as show:
        show(Progress("starting agent [b]1[/b]"))
        show(Progress("collecting", Tick(1.0, 10, 10, 0, 0, 0, 0)))
    assert "starting agent [b]1[/b]" in out.getvalue()
