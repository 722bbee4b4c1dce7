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
from collections.abc import Sequence
from types import FrameType

import prometheus_client
import uvicorn

from agent.app import create_app
from agent.errors import AgentError
from agent.settings import HELP, POLICIES, Settings


def build_parser() -> argparse.ArgumentParser:
    """One ``--flag`` per settings field, with its default (the real agent's) shown."""
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m agent",
        description="Model of the Datadog Agent's Remote Configuration service "
        "(env: RC_AGENT_<FIELD>, DD_REMOTE_CONFIGURATION_* aliases, DD_API_KEY).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name in Settings.field_names():
        flag = "--" + name.replace("_", "-")
        value = getattr(defaults, name)
        shown = "unset" if value is None else value
        if name == "api_key":
            shown = "(from DD_API_KEY)"
        kwargs: dict[str, object] = {"dest": name, "default": None, "metavar": name.upper()}
        if name == "policy":
            kwargs["choices"] = POLICIES
        parser.add_argument(flag, help=f"{HELP.get(name, name)} (default: {shown})", **kwargs)  # type: ignore[arg-type]
    return parser


def settings_from(argv: Sequence[str], environ: dict[str, str]) -> Settings:
    """Environment first, then command-line flags."""
    base = Settings.from_env(environ)
    args = build_parser().parse_args(argv)
    changes = {
        name: Settings.parse_value(name, str(value), source="--" + name.replace("_", "-"))
        for name, value in vars(args).items()
        if value is not None
    }
    return base.replace(**changes)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    try:
        settings = settings_from(sys.argv[1:] if argv is None else argv, dict(os.environ))
    except AgentError as exc:
        print(f"agent: {exc}", file=sys.stderr)
        return 2
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
