"""The OpenFeature provider of a simulated tracer, fed by FFE_FLAGS over Remote Configuration.

Modelled on dd-trace-go ``openfeature/provider.go`` (``DatadogProvider``): ``Init`` waits for the
first configuration, up to ``defaultInitTimeout`` = 30 s, and returns ``DeadlineExceeded`` when
it does not come; the provider stays registered, keeps receiving RC updates and turns ready
when the configuration arrives (the proposal's "30 s cliff"). Flags resolve from the Universal
Flag Configuration through ``rc_protocol.ufc_eval.evaluate``.

How it runs under openfeature-sdk 0.10 (``provider/_registry.py``):

- ``set_provider(p, domain)`` starts a daemon thread that calls ``p.initialize``; when it
  returns the registry dispatches ``PROVIDER_READY``, when it raises ``PROVIDER_ERROR``.
  ``set_provider_and_wait`` runs ``initialize`` in the calling thread and re-raises.
- Event handlers run on the SDK's shared ``ThreadPoolExecutor`` (``_event_support.py``).
- A handler added to a client fires at once when the client's current provider is already
  READY: before ``set_provider`` that is the no-op provider, so handlers filter on the
  provider's name (each tracer's provider has its own).

``ready_at`` is the instant the provider became ready: a configuration applied while the init
waits (stamped on the event loop as it is applied; the tracer applies one that came before the
provider right when it creates it), or the late READY emitted. In a process of its own the SDK
dispatches PROVIDER_READY within microseconds of that; with hundreds of tracers in one process
the released init threads queue for the GIL behind each other (tens of ms in a thousand-tracer
boot storm), which is not part of the system being modelled, so the tracer reports
``ready_at``. (Events reach the tracers through one name router, `tracer_stub.events`.)

So ``initialize`` here blocks its (SDK-owned, or in wait mode the tracer's) thread on a
condition variable; it never decides the timeout itself. The tracer's asyncio task decides,
on the injected clock, and calls :meth:`StubProvider.expire_init`; RC updates arrive from the
event loop through :meth:`StubProvider.on_config`. Nothing blocks the event loop, and hosted
tracers never wait on each other (one parked thread per tracer until it is ready).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import ErrorCode, GeneralError
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider, Metadata

from rc_protocol.errors import UfcError
from rc_protocol.ufc import Ufc, parse_ufc
from rc_protocol.ufc_eval import evaluate

__all__ = ["InitState", "StubProvider"]

_ERROR_CODES = {
    "FLAG_NOT_FOUND": ErrorCode.FLAG_NOT_FOUND,
    "TYPE_MISMATCH": ErrorCode.TYPE_MISMATCH,
    "PROVIDER_NOT_READY": ErrorCode.PROVIDER_NOT_READY,
    "PARSE_ERROR": ErrorCode.PARSE_ERROR,
    "TARGETING_KEY_MISSING": ErrorCode.TARGETING_KEY_MISSING,
}

#: A parked ``initialize`` re-checks this often (real seconds) so that a lost wake-up or a
#: stopped process can never hang a thread forever.
_PARK_SLICE_S = 5.0


class InitState(StrEnum):
    """Where the provider's ``initialize`` stands."""

    WAITING = "waiting"
    READY = "ready"  # returned normally: the SDK dispatches PROVIDER_READY
    TIMED_OUT = "timed_out"  # raised: the SDK dispatches PROVIDER_ERROR
    SHUT_DOWN = "shut_down"


_PARKED = (InitState.WAITING, InitState.SHUT_DOWN)


class StubProvider(AbstractProvider):
    """A Datadog-like provider: ready when a valid FFE_FLAGS config is applied."""

    def __init__(
        self,
        name: str,
        *,
        targeting_key: str = "",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._name = name
        self._targeting_key = targeting_key
        self._monotonic = monotonic
        self.ready_at: float | None = None
        self._cond = threading.Condition()
        self._ufc: Ufc | None = None
        self._init_state = InitState.WAITING
        self._init_error_seen = False
        self._late_ready_sent = False

    # -- the SDK side -----------------------------------------------------------------------

    def get_metadata(self) -> Metadata:
        return Metadata(name=self._name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def init_state(self) -> InitState:
        return self._init_state

    @property
    def has_config(self) -> bool:
        return self._ufc is not None

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        """Park until a configuration arrives or the tracer declares the init timed out."""
        del evaluation_context
        with self._cond:
            # After shutdown a parked init stays parked (daemon thread): an event dispatched
            # while the process exits would find the SDK's executor gone.
            while self._ufc is None and self._init_state in _PARKED:
                self._cond.wait(_PARK_SLICE_S)
            if self._ufc is not None and self._init_state is InitState.WAITING:
                self._init_state = InitState.READY
                if self.ready_at is None:
                    self.ready_at = self._monotonic()
                return
            state = self._init_state
        if state is InitState.SHUT_DOWN:
            return
        # dd-trace-go returns ctx.Err() (context.DeadlineExceeded) from InitWithContext.
        raise GeneralError("provider initialization timed out waiting for FFE_FLAGS")

    def shutdown(self) -> None:
        with self._cond:
            if self._init_state is InitState.WAITING:
                self._init_state = InitState.SHUT_DOWN

    # -- the tracer side (event loop thread) ------------------------------------------------

    def expire_init(self) -> bool:
        """Declare the init timeout reached; True when ``initialize`` was still waiting."""
        with self._cond:
            if self._init_state is not InitState.WAITING or self._ufc is not None:
                return False
            self._init_state = InitState.TIMED_OUT
            self._cond.notify_all()
            return True

    def on_config(self, raw: bytes | None) -> str | None:
        """Apply an FFE_FLAGS payload (``None`` = removed); return an apply error or ``None``.

        After a timed-out init the arrival of a configuration emits ``PROVIDER_READY`` through
        the SDK (the provider stays registered and turns ready later); after a successful init
        a new configuration emits ``PROVIDER_CONFIGURATION_CHANGED``.
        """
        if raw is None:
            with self._cond:
                self._ufc = None
            return None
        try:
            ufc = _parse_ufc(raw)
        except UfcError as exc:
            return str(exc)
        with self._cond:
            had = self._ufc is not None
            self._ufc = ufc
            state = self._init_state
            if state is InitState.WAITING and self.ready_at is None:
                # The (parked, or about to start) init returns now: this is when the SDK
                # dispatches PROVIDER_READY in a process of its own (see ready_at).
                self.ready_at = self._monotonic()
            self._cond.notify_all()
        if state is InitState.TIMED_OUT:
            self._maybe_late_ready()
        elif state is InitState.READY and had:
            self.emit_provider_configuration_changed(ProviderEventDetails())
        return None

    def init_error_seen(self) -> None:
        """The tracer saw the SDK's PROVIDER_ERROR for the timed-out init (event loop thread).

        The late PROVIDER_READY must follow that error, never precede it (the SDK sets the
        status from each event in turn), so it is sent by whichever of this call and
        :meth:`on_config` comes second.
        """
        self._init_error_seen = True
        self._maybe_late_ready()

    def _maybe_late_ready(self) -> None:
        if self._init_error_seen and self._ufc is not None and not self._late_ready_sent:
            self._late_ready_sent = True
            self.ready_at = self._monotonic()
            self.emit_provider_ready(ProviderEventDetails(message="configuration received"))

    # -- resolution -------------------------------------------------------------------------

    def _resolve(
        self, flag_key: str, default: Any, context: EvaluationContext | None, kind: type
    ) -> FlagResolutionDetails[Any]:
        ufc = self._ufc
        if ufc is None:
            return FlagResolutionDetails(
                value=default,
                reason=Reason.ERROR,
                error_code=ErrorCode.PROVIDER_NOT_READY,
                error_message="no configuration loaded",
            )
        targeting_key = (context.targeting_key if context else None) or self._targeting_key
        attributes: Mapping[str, Any] = context.attributes if context else {}
        try:
            resolution = evaluate(
                ufc, flag_key, default, targeting_key, dict(attributes), now=datetime.now(UTC)
            )
        except UfcError as exc:
            return FlagResolutionDetails(
                value=default, reason=Reason.ERROR, error_code=ErrorCode.GENERAL,
                error_message=str(exc),
            )  # fmt: skip
        if resolution.error_code:
            return FlagResolutionDetails(
                value=default,
                reason=Reason.ERROR,
                error_code=_ERROR_CODES.get(resolution.error_code, ErrorCode.GENERAL),
                error_message=f"flag {flag_key!r}: {resolution.error_code}",
            )
        value = resolution.value
        if kind is not object and not _is_kind(value, kind):
            return FlagResolutionDetails(
                value=default,
                reason=Reason.ERROR,
                error_code=ErrorCode.TYPE_MISMATCH,
                error_message=f"flag {flag_key!r} is not a {kind.__name__}",
            )
        return FlagResolutionDetails(
            value=value, reason=str(resolution.reason), variant=resolution.variant
        )

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, bool)

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, str)

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, int)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, evaluation_context, float)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        return self._resolve(flag_key, default_value, evaluation_context, object)


@functools.lru_cache(maxsize=32)
def _parse_ufc(raw: bytes) -> Ufc:
    """``parse_ufc``, once per distinct payload in this process (pure; a ``Ufc`` is frozen and
    only read): the tracers of one stub process receive the same FFE_FLAGS bytes."""
    return parse_ufc(raw)


def _is_kind(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, kind)
