"""`TracerUser`: one Locust user is one simulated tracer.

The user claims the next tracer index of its worker's range, builds the tracer, waits for the
common start instant (all at once) or starts at once (a ramp, at Locust's spawn rate), starts it,
and then hosts it: the tracer's fetch loops, init timer and provider run on greenlets of their
own, so the user's task only keeps it alive. Stopping the user (the test stops, the worker
quits) closes the tracer.
"""

from __future__ import annotations

import gevent
from locust import User, task
from locust.exception import StopUser

from tracer_locust.gevent_tasks import drive
from tracer_locust.worker import fleet_of
from tracer_stub.tracer import SimulatedTracer

__all__ = ["TracerUser"]

#: How long the user's task sleeps between checks that its tracer is still alive.
_HOST_SLICE_S = 60.0


class TracerUser(User):
    """A simulated tracer (``tracer_stub``) on a Locust worker."""

    tracer: SimulatedTracer | None = None

    def on_start(self) -> None:
        fleet = fleet_of(self.environment)
        index = fleet.claim()
        if index is None:
            raise StopUser()
        self.tracer = fleet.build(index)
        fleet.wait_for_start()
        drive(self.tracer.start())

    @task
    def keep_alive(self) -> None:
        gevent.sleep(_HOST_SLICE_S)

    def on_stop(self) -> None:
        tracer, self.tracer = self.tracer, None
        if tracer is not None:
            drive(tracer.aclose())
