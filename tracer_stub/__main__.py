"""``python -m tracer_stub``: host simulated tracers until SIGTERM/SIGINT/SIGHUP (exit 0).

With no arguments: one tracer against ``DD_TRACE_AGENT_URL`` (default
``http://127.0.0.1:8126``). Every setting is a flag and an ``RC_STUB_*`` variable (``--help``);
a bad setting exits 2 with one line naming it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence

from openfeature import api

from rc_protocol.fdlimit import raise_open_files_limit
from rc_protocol.gctune import tune_gc
from rc_protocol.lifeline import tie_to_parent
from rc_protocol.settings import EXIT_BAD_SETTINGS
from tracer_stub.errors import SettingsError, StubError
from tracer_stub.host import Host
from tracer_stub.settings import Settings

log = logging.getLogger("tracer_stub")

#: Stack of the threads that park in a provider's ``initialize`` (one per pending tracer); they
#: only wait on a condition variable, so a small stack keeps a thousand of them cheap.
THREAD_STACK_BYTES = 512 * 1024


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """One ``--flag`` per setting, with its default, its variables and the value in force."""
    return Settings.build_parser(
        prog="python -m tracer_stub",
        description="Simulated tracers (RC client + OpenFeature provider) for rc-fastlane.",
        environ=environ,
    )


def settings_from(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Settings from the environment with the flags on top."""
    return Settings.from_args(build_parser(environ).parse_args(argv), environ)


async def run(settings: Settings) -> None:
    host = Host(settings)
    port = await host.serve()
    tune_gc()  # every tracer is built: keep the collector off them during the boot storm
    log.info(
        "tracer_stub: %d tracer(s) from index %d, policy %s, provider %s, agent %s, "
        "metrics on http://%s:%d/metrics",
        settings.tracers,
        settings.tracer_index_base,
        settings.client_policy,
        settings.provider_mode,
        settings.agent_url,
        settings.host,
        port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    starter = host.begin()
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({starter, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if starter.done() and not starter.cancelled() and starter.exception() is not None:
        stopping.cancel()
        await host.stop()
        raise StubError(f"starting the tracers failed: {starter.exception()!r}")
    await stopping
    log.info("tracer_stub: stopping")
    await host.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Host the tracers until SIGTERM, SIGINT or SIGHUP; 0 on a clean stop, 2 on a bad setting."""
    try:
        settings = settings_from(sys.argv[1:] if argv is None else argv, os.environ)
    except SettingsError as exc:
        print(f"tracer_stub: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    tie_to_parent()  # die with the harness that started us, however it ends (SIGHUP too)
    raise_open_files_limit()  # as the real (Go) agent and tracers do at start
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    threading.stack_size(THREAD_STACK_BYTES)
    loop_factory = None
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        pass
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(run(settings))
    except StubError as exc:
        print(f"tracer_stub: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"tracer_stub: cannot serve on {settings.host}:{settings.port}: {exc}", file=sys.stderr
        )
        return 1
    finally:
        api.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
