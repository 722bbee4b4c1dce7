"""harness.runtime.tracer_apps: installs into the cache, reuse, and the errors that name the
package and the command that installs it (fake commands, no network)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from harness.errors import TracerInstallError
from harness.runtime.tracer_apps import (
    app_file,
    ensure_installed,
    find_installed,
    install_dir,
    lock_file,
)


class FakeInstaller:
    """Records install commands and makes what a real install would leave behind."""

    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail
        self.commands: list[list[str]] = []

    def __call__(
        self, argv: Sequence[str], env: Mapping[str, str] | None, cwd: Path | None
    ) -> None:
        self.commands.append(list(argv))
        if self.fail and self.fail in argv:
            raise subprocess.CalledProcessError(1, argv, "", "ERROR: hash mismatch for ddtrace")
        if "venv" in argv:
            python = Path(argv[-1]) / "bin" / "python"
            python.parent.mkdir(parents=True)
            python.write_text("")
        if argv[:2] == ["npm", "ci"]:
            assert cwd is not None and (cwd / "package-lock.json").is_file()
            (cwd / "node_modules" / "dd-trace").mkdir(parents=True)


def which(name: str) -> str | None:
    return f"/usr/bin/{name}"


def test_python_install_is_hashed_pinned_and_reused(tmp_path: Path) -> None:
    run, said = FakeInstaller(), []
    launch = ensure_installed("ddtrace-py", root=tmp_path, say=said.append, run=run, which=which)
    folder = install_dir("ddtrace-py", tmp_path)
    assert launch.command == (str(folder / "venv" / "bin" / "python"), str(app_file("ddtrace-py")))
    pip = run.commands[1]
    assert "--require-hashes" in pip and str(lock_file("ddtrace-py")) in pip
    assert said[0].startswith("installing ddtrace-py: ddtrace 4.16.0")
    again = FakeInstaller()
    assert ensure_installed("ddtrace-py", root=tmp_path, run=again, which=which) == launch
    assert again.commands == []
    assert find_installed("ddtrace-py", tmp_path) is not None


def test_node_install_runs_npm_ci_on_the_lock_file(tmp_path: Path) -> None:
    run = FakeInstaller()
    launch = ensure_installed("dd-trace-js", root=tmp_path, run=run, which=which)
    assert run.commands[0][:2] == ["npm", "ci"]
    assert launch.command == ("/usr/bin/node", str(app_file("dd-trace-js")))
    assert launch.env["NODE_PATH"].endswith("node_modules")


def test_a_failed_install_names_the_package_and_the_command_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    with pytest.raises(TracerInstallError) as caught:
        ensure_installed("ddtrace-py", root=tmp_path, run=FakeInstaller(fail="pip"), which=which)
    text = str(caught.value)
    assert "ddtrace 4.16.0" in text and "hash mismatch" in text
    assert "harness tracers install ddtrace-py" in text
    assert list(tmp_path.iterdir()) == []  # the partial install was removed
    assert find_installed("ddtrace-py", tmp_path) is None


def test_no_node_is_an_error_that_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(TracerInstallError, match="apt-get install nodejs npm"):
        ensure_installed("dd-trace-js", root=tmp_path, run=FakeInstaller(), which=lambda _: None)


def test_unknown_kind() -> None:
    with pytest.raises(TracerInstallError, match="unknown tracer kind"):
        lock_file("java")
