"""The real tracer apps' packages: installed once per lock file into a cache folder, and how
each app is run there.

``ddtrace-py`` runs ``tracer_apps/python/app.py`` with the Python of a virtual environment made
from ``requirements.txt`` (``pip install --require-hashes``: every package pinned and hashed);
``dd-trace-js`` runs ``tracer_apps/node/app.js`` with Node and a ``node_modules`` made from
``package-lock.json`` (``npm ci``). The folder is named after a digest of the lock file, so a
new pin installs anew and an old one stays valid. An install is written to a temporary folder
and renamed into place only when complete: an interrupted install is never taken for one.

Nothing falls back to the stub: a missing tool (Node, npm) or a failed install is a
:class:`TracerInstallError` naming the package and the command that installs it
(``harness tracers install KIND``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import TracerInstallError
from tracer_apps import ROOT as APPS_ROOT

REAL_KINDS = ("ddtrace-py", "dd-trace-js")
"""The real tracers a fleet member can be (``stub`` is the simulated one)."""

PACKAGES = {
    "ddtrace-py": "ddtrace 4.16.0 and openfeature-sdk 0.10.0 (PyPI)",
    "dd-trace-js": "dd-trace 5.132.0 and @openfeature/server-sdk 1.23.0 (npm)",
}
"""What each kind installs, as said in progress lines and errors (the lock files pin them)."""

CACHE_ENV = "HARNESS_TRACER_CACHE"
"""Overrides the cache folder (default ``~/.cache/rc-fastlane/tracers``)."""

Run = Callable[[Sequence[str], Mapping[str, str] | None, Path | None], None]
"""Runs one install command (argv, extra environment, working folder); raises
:class:`subprocess.CalledProcessError` or :class:`FileNotFoundError` on failure."""


def _run(argv: Sequence[str], env: Mapping[str, str] | None, cwd: Path | None) -> None:
    merged = {**os.environ, **(env or {})}
    subprocess.run(
        list(argv), env=merged, cwd=cwd, check=True, capture_output=True, text=True, timeout=900
    )


def install_command(kind: str) -> str:
    """The command that installs ``kind`` (quoted in errors)."""
    return f"harness tracers install {kind}"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where installs live: ``$HARNESS_TRACER_CACHE``, else ``~/.cache/rc-fastlane/tracers``."""
    env = os.environ if environ is None else environ
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV])
    return Path.home() / ".cache" / "rc-fastlane" / "tracers"


def lock_file(kind: str) -> Path:
    """The lock file that pins ``kind``'s packages."""
    if kind == "ddtrace-py":
        return APPS_ROOT / "python" / "requirements.txt"
    if kind == "dd-trace-js":
        return APPS_ROOT / "node" / "package-lock.json"
    raise TracerInstallError(f"unknown tracer kind {kind!r}: one of {', '.join(REAL_KINDS)}")


def app_file(kind: str) -> Path:
    """The app a process of ``kind`` runs."""
    return APPS_ROOT / ("python/app.py" if kind == "ddtrace-py" else "node/app.js")


def install_dir(kind: str, root: Path) -> Path:
    """``root/<kind>-<digest of its lock file>``."""
    digest = hashlib.sha256(lock_file(kind).read_bytes()).hexdigest()[:12]
    return root / f"{kind}-{digest}"


@dataclass(frozen=True)
class AppLaunch:
    """How to run one kind's app: the command (before ``--host``/``--port``) and the
    environment it needs besides the run's."""

    kind: str
    command: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


def _launch(kind: str, folder: Path, node: str) -> AppLaunch:
    if kind == "ddtrace-py":
        return AppLaunch(kind, (str(folder / "venv" / "bin" / "python"), str(app_file(kind))))
    return AppLaunch(kind, (node, str(app_file(kind))), {"NODE_PATH": str(folder / "node_modules")})


def _installed(kind: str, folder: Path) -> bool:
    marker = folder / ("venv/bin/python" if kind == "ddtrace-py" else "node_modules/dd-trace")
    return marker.exists()


def find_installed(kind: str, root: Path | None = None) -> AppLaunch | None:
    """``kind``'s launch when its packages are installed, else None (no install)."""
    folder = install_dir(kind, root or cache_root())
    node = shutil.which("node") or "node"
    return _launch(kind, folder, node) if _installed(kind, folder) else None


def ensure_installed(
    kind: str,
    *,
    root: Path | None = None,
    say: Callable[[str], None] = lambda _: None,
    run: Run = _run,
    which: Callable[[str], str | None] = shutil.which,
) -> AppLaunch:
    """Install ``kind``'s pinned packages unless present (one progress line through ``say``),
    and return how to launch its app. Raises :class:`TracerInstallError` naming what failed
    and the command that installs it."""
    folder = install_dir(kind, root or cache_root())
    node = which("node") if kind == "dd-trace-js" else ""
    if kind == "dd-trace-js" and not node:
        raise TracerInstallError(
            "dd-trace-js needs Node.js (18 or newer), which is not installed: install Debian's "
            f"`apt-get install nodejs npm`, then `{install_command(kind)}`"
        )
    if _installed(kind, folder):
        return _launch(kind, folder, node or "node")
    say(f"installing {kind}: {PACKAGES[kind]} into {folder} (once; reused by later runs)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=folder.parent))
    try:
        if kind == "ddtrace-py":
            _install_python(tmp, run)
        else:
            if not which("npm"):
                raise TracerInstallError(
                    "dd-trace-js is installed with npm, which is not installed: "
                    f"`apt-get install npm`, then `{install_command(kind)}`"
                )
            _install_node(tmp, run)
        if folder.exists():  # another harness finished the same install meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"installed {kind} in {folder}")
    return _launch(kind, folder, node or "node")


def _failed(kind: str, argv: Sequence[str], exc: Exception) -> TracerInstallError:
    detail = ""
    if isinstance(exc, subprocess.CalledProcessError):
        detail = ((exc.stderr or "") + (exc.stdout or "")).strip()[-1500:]
    elif isinstance(exc, FileNotFoundError):
        detail = f"{argv[0]} not found"
    return TracerInstallError(
        f"installing {kind} ({PACKAGES[kind]}) failed: `{' '.join(argv)}`: {detail or exc}; "
        f"fix the cause and run `{install_command(kind)}`"
    )


def _install_python(folder: Path, run: Run) -> None:
    steps = [
        [sys.executable, "-m", "venv", str(folder / "venv")],
        [
            str(folder / "venv" / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--require-hashes",
            "--only-binary=:all:",
            "-r",
            str(lock_file("ddtrace-py")),
        ],
    ]
    for argv in steps:
        try:
            run(argv, None, None)
        except (subprocess.CalledProcessError, FileNotFoundError, OSError) as exc:
            raise _failed("ddtrace-py", argv, exc) from exc


def _install_node(folder: Path, run: Run) -> None:
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(APPS_ROOT / "node" / name, folder / name)
    argv = ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        run(argv, {"npm_config_update_notifier": "false"}, folder)
    except (subprocess.CalledProcessError, FileNotFoundError, OSError) as exc:
        raise _failed("dd-trace-js", argv, exc) from exc
