"""Real tracer apps run as fleet members: ``python/app.py`` (ddtrace-py) and ``node/app.js``
(dd-trace-js), each with its pinned, locked dependencies (``python/requirements.txt`` with
hashes, ``node/package-lock.json``). They are files, not modules of the harness: each runs in
its own interpreter (a cached virtual environment, or Node) with its own packages, installed by
:mod:`harness.runtime.tracer_apps`. ``docs/real-tracers.md`` says how they boot and report.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
"""The folder holding ``python/`` and ``node/``."""
