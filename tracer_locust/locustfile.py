"""The locustfile of the tracer fleet: ``locust --worker -f <this file> --master-host HOST``.

Run on every worker (this machine's, started by the harness, or another machine's); the master
is ``python -m tracer_locust.master``, started by ``harness run --runtime locust``. A worker
serves its tracers' ``/metrics`` on ``RC_LOCUST_METRICS_HOST:RC_LOCUST_METRICS_PORT``.
"""

from __future__ import annotations

from typing import Any

from locust import events
from locust.env import Environment

from tracer_locust.user import TracerUser
from tracer_locust.worker import install

__all__ = ["TracerUser"]


@events.init.add_listener
def _on_init(environment: Environment, **kwargs: Any) -> None:
    del kwargs
    install(environment)
