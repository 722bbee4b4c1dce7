"""`python -m fake_backend --host H --port P [--<setting> VALUE ...]`: run the fake RC backend.

Settings come from `RC_BACKEND_*` (and `DD_API_KEY`), then CLI flags on top; `--help` lists every
setting with its default. A bad setting exits 2 with one line naming it; SIGTERM or Ctrl-C stop
the server cleanly with exit code 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from types import FrameType

import uvicorn

from fake_backend.app import create_app
from fake_backend.errors import BackendError, SettingsError
from fake_backend.settings import Settings
from rc_protocol.fdlimit import raise_open_files_limit
from rc_protocol.lifeline import tie_to_parent
from rc_protocol.settings import EXIT_BAD_SETTINGS


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """One flag per setting, showing its built-in default and the env value in force, if any."""
    return Settings.build_parser(
        prog="python -m fake_backend",
        description="Fake Datadog Remote Configuration backend (rc-fastlane harness).",
        environ=environ,
    )


def settings_from(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Settings from the environment with the CLI flags on top."""
    return Settings.from_args(build_parser(environ).parse_args(argv), environ)


def _ignore_reraised_signal(signum: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the signal it caught after a clean shutdown; it ends the run here."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until SIGTERM/SIGINT/SIGHUP; 0 on a clean stop, 2 on a bad setting, else 1."""
    try:
        settings = settings_from(sys.argv[1:] if argv is None else argv, os.environ)
        app = create_app(settings)
    except SettingsError as exc:
        print(f"fake_backend: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    except BackendError as exc:
        print(f"fake_backend: {exc}", file=sys.stderr)
        return 1
    tie_to_parent()  # die with the harness that started us, however it ends (SIGHUP too)
    raise_open_files_limit()  # as the real (Go) agent and tracers do at start
    log_level = settings.log_level.lower()
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=log_level, lifespan="off"
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _ignore_reraised_signal)
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
