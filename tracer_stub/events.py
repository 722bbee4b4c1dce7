"""One process-wide OpenFeature event handler that routes events to tracers by provider name.

Each simulated app registers a PROVIDER_READY and a PROVIDER_ERROR handler and filters on its
provider's name (a READY handler fires at once for the default no-op provider). Registered per
tracer, as client handlers, that costs the SDK an O(tracers) scan per event
(openfeature-sdk 0.10 ``_event_support.run_handlers_for_provider`` walks every client with a
handler: ~150 us per event with a thousand tracers, ~150 ms of GIL per thousand READY events in
a boot storm); as global handlers, every handler runs for every event. So the process installs
one global handler per event type that looks the provider's name up in a dict: for each tracer
the same behaviour as its own name-filtered global handler, at O(1).

``api.clear_providers()``/``api.shutdown()`` drop global handlers; `install` puts the router
back and is called whenever a tracer registers.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from openfeature import api
from openfeature.event import EventDetails, ProviderEvent

__all__ = ["ROUTED_EVENTS", "EventRouter", "router"]

ROUTED_EVENTS = (ProviderEvent.PROVIDER_READY, ProviderEvent.PROVIDER_ERROR)

Handler = Callable[[EventDetails], None]


class EventRouter:
    """Routes global OpenFeature events to the handlers registered for a provider name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[tuple[ProviderEvent, str], Handler] = {}
        self._callbacks = {event: self._make_callback(event) for event in ROUTED_EVENTS}

    def _make_callback(self, event: ProviderEvent) -> Handler:
        def route(details: EventDetails) -> None:
            handler = self._handlers.get((event, details.provider_name))
            if handler is not None:
                handler(details)

        return route

    def install(self) -> None:
        """(Re)install the router's global handlers, exactly once each."""
        with self._lock:
            for event, callback in self._callbacks.items():
                with contextlib.suppress(ValueError):
                    api.remove_handler(event, callback)
                api.add_handler(event, callback)

    def register(self, provider_name: str, event: ProviderEvent, handler: Handler) -> None:
        self._handlers[(event, provider_name)] = handler

    def unregister(self, provider_name: str) -> None:
        for event in ROUTED_EVENTS:
            self._handlers.pop((event, provider_name), None)


#: The router of this process (the SDK's handlers are process-wide too).
router = EventRouter()
