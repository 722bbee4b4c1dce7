"""Every exception the harness raises, under one base.

::

    HarnessError                      the CLI prints it as one line and exits 1
    ├── RuntimeErrorBase              a runtime could not start, reach or stop a component
    │   ├── ComponentStartError       a component did not start or become healthy (+ log tail)
    │   ├── DockerUnavailableError    no Docker engine answers
    │   └── ImageMissingError         the harness image is not in the engine
    ├── ImageError                    an image could not be made or found
    ├── TracerInstallError            a real tracer's packages are missing or failed to install
    ├── ScenarioError                 a scenario file or ``--set`` override is invalid
    ├── PreflightError                the machine cannot run the fleet (a limit, and what avoids it)
    ├── RunFailed                     the agent or backend died during a run (results written)
    ├── ResultsError                  a results folder cannot be read or written
    ├── MetricsParseError             a ``/metrics`` body is not Prometheus text
    ├── PromSDError                   the Prometheus file-SD directory cannot be used
    ├── ThresholdError                a threshold does not parse or does not apply
    ├── CompareError                  a compare was asked for something impossible
    ├── ReviewError                   the review stack (``harness up``) could not come up
    ├── DashboardError                a dashboard file does not have Grafana's shape
    ├── SimulationError               ``harness simulate`` cannot go on (bad options, a stall)
    └── Interrupted                   SIGINT/SIGTERM reached the harness (exit 130)

Messages name the thing that failed (a URL, a container, a setting) and what to do.
"""

from __future__ import annotations

START_DOCKERD = "compose/start-dockerd.sh"
"""The script that installs and starts a Docker engine (named in error messages)."""


class HarnessError(Exception):
    """Base of every error the harness raises; the CLI prints it as one line and exits non-zero."""


class RuntimeErrorBase(HarnessError):
    """A runtime could not start, reach or stop a component."""


class ComponentStartError(RuntimeErrorBase):
    """A component failed to start or become healthy; carries its last log lines."""

    def __init__(self, component: str, reason: str, log_tail: str = "") -> None:
        self.component = component
        self.reason = reason
        self.log_tail = log_tail
        message = f"{component} failed to start: {reason}"
        if log_tail:
            message += "\n--- last log lines of " + component + " ---\n" + log_tail
        super().__init__(message)


class DockerUnavailableError(RuntimeErrorBase):
    """No Docker engine answers."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"no Docker engine answers ({detail}): start one with `{START_DOCKERD}` (as root; it "
            "installs Debian's docker.io when missing) or Docker Desktop; harness run and "
            "compare can use --runtime local instead"
        )


class ImageMissingError(RuntimeErrorBase):
    """The harness image is not in the engine; ``build_hint`` is the command that builds it."""

    def __init__(self, image: str, build_hint: str) -> None:
        super().__init__(
            f"image {image} not found in the Docker engine: build it with `{build_hint}`"
            " (on the Debian base from `harness image bootstrap-base`; with a registry, add "
            "--base-image python:3.11-slim instead)"
        )


class ImageError(HarnessError):
    """An image could not be made or found."""


class TracerInstallError(HarnessError):
    """A real tracer's pinned packages are missing or could not be installed; names the
    package and the command that installs it."""


class ScenarioError(HarnessError):
    """A scenario file, a built-in name or a ``--set`` override is invalid; names the key."""


class PreflightError(HarnessError):
    """The machine cannot run the fleet asked for; names the limit and the option that avoids
    it, before anything starts."""


class RunFailed(HarnessError):
    """The agent or the backend died during a run without the scenario asking for it; the
    results folder holds what was collected (``status: failed``)."""


class ResultsError(HarnessError):
    """A results folder is missing a file or holds something unreadable."""


class MetricsParseError(HarnessError):
    """A ``/metrics`` body is not Prometheus text."""


class PromSDError(HarnessError):
    """The file-SD directory or its targets file cannot be read or written."""


class ThresholdError(HarnessError):
    """A threshold expression cannot be parsed, or does not apply to the run it is checked on."""


class CompareError(HarnessError):
    """A compare was asked for something impossible (no scenario, a folder that is not one)."""


class ReviewError(HarnessError):
    """The review stack could not be brought up; names the piece and what to do."""


class DashboardError(HarnessError):
    """A dashboard file cannot be read or does not have the shape Grafana expects."""


class SimulationError(HarnessError):
    """``harness simulate`` was given impossible options, or its virtual time cannot advance."""


class Interrupted(HarnessError):
    """The harness received SIGINT or SIGTERM; every component has been stopped."""
