"""`python -m fake_backend --host H --port P [--<setting> VALUE ...]`: run the fake RC backend.

Settings come from `RC_BACKEND_*` (and `DD_API_KEY`), then CLI flags on top; `--help` lists every
setting with its default. SIGTERM or Ctrl-C stop the server cleanly with exit code 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

import uvicorn

from fake_backend.app import create_app
from fake_backend.errors import BackendError, SettingsError
from fake_backend.settings import Settings, parse_value

#: uvicorn's level names (it registers TRACE with `logging` on import).
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    """One flag per setting, showing its built-in default and the env value in force, if any."""
    parser = argparse.ArgumentParser(
        prog="python -m fake_backend",
        description="Fake Datadog Remote Configuration backend (rc-fastlane harness).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Each setting is also read from its environment variable (shown in brackets).",
    )
    defaults = Settings()
    for f in dataclasses.fields(Settings):
        env = Settings.env_name(f.name)
        default = getattr(defaults, f.name)
        if isinstance(default, tuple):
            default = ",".join(default)
        shown = f"default: {default!r}"
        if env in environ:
            shown += f"; now {environ[env]!r} from {env}" if f.name != "api_key" else "; set"
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            metavar=f.name.upper(),
            default=None,
            help=f"{f.metadata.get('help', '')} [{env}] ({shown})",
        )
    parser.add_argument(
        "--log-level",
        default="info",
        help=f"log level, uvicorn's included: {', '.join(LOG_LEVELS)} (default: 'info')",
    )
    return parser


def settings_from(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[Settings, str]:
    """Settings from the environment with the CLI flags on top, and the log level."""
    args = build_parser(environ).parse_args(argv)
    types = Settings.field_types()
    overrides: dict[str, Any] = {}
    for name, kind in types.items():
        raw = getattr(args, name)
        if raw is not None:
            overrides[name] = parse_value(kind, raw, "--" + name.replace("_", "-"))
    log_level = str(args.log_level).lower()
    if log_level not in LOG_LEVELS:
        raise SettingsError(f"--log-level={args.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
    return Settings.from_env(environ, **overrides), log_level


def _ignore_reraised_signal(signum: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the signal it caught after a clean shutdown; it ends the run here."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until SIGTERM/SIGINT; 0 on a clean stop, 1 on bad settings."""
    try:
        settings, log_level = settings_from(sys.argv[1:] if argv is None else argv, os.environ)
        app = create_app(settings)
    except BackendError as exc:
        print(f"fake_backend: {exc}", file=sys.stderr)
        return 1
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
