"""The OpenFeature provider on its own: parking init, timeout, late READY, resolution."""

from __future__ import annotations

import threading

import pytest
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEvent, ProviderEventDetails
from openfeature.exception import ErrorCode, GeneralError
from openfeature.flag_evaluation import Reason
from openfeature.provider import FeatureProvider

from rc_protocol.ufc_build import FlagSpec, ufc_bytes
from tracer_stub.provider import InitState, StubProvider

UFC = ufc_bytes(
    [FlagSpec.boolean("flag-b", True), FlagSpec.string("flag-s", "blue")], environment="prod"
)


class Emitted:
    def __init__(self) -> None:
        self.events: list[ProviderEvent] = []

    def __call__(
        self, provider: FeatureProvider, event: ProviderEvent, details: ProviderEventDetails
    ) -> None:
        self.events.append(event)


def state(provider: StubProvider) -> InitState:
    return provider.init_state


def run_init(provider: StubProvider) -> tuple[threading.Thread, list[BaseException | None]]:
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            provider.initialize(EvaluationContext())
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def test_initialize_parks_until_a_config_arrives() -> None:
    p = StubProvider("p")
    thread, outcome = run_init(p)
    thread.join(0.05)
    assert thread.is_alive() and state(p) is InitState.WAITING
    assert p.on_config(UFC) is None
    thread.join(5)
    assert outcome == [None] and state(p) is InitState.READY


def test_initialize_returns_at_once_when_the_config_is_already_there() -> None:
    p = StubProvider("p")
    p.on_config(UFC)
    thread, outcome = run_init(p)
    thread.join(5)
    assert outcome == [None]


def test_expired_init_raises_and_late_ready_follows_the_error() -> None:
    p = StubProvider("p")
    emitted = Emitted()
    p.attach(emitted)
    thread, outcome = run_init(p)
    assert p.expire_init() is True
    thread.join(5)
    assert isinstance(outcome[0], GeneralError)
    p.on_config(UFC)
    assert emitted.events == []  # the SDK's PROVIDER_ERROR has not been seen yet
    p.init_error_seen()
    assert emitted.events == [ProviderEvent.PROVIDER_READY]
    p.on_config(UFC)
    p.init_error_seen()
    assert emitted.events == [ProviderEvent.PROVIDER_READY]  # once


def test_error_seen_before_the_config_sends_ready_on_arrival() -> None:
    p = StubProvider("p")
    emitted = Emitted()
    p.attach(emitted)
    p.expire_init()
    p.init_error_seen()
    assert emitted.events == []
    p.on_config(UFC)
    assert emitted.events == [ProviderEvent.PROVIDER_READY]


def test_expire_after_ready_does_nothing() -> None:
    p = StubProvider("p")
    p.on_config(UFC)
    assert p.expire_init() is False


def test_shutdown_leaves_a_parked_init_parked() -> None:
    p = StubProvider("p")
    thread, outcome = run_init(p)
    p.shutdown()
    thread.join(0.1)
    assert thread.is_alive() and outcome == [] and state(p) is InitState.SHUT_DOWN
    assert p.expire_init() is False  # no timeout after shutdown either


def test_invalid_config_is_reported_and_not_applied() -> None:
    p = StubProvider("p")
    error = p.on_config(b'{"flags": 3}')
    assert error and not p.has_config


def test_resolution_from_the_config_and_errors() -> None:
    p = StubProvider("p", targeting_key="user-1")
    before = p.resolve_boolean_details("flag-b", False)
    assert before.error_code is ErrorCode.PROVIDER_NOT_READY and before.value is False
    p.on_config(UFC)
    ok = p.resolve_boolean_details("flag-b", False)
    assert ok.value is True and ok.error_code is None and ok.reason != Reason.ERROR
    assert p.resolve_string_details("flag-s", "x").value == "blue"
    missing = p.resolve_boolean_details("nope", False)
    assert missing.error_code is ErrorCode.FLAG_NOT_FOUND and missing.value is False
    mismatch = p.resolve_integer_details("flag-s", 7)
    assert mismatch.error_code is ErrorCode.TYPE_MISMATCH and mismatch.value == 7


def test_config_change_after_ready_is_announced() -> None:
    p = StubProvider("p")
    emitted = Emitted()
    p.attach(emitted)
    p.on_config(UFC)
    thread, _ = run_init(p)
    thread.join(5)
    p.on_config(UFC)
    assert emitted.events == [ProviderEvent.PROVIDER_CONFIGURATION_CHANGED]


@pytest.mark.parametrize("name", ["Datadog Provider (tracer 1)", "other"])
def test_metadata_name_is_the_given_one(name: str) -> None:
    assert StubProvider(name).get_metadata().name == name


def test_ready_at_is_when_the_config_is_applied_or_the_late_ready_is_sent() -> None:
    now = [10.0]
    p = StubProvider("p", monotonic=lambda: now[0])
    p.on_config(UFC)
    assert p.ready_at == 10.0
    now[0] = 12.0
    thread, _ = run_init(p)  # init entered later returns at once; ready_at stays
    thread.join(5)
    assert p.ready_at == 10.0

    late = StubProvider("late", monotonic=lambda: now[0])
    late.attach(Emitted())
    late.expire_init()
    now[0] = 31.0
    late.on_config(UFC)
    assert late.ready_at is None  # the SDK's PROVIDER_ERROR not seen yet: no READY yet
    now[0] = 31.5
    late.init_error_seen()
    assert late.ready_at == 31.5
