"""Where a tracer's OpenFeature provider is registered and its flag evaluated: the seam between
the tracer's boot sequence (`tracer_stub.tracer`) and the OpenFeature SDK.

- `OpenFeatureSdk`: the real openfeature-sdk, as a stub process uses it. The provider is
  registered with ``set_provider_and_wait`` in a runner thread (its ``initialize`` parks until
  the first configuration, see `tracer_stub.provider`), READY and ERROR events come back from
  the SDK's handler threads through the process's name router (`tracer_stub.events`) and are
  handed to the tracer's event loop.
- `InlineSdk`: the SDK's registry without threads, for virtual time (``harness simulate``),
  where a hundred thousand tracers share one thread and time only moves when every task waits.
  It runs the provider's own ``initialize`` when it can no longer block (a configuration
  arrived, or the tracer declared the init timed out: the tracer pokes it after each), and
  delivers READY, ERROR, and the return of ``set_provider_and_wait`` to the tracer in the order
  the SDK dispatches them; the late READY of a provider whose init timed out comes through the
  provider's ``emit`` hook (``attach``), as the SDK's registry receives it.

Both call the same provider (`tracer_stub.provider.StubProvider`): which instant is "ready"
is decided there, once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import EventDetails, ProviderEvent, ProviderEventDetails
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagEvaluationDetails, Reason
from openfeature.provider import FeatureProvider

from tracer_stub.events import router
from tracer_stub.provider import InitState, StubProvider
from tracer_stub.threads import Runner, new_thread

__all__ = ["InlineSdk", "OpenFeatureSdk", "ProviderApp", "ProviderSdk"]

log = logging.getLogger(__name__)


class ProviderApp(Protocol):
    """The tracer as the SDK sees it: its provider, domain and event callbacks."""

    @property
    def provider(self) -> StubProvider | None: ...

    @property
    def provider_name(self) -> str: ...

    @property
    def domain(self) -> str: ...

    @property
    def wait_mode(self) -> bool:
        """True for ``SetProviderAndWait`` (the app acts when the call returns)."""
        ...

    @property
    def closed(self) -> bool:
        """True once the tracer is closing (its process is stopping)."""
        ...

    def now(self) -> float:
        """The tracer's clock (monotonic seconds)."""
        ...

    def provider_ready(self, at: float) -> None:
        """PROVIDER_READY for this tracer's provider (on the event loop)."""
        ...

    def provider_error(self) -> None:
        """PROVIDER_ERROR for this tracer's provider (on the event loop)."""
        ...

    def wait_returned(self, failed: bool) -> None:
        """``set_provider_and_wait`` returned (wait mode), by its init failing or not."""
        ...

    def to_loop(self, callback: Callable[..., None], *args: object) -> None:
        """Run `callback(*args)` on the tracer's event loop (from another thread)."""
        ...


class ProviderSdk(Protocol):
    """What a tracer needs of the OpenFeature SDK."""

    def watch(self, app: ProviderApp) -> None:
        """Deliver the READY and ERROR events of `app`'s provider to it (before the barrier)."""
        ...

    def register(self, app: ProviderApp) -> None:
        """Register `app.provider` in `app.domain`; returns at once."""
        ...

    def poke(self, app: ProviderApp) -> None:
        """The provider's state changed (a configuration applied, the init expired)."""
        ...

    def evaluate(
        self, app: ProviderApp, flag_key: str, default: bool, context: EvaluationContext
    ) -> FlagEvaluationDetails[bool]:
        """Evaluate a boolean flag in `app.domain`."""
        ...

    def forget(self, app: ProviderApp) -> None:
        """No more events for `app` (it is closing)."""
        ...


class OpenFeatureSdk:
    """The real openfeature-sdk; blocking calls go to `runner` (a parked thread per tracer)."""

    def __init__(self, runner: Runner = new_thread) -> None:
        self.runner = runner

    def watch(self, app: ProviderApp) -> None:
        def on_ready(details: EventDetails) -> None:
            provider = app.provider
            if provider is None or details.provider_name != provider.name:
                return  # the immediate READY of the default no-op provider
            app.to_loop(app.provider_ready, app.now())

        def on_error(details: EventDetails) -> None:
            provider = app.provider
            if provider is None or details.provider_name != provider.name:
                return
            app.to_loop(app.provider_error)

        # Registered before the start barrier (the app registers them before its provider).
        router.register(app.provider_name, ProviderEvent.PROVIDER_READY, on_ready)
        router.register(app.provider_name, ProviderEvent.PROVIDER_ERROR, on_error)
        router.install()

    def register(self, app: ProviderApp) -> None:
        self.runner(lambda: self._register(app))

    @staticmethod
    def _register(app: ProviderApp) -> None:
        """Register the provider in the tracer's domain (a runner thread, never the loop).

        Both modes call ``set_provider_and_wait`` here: it runs ``initialize`` in this thread,
        exactly as ``set_provider`` runs it in a thread of its own, and dispatches the same
        events; the modes differ in what the app does next. ``event`` (Go's non-blocking
        ``SetProvider``) evaluates on PROVIDER_READY; ``wait`` (``SetProviderAndWait``)
        evaluates when the call returns, and again on READY if it returned by timeout.
        """
        provider = app.provider
        if provider is None or app.closed:
            return  # the process is stopping before this tracer's provider was registered
        failed = False
        try:
            api.set_provider_and_wait(provider, app.domain)
        except Exception as exc:  # the init failure, re-raised (DeadlineExceeded in Go)
            log.debug("%s: provider initialization failed: %s", app.provider_name, exc)
            failed = True
        if app.wait_mode:
            app.to_loop(app.wait_returned, failed)

    def poke(self, app: ProviderApp) -> None:
        del app  # the parked initialize wakes on the provider's own condition variable

    def evaluate(
        self, app: ProviderApp, flag_key: str, default: bool, context: EvaluationContext
    ) -> FlagEvaluationDetails[bool]:
        return api.get_client(app.domain).get_boolean_details(flag_key, default, context)

    def forget(self, app: ProviderApp) -> None:
        router.unregister(app.provider_name)


class InlineSdk:
    """The SDK's registry for tracers sharing one thread in virtual time (no thread, no wait)."""

    def __init__(self) -> None:
        self._initializing: set[int] = set()
        self._ready: set[int] = set()

    def watch(self, app: ProviderApp) -> None:
        del app  # events are delivered to the app directly

    def register(self, app: ProviderApp) -> None:
        provider = app.provider
        if provider is None:
            return

        def on_emit(_: FeatureProvider, event: ProviderEvent, __: ProviderEventDetails) -> None:
            # The late READY of a timed-out init (the SDK's registry dispatches it the same way).
            if event is ProviderEvent.PROVIDER_READY:
                self._ready.add(id(app))
                app.provider_ready(app.now())

        provider.attach(on_emit)
        self._initializing.add(id(app))
        self.poke(app)

    def poke(self, app: ProviderApp) -> None:
        provider = app.provider
        if provider is None or id(app) not in self._initializing:
            return
        if provider.init_state is InitState.SHUT_DOWN:
            self._initializing.discard(id(app))
            return
        if not provider.has_config and provider.init_state is InitState.WAITING:
            return  # initialize would still park: nothing to deliver yet
        self._initializing.discard(id(app))
        failed = False
        try:
            provider.initialize(EvaluationContext())  # returns or raises at once now
        except Exception:
            failed = True
        if failed:
            app.provider_error()
        else:
            self._ready.add(id(app))
            app.provider_ready(provider.ready_at if provider.ready_at is not None else app.now())
        if app.wait_mode:
            app.wait_returned(failed)

    def evaluate(
        self, app: ProviderApp, flag_key: str, default: bool, context: EvaluationContext
    ) -> FlagEvaluationDetails[bool]:
        provider = app.provider
        if provider is None or id(app) not in self._ready:
            return FlagEvaluationDetails(
                flag_key=flag_key,
                value=default,
                reason=Reason.ERROR,
                error_code=ErrorCode.PROVIDER_NOT_READY,
                error_message="provider not ready",
            )
        resolved = provider.resolve_boolean_details(flag_key, default, context)
        details: dict[str, Any] = {
            "flag_key": flag_key,
            "value": resolved.value,
            "variant": resolved.variant,
            "reason": resolved.reason,
            "error_code": resolved.error_code,
            "error_message": resolved.error_message,
        }
        return FlagEvaluationDetails(**details)

    def forget(self, app: ProviderApp) -> None:
        self._initializing.discard(id(app))
        with contextlib.suppress(KeyError):
            self._ready.remove(id(app))
