"""One simulated tracer: an RC client, an OpenFeature provider in its own domain, its timings.

The boot sequence of the proposal's load-test app (dd-trace-go + OpenFeature):

1. tracer start: the RC client starts polling with the tracer's products (FFE_FLAGS included,
   unless ``ffe_subscription: provider``: dd-trace-go before 2.8 subscribed it only when the
   provider was created);
2. the provider is created (``provider_delay_ms`` after tracer start when the app creates it
   late, in its own task so that the process's other tracers are not held up) and registered
   in the tracer's own domain through the SDK seam (`tracer_stub.sdk`: the real SDK off the
   event loop, in a thread started before the barrier, see `tracer_stub.threads`; or inline in
   virtual time): ``event`` mode models the
   non-blocking ``SetProvider`` and waits for PROVIDER_READY; ``wait`` mode models
   ``SetProviderAndWait``. ``initialize`` gives up after ``provider_init_timeout_s``
   (dd-trace-go ``defaultInitTimeout`` = 30 s) with a PROVIDER_ERROR; the provider stays
   registered and turns READY when the configuration arrives;
3. the configured flag is evaluated once READY (in wait mode when ``set_provider_and_wait``
   returns, and again on READY if it returned by timeout).

The init timeout is decided on the injected clock (see `tracer_stub.provider`). Polling goes on
after ready, as in a real tracer, until the tracer is closed.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagEvaluationDetails, Reason

from rc_protocol.clock import Clock
from rc_protocol.products import Product
from tracer_stub.client.core import ChangeKind, ClientIdentity, ConfigChange
from tracer_stub.client.driver import LanePermits, RcClient
from tracer_stub.client.policy import Lane
from tracer_stub.client.transport import Transport
from tracer_stub.metrics import StubMetrics
from tracer_stub.provider import StubProvider
from tracer_stub.sdk import OpenFeatureSdk, ProviderSdk
from tracer_stub.settings import Settings
from tracer_stub.tasks import AsyncioTasks, TaskHandle, Tasks
from tracer_stub.threads import Runner, new_thread

__all__ = ["Outcome", "SimulatedTracer", "TracerTimes"]

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    PENDING = "pending"
    READY = "ready"
    TIMEOUT = "timeout"
    ERROR = "error"


@dataclass
class TracerTimes:
    """Monotonic instants of one tracer's boot (None until reached)."""

    start: float | None = None
    start_wall: float | None = None
    tracer_started: float | None = None
    ready: float | None = None
    first_evaluation: float | None = None


class SimulatedTracer:
    """A tracer hosted by a stub process; ``await start()`` then it runs until ``aclose()``."""

    def __init__(
        self,
        index: int,
        settings: Settings,
        *,
        clock: Clock,
        transport_factory: Callable[[Lane], Transport],
        permits: LanePermits,
        metrics: StubMetrics,
        rng: random.Random,
        runner: Runner = new_thread,
        sdk: ProviderSdk | None = None,
        tasks: Tasks | None = None,
    ) -> None:
        """`tasks` runs the tracer's activities (asyncio by default; `tracer_stub.tasks`)."""
        self.index = index
        self.label = str(index)
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.sdk: ProviderSdk = sdk if sdk is not None else OpenFeatureSdk(runner)
        self.tasks = tasks or AsyncioTasks()
        self.domain = f"rc-stub-tracer-{index}"
        self.runtime_id = str(uuid.uuid4())
        service = (
            f"{settings.service}-{index}" if settings.service_suffix_index else settings.service
        )
        self.service = service

        def identity(client_id: str) -> ClientIdentity:
            return ClientIdentity(
                client_id=client_id,
                runtime_id=self.runtime_id,
                language=settings.language,
                tracer_version=settings.tracer_version,
                service=service,
                env=settings.env,
                app_version=settings.version,
            )

        self.rc = RcClient(
            settings.policy_settings(),
            runtime_id=self.runtime_id,
            identity=identity,
            transport_factory=transport_factory,
            clock=clock,
            rng=rng,
            permits=permits,
            observer=metrics,
            listener=self._on_change,
            wire_bytes=settings.wire_bytes,
            report_errors=settings.report_errors,
            tasks=self.tasks,
        )
        self.times = TracerTimes()
        self.outcome = Outcome.PENDING
        self.provider: StubProvider | None = None
        self.provider_error_events = 0
        self.evaluations: list[FlagEvaluationDetails[bool]] = []
        self._latest_ffe: dict[str, bytes] = {}
        self._wait_returned = False
        self.wait_failed = False
        self._closed = False
        self._tasks: list[TaskHandle] = []
        self._ctx = EvaluationContext(targeting_key=f"tracer-{index}")
        self.provider_name = f"Datadog Provider (tracer {index}, {self.runtime_id[:8]})"
        self.sdk.watch(self)  # before the start barrier, as the app registers its handlers
        metrics.add_tracer(self.label)

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Boot: start the RC client, create and register the provider; returns at once."""
        t0 = self.clock.monotonic()
        self.times.start = t0
        self.times.start_wall = self.clock.time()
        self.metrics.set_start(self.label, self.times.start_wall)
        products = list(self.settings.products)
        if self.settings.ffe_subscription == "provider":
            products = [p for p in products if p != Product.FFE_FLAGS]
        self.rc.start(products)
        if self.settings.tracer_start_cost_ms > 0:
            await self.clock.sleep(self.settings.tracer_start_cost_ms / 1000.0)
        started = self.clock.monotonic()
        self.times.tracer_started = started
        self.metrics.set_tracer_started(self.label, started - t0)
        if self.settings.provider_delay_ms > 0:  # the app creates its provider later
            self._tasks.append(
                self.tasks.spawn(self._delayed_provider(), f"provider-delay-{self.index}")
            )
        else:
            self._start_provider()

    async def _delayed_provider(self) -> None:
        await self.clock.sleep(self.settings.provider_delay_ms / 1000.0)
        if not self._closed:
            self._start_provider()

    def _start_provider(self) -> None:
        provider = StubProvider(
            self.provider_name,
            targeting_key=f"tracer-{self.index}",
            monotonic=self.clock.monotonic,
        )
        self.provider = provider
        if self.settings.ffe_subscription == "provider":
            self.rc.subscribe(Product.FFE_FLAGS)
        for raw in self._latest_ffe.values():
            provider.on_config(raw)
        self._tasks.append(self.tasks.spawn(self._init_timer(), f"init-timer-{self.index}"))
        if not self._closed:  # the process may stop before this provider was registered
            self.sdk.register(self)

    async def _init_timer(self) -> None:
        # expire_init() is a no-op once a configuration arrived, so the timer need not be woken
        # by READY: it only sleeps on the clock (nothing loop-specific, see tracer_stub.tasks).
        await self.clock.sleep(self.settings.provider_init_timeout_s)
        assert self.provider is not None
        if self.provider.expire_init():
            self._set_outcome(Outcome.TIMEOUT)
            self.sdk.poke(self)

    # -- what the SDK seam sees (tracer_stub.sdk.ProviderApp) -------------------------------

    @property
    def wait_mode(self) -> bool:
        return self.settings.provider_mode == "wait"

    @property
    def closed(self) -> bool:
        return self._closed

    def now(self) -> float:
        return self.clock.monotonic()

    def provider_ready(self, at: float) -> None:
        self._on_ready(at)

    def provider_error(self) -> None:
        self._on_error()

    def wait_returned(self, failed: bool) -> None:
        self._after_wait(failed)

    def to_loop(self, callback: Callable[..., None], *args: object) -> None:
        self._to_loop(callback, *args)

    def _after_wait(self, failed: bool) -> None:
        self.wait_failed = failed
        self._wait_returned = True
        self._evaluate()

    async def aclose(self) -> None:
        """Stop polling and release the provider's parked thread, if any."""
        self._closed = True
        self.sdk.forget(self)
        tasks, self._tasks = self._tasks, []
        await self.tasks.cancel(tasks)
        if self.provider is not None:
            self.provider.shutdown()  # a parked init stays parked: no event after close
        await self.rc.aclose()

    # -- RC ---------------------------------------------------------------------------------

    def _on_change(self, change: ConfigChange) -> str | None:
        if change.product != Product.FFE_FLAGS:
            return None
        if change.kind is ChangeKind.REMOVED:
            self._latest_ffe.pop(change.path, None)
            raw = None
        else:
            assert change.raw is not None
            self._latest_ffe[change.path] = change.raw
            raw = change.raw
        if self.provider is None:
            return None  # buffered until the provider exists
        error = self.provider.on_config(raw)
        self.sdk.poke(self)
        if error is not None and self.outcome is Outcome.PENDING:
            log.warning(
                "tracer %s: invalid FFE_FLAGS config %s: %s", self.index, change.path, error
            )
            self._set_outcome(Outcome.ERROR)
        return error

    def _to_loop(self, callback: Callable[..., None], *args: object) -> None:
        if self._closed:
            return  # an event after shutdown (the provider's parked init released)
        self.tasks.call_soon_threadsafe(callback, *args)

    # -- event loop side --------------------------------------------------------------------

    def _on_ready(self, at: float) -> None:
        if self.times.ready is not None:
            return
        assert self.provider is not None
        # The provider's own ready instant (see StubProvider), else when the event was handled.
        at = self.provider.ready_at if self.provider.ready_at is not None else at
        self.times.ready = at
        started = self.times.tracer_started
        assert started is not None
        self.metrics.set_provider_ready(self.label, at - started)
        self._set_outcome(Outcome.READY)
        if self.settings.provider_mode == "event" or self._wait_returned:
            self._evaluate()

    def _on_error(self) -> None:
        self.provider_error_events += 1
        self.metrics.inc_provider_errors(self.label)
        if self.provider is not None:
            self.provider.init_error_seen()

    def _evaluate(self) -> None:
        details = self.sdk.evaluate(
            self, self.settings.flag_key, self.settings.flag_default, self._ctx
        )
        self.evaluations.append(details)
        from_config = details.error_code is None and details.reason != Reason.ERROR
        if from_config and self.times.first_evaluation is None:
            now = self.clock.monotonic()
            self.times.first_evaluation = now
            assert self.times.start is not None and self.times.tracer_started is not None
            self.metrics.set_first_evaluation(
                self.label, now - self.times.tracer_started, now - self.times.start
            )
        elif details.error_code not in (None, ErrorCode.PROVIDER_NOT_READY):
            log.warning(
                "tracer %s: evaluating %s failed: %s %s",
                self.index,
                self.settings.flag_key,
                details.error_code,
                details.error_message,
            )

    def _set_outcome(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.metrics.set_outcome(self.label, str(outcome))

    @property
    def settled(self) -> bool:
        return self.outcome is not Outcome.PENDING
