"""The harness's exceptions, under one base.

::

    HarnessError                      (harness.runtime.base; the CLI prints it as one line, exit 1)
    ├── RuntimeErrorBase              a runtime could not start, reach or stop a component
    │   └── ComponentStartError       a component did not start or become healthy (+ log tail)
    ├── ScenarioError                 a scenario file or ``--set`` override is invalid
    ├── ResultsError                  a results folder cannot be read or written
    └── Interrupted                   SIGINT/SIGTERM reached the harness (exit 130)
"""

from __future__ import annotations

from harness.runtime.base import ComponentStartError, HarnessError, RuntimeErrorBase

__all__ = [
    "ComponentStartError",
    "HarnessError",
    "Interrupted",
    "ResultsError",
    "RuntimeErrorBase",
    "ScenarioError",
]


class ScenarioError(HarnessError):
    """A scenario file, a built-in name or a ``--set`` override is invalid; names the key."""


class ResultsError(HarnessError):
    """A results folder is missing a file or holds something unreadable."""


class Interrupted(HarnessError):
    """The harness received SIGINT or SIGTERM; every component has been stopped."""
