"""The process-wide event router: one global handler per event type, routed by provider name."""

from __future__ import annotations

from openfeature import _event_support, api
from openfeature.event import EventDetails, ProviderEvent

from tracer_stub.events import EventRouter


def test_routes_by_provider_name_and_installs_once() -> None:
    router = EventRouter()
    got: list[tuple[str, str]] = []
    router.register("a", ProviderEvent.PROVIDER_READY, lambda d: got.append(("a", "ready")))
    router.register("b", ProviderEvent.PROVIDER_ERROR, lambda d: got.append(("b", "error")))
    try:
        router.install()
        router.install()
        ready = _event_support._global_handlers[ProviderEvent.PROVIDER_READY]
        assert sum(1 for h in ready if h is router._callbacks[ProviderEvent.PROVIDER_READY]) == 1
        route_ready = router._callbacks[ProviderEvent.PROVIDER_READY]
        route_error = router._callbacks[ProviderEvent.PROVIDER_ERROR]
        route_ready(EventDetails(provider_name="a"))
        route_ready(EventDetails(provider_name="No-op Provider"))  # the immediate no-op READY
        route_error(EventDetails(provider_name="b"))
        route_error(EventDetails(provider_name="a"))  # a has no ERROR handler
        assert got == [("a", "ready"), ("b", "error")]
        router.unregister("a")
        route_ready(EventDetails(provider_name="a"))
        assert got == [("a", "ready"), ("b", "error")]
    finally:
        api.clear_providers()


def test_install_again_after_the_sdk_dropped_global_handlers() -> None:
    router = EventRouter()
    router.install()
    api.clear_providers()  # drops every global handler
    assert (
        router._callbacks[ProviderEvent.PROVIDER_READY]
        not in (_event_support._global_handlers[ProviderEvent.PROVIDER_READY])
    )
    router.install()
    assert (
        router._callbacks[ProviderEvent.PROVIDER_READY]
        in (_event_support._global_handlers[ProviderEvent.PROVIDER_READY])
    )
    api.clear_providers()
