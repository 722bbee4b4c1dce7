from __future__ import annotations

import random

import pytest

from fake_backend.errors import FaultSpecError
from fake_backend.faults import FaultKind, FaultPlan, WindowKind, make_window, parse_windows


def plan(seed: int = 0, **kwargs: object) -> FaultPlan:
    return FaultPlan(rng=random.Random(seed), **kwargs)  # type: ignore[arg-type]


def test_no_faults_serves_immediately() -> None:
    decision = plan().decide(10.0)
    assert decision.status is None
    assert decision.delay_s == 0.0
    assert decision.kinds == ()


def test_fixed_latency_and_seeded_spread() -> None:
    a = plan(seed=3, latency_ms=100, latency_spread_ms=50)
    b = plan(seed=3, latency_ms=100, latency_spread_ms=50)
    delays = [a.decide(0.0).delay_s for _ in range(200)]
    assert delays == [b.decide(0.0).delay_s for _ in range(200)]
    assert all(0.1 <= d <= 0.15 for d in delays)
    assert max(delays) - min(delays) > 0.04  # the spread is really used
    assert a.decide(0.0).kinds == (FaultKind.LATENCY,)


def test_error_rate_with_seeded_rng_is_close_to_the_rate() -> None:
    p = plan(seed=42, error_rate=0.3, error_status=503)
    decisions = [p.decide(0.0) for _ in range(10_000)]
    failed = [d for d in decisions if d.status is not None]
    assert 2800 < len(failed) < 3200
    assert {d.status for d in failed} == {503}
    assert all(d.kinds == (FaultKind.ERROR,) for d in failed)


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_error_rate_bounds(rate: float) -> None:
    p = plan(error_rate=rate)
    statuses = {p.decide(0.0).status for _ in range(100)}
    assert statuses == ({None} if rate == 0.0 else {500})


def test_windows_are_half_open_and_outage_beats_rate_limit() -> None:
    p = plan()
    p.add_window(make_window(WindowKind.RATE_LIMIT, 10.0, 20.0))
    p.add_window(make_window(WindowKind.OUTAGE, 15.0, 16.0))
    assert p.decide(9.999).status is None
    limited = p.decide(10.0)
    assert limited.status == 429
    assert limited.retry_after_s == 10
    assert limited.kinds == (FaultKind.RATE_LIMIT,)
    assert p.decide(15.5).status == 503
    assert p.decide(15.5).kinds == (FaultKind.OUTAGE,)
    assert p.decide(19.9).status == 429
    assert p.decide(20.0).status is None


def test_parse_windows_relative_to_origin() -> None:
    windows = parse_windows("10-20, 30-31.5", WindowKind.OUTAGE, origin=100.0)
    assert [(w.start, w.end) for w in windows] == [(110.0, 120.0), (130.0, 131.5)]
    assert parse_windows("", WindowKind.OUTAGE, origin=0.0) == []


@pytest.mark.parametrize("spec", ["10", "a-b", "20-10", "5-5"])
def test_parse_windows_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(FaultSpecError, match="window"):
        parse_windows(spec, WindowKind.RATE_LIMIT, origin=0.0)


def test_set_and_clear() -> None:
    p = plan()
    p.set_latency(5, 0)
    p.set_errors(1.0, 500)
    p.add_window(make_window(WindowKind.OUTAGE, 0.0, 100.0))
    assert p.decide(1.0).status == 503
    p.clear()
    d = p.decide(1.0)
    assert (d.status, d.delay_s) == (None, 0.0)
    with pytest.raises(FaultSpecError):
        p.set_errors(2.0, 500)
    with pytest.raises(FaultSpecError):
        p.set_errors(0.5, 404)
    with pytest.raises(FaultSpecError):
        p.set_latency(-1, 0)


def test_prune_and_describe() -> None:
    p = plan()
    p.add_window(make_window(WindowKind.OUTAGE, 0.0, 5.0))
    p.add_window(make_window(WindowKind.RATE_LIMIT, 10.0, 20.0))
    p.prune(6.0)
    state = p.describe(6.0)
    assert state["windows"] == [
        {"kind": "rate_limit", "start_in_s": 4.0, "end_in_s": 14.0, "active": False}
    ]


def test_latency_windows_add_to_the_fixed_latency_while_they_last() -> None:
    p = plan(latency_ms=100)
    p.add_window(make_window(WindowKind.LATENCY, 10.0, 20.0, latency_ms=900))
    assert p.decide(9.9).delay_s == pytest.approx(0.1)
    assert p.decide(10.0).delay_s == pytest.approx(1.0)
    assert p.decide(10.0).status is None
    assert p.decide(20.0).delay_s == pytest.approx(0.1)


def test_an_errors_window_replaces_the_rate_and_status() -> None:
    p = plan(error_rate=0.0)
    p.add_window(make_window(WindowKind.ERRORS, 5.0, 6.0, error_rate=1.0, status=503))
    assert p.decide(4.0).status is None
    assert [p.decide(5.5).status for _ in range(20)] == [503] * 20
    assert p.decide(6.0).status is None


def test_window_statuses_and_retry_after_are_the_windows_own() -> None:
    p = plan()
    p.add_window(make_window(WindowKind.OUTAGE, 0.0, 1.0, status=500))
    p.add_window(make_window(WindowKind.RATE_LIMIT, 1.0, 30.0, retry_after_s=2))
    assert p.decide(0.5).status == 500
    limited = p.decide(1.5)
    assert (limited.status, limited.retry_after_s) == (429, 2)


def test_a_bad_payload_window_names_its_corruption() -> None:
    p = plan()
    p.add_window(make_window(WindowKind.BAD_PAYLOAD, 1.0, 2.0, corruption="ufc"))
    assert [p.corruption(t) for t in (0.5, 1.0, 1.99, 2.0)] == [None, "ufc", "ufc", None]
    assert p.decide(1.5).status is None  # the call is served, with a corrupt target


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        (WindowKind.BAD_PAYLOAD, {"corruption": "rot13"}, "corruption 'rot13'"),
        (WindowKind.ERRORS, {"error_rate": 2.0}, "error_rate=2.0"),
        (WindowKind.ERRORS, {"error_rate": 1.0, "status": 502}, "status must be one of"),
        (WindowKind.LATENCY, {"latency_ms": -1}, "latencies must be >= 0"),
    ],
)
def test_window_fields_are_checked(
    kind: WindowKind, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(FaultSpecError, match=message):
        make_window(kind, 0.0, 1.0, **fields)  # type: ignore[arg-type]


def test_the_state_shows_each_windows_own_fields() -> None:
    p = plan()
    p.add_window(make_window(WindowKind.LATENCY, 0.0, 10.0, latency_ms=250))
    [window] = p.describe(5.0)["windows"]  # type: ignore[misc]
    assert window == {"kind": "latency", "start_in_s": -5.0, "end_in_s": 5.0, "active": True,
                      "latency_ms": 250}  # fmt: skip
