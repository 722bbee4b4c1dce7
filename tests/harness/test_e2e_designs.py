"""End-to-end: every built-in scenario of the design space (docs/design-space.md) with the real
services as local processes, 10 tracers, intervals shortened with ``--set``; each test checks
the mechanism its scenario is about in the agent's counters or the tracers' figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.results.counters import sum_series
from harness.results.folder import load_summary
from harness.results.summary import Summary

pytestmark = pytest.mark.e2e

TRACERS = 10


def run(tmp_path: Path, scenario: str, *overrides: str, timeout_s: int = 40) -> Summary:
    out = tmp_path / scenario
    sets = [arg for o in overrides for arg in ("--set", o)]
    args = ["run", "--scenario", scenario, "--tracers", str(TRACERS), "--runtime", "local",
            "--tracers-per-process", "5", "--timeout", str(timeout_s), "--out", str(out),
            *sets]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s + 90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = load_summary(out)
    assert summary.counts.total == TRACERS  # every tracer accounted for
    return summary


def agent(summary: Summary, series: str, **labels: str) -> float:
    return sum_series(summary.agent, series, labels) or 0.0


def ready_max_ms(summary: Summary) -> int:
    assert summary.provider_ready_ms is not None
    return summary.provider_ready_ms.max


def test_agent_only_part_b_never_sees_a_bundled_request_as_fast_lane(tmp_path: Path) -> None:
    s = run(tmp_path, "agent-only", "client.poll_interval_s=1")
    assert s.success_ratio == 1
    assert agent(s, "agent_rc_bypass_total", lane="standard") >= TRACERS
    assert agent(s, "agent_rc_bypass_total", lane="fast") == 0
    assert agent(s, "agent_rc_refreshes_total", reason="bypass_fast_lane") == 0


def test_agent_any_product_sends_bundled_requests_down_the_fast_lane(tmp_path: Path) -> None:
    s = run(tmp_path, "agent-any-product", "client.poll_interval_s=1")
    assert s.success_ratio == 1
    assert agent(s, "agent_rc_bypass_total", lane="fast") >= TRACERS
    assert agent(s, "agent_rc_refreshes_total", reason="bypass_fast_lane", result="ok") >= 1


def test_agent_single_flight_shares_bypass_refreshes(tmp_path: Path) -> None:
    s = run(tmp_path, "agent-single-flight", "client.poll_interval_s=1")
    assert s.success_ratio == 1
    riders = agent(s, "agent_rc_bypass_total", result="refreshed")
    refreshes = agent(s, "agent_rc_refreshes_total", reason="bypass")
    assert riders == TRACERS and refreshes < riders  # clients rode refreshes they did not start


def test_agent_new_products_delivers_a_late_subscription_without_a_refresh(
    tmp_path: Path,
) -> None:
    # Provider created after the first poll (1 s) and its bypasses (2 s budget); without the
    # new-product bypass the agent would answer {} until its 60 s refresh, after this run's 30 s.
    s = run(tmp_path, "agent-new-products", "client.poll_interval_s=1",
            "client.provider_delay_ms=3500", timeout_s=30)  # fmt: skip
    assert s.success_ratio == 1
    assert agent(s, "agent_rc_bypass_total") >= 2 * TRACERS  # new client, then new product
    assert agent(s, "agent_rc_refreshes_total", reason="periodic") == 0


def test_late_subscription_waits_for_a_refresh_on_todays_agent(tmp_path: Path) -> None:
    s = run(tmp_path, "late-subscription", "client.poll_interval_s=1",
            "client.provider_delay_ms=3500", "agent.refresh_interval_s=5")  # fmt: skip
    assert s.success_ratio == 1
    assert agent(s, "agent_rc_requests_total", outcome="no_update") >= TRACERS  # {} to FFE polls
    assert agent(s, "agent_rc_refreshes_total", reason="periodic", result="ok") >= 1


def test_agent_warm_serves_the_flags_before_any_refresh_for_a_client(tmp_path: Path) -> None:
    # go-2.10 polls at once; with no bypass wait a cold agent would answer without FFE_FLAGS
    # and the tracers would wait for their next poll (3 s later).
    s = run(tmp_path, "agent-warm", "client.profile=go-2.10", "client.poll_interval_s=3",
            "agent.new_client_block_ttl_s=0")  # fmt: skip
    assert s.success_ratio == 1
    assert ready_max_ms(s) < 3000


def test_agent_short_block_answers_python_clients_before_they_give_up(tmp_path: Path) -> None:
    s = run(tmp_path, "agent-short-block")
    assert s.success_ratio == 1
    assert agent(s, "agent_rc_requests_total") == TRACERS  # one request each, none lost
    assert ready_max_ms(s) < 5000  # before the next 5 s poll


def test_client_go_2_10_polls_at_once(tmp_path: Path) -> None:
    s = run(tmp_path, "client-go-2.10")
    assert s.success_ratio == 1
    assert ready_max_ms(s) < 5000  # go-2.5 polls first after 5 s


def test_loadtest_setup_starts_agent_and_fleet_together(tmp_path: Path) -> None:
    s = run(tmp_path, "loadtest-setup", "agent.rc_unavailable_s=3", "fleet.ramp_s=2",
            "client.poll_interval_s=1")  # fmt: skip
    assert s.success_ratio == 1
    assert agent(s, "agent_rc_requests_total", outcome="error_unavailable") >= 1
