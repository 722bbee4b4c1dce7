"""``python -m agent``: run the agent model (FastAPI on uvicorn).

Settings come from the environment (``RC_AGENT_*`` and the real ``DD_*`` aliases, see
:mod:`agent.settings`); a flag given on the command line wins over the environment. ``--help``
lists every setting with its default (the real agent's).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from types import FrameType

import prometheus_client
import uvicorn

from agent.app import create_app
from agent.errors import SettingsError
from agent.settings import Settings
from rc_protocol.fdlimit import raise_open_files_limit
from rc_protocol.lifeline import tie_to_parent
from rc_protocol.settings import EXIT_BAD_SETTINGS


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """One ``--flag`` per settings field, with its default (the real agent's) and variables."""
    return Settings.build_parser(
        prog="python -m agent",
        description="Model of the Datadog Agent's Remote Configuration service "
        "(env: RC_AGENT_<FIELD>, DD_REMOTE_CONFIGURATION_* aliases, DD_API_KEY).",
        environ=environ,
    )


def settings_from(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Environment first, then command-line flags."""
    return Settings.from_args(build_parser(environ).parse_args(argv), environ)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for a bad setting)."""
    try:
        settings = settings_from(sys.argv[1:] if argv is None else argv, os.environ)
    except SettingsError as exc:
        print(f"agent: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    tie_to_parent()  # die with the harness that started us, however it ends (SIGHUP too)
    raise_open_files_limit()  # as the real (Go) agent and tracers do at start
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One process, one registry: drop the *_created series (noise in the harness's counters).
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    if not settings.api_key:
        logging.getLogger("agent").warning(
            "api_key is empty: the backend will refuse the agent (401); set DD_API_KEY"
        )
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _ignore_reraised_signal)
    uvicorn.Server(config).run()
    return 0


def _ignore_reraised_signal(signum: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the signal it caught after its clean shutdown; the exit code stays 0."""


if __name__ == "__main__":
    sys.exit(main())
