"""Locust monkey-patches the whole process when imported (``gevent.monkey.patch_all``), which
would change every other test's asyncio and threading. So the tests of the modules that import
Locust or gevent run in a process of their own: ``test_in_own_process.py`` starts
``pytest tests/tracer_locust`` with ``RC_LOCUST_TEST_PROCESS=1``, where only they are collected;
the main process collects only that launcher (and the tests that import no Locust).
"""

from __future__ import annotations

import os

IN_OWN_PROCESS = os.environ.get("RC_LOCUST_TEST_PROCESS") == "1"

#: Test modules that import Locust or gevent.
GEVENT_MODULES = [
    "test_gevent_tasks.py",
    "test_transport.py",
    "test_metrics.py",
    "test_master.py",
    "test_worker.py",
    "test_release.py",
]

collect_ignore = ["test_in_own_process.py"] if IN_OWN_PROCESS else GEVENT_MODULES

if IN_OWN_PROCESS:
    import locust  # noqa: F401  # patch first, as `locust` and the master do
