from harness.report.reference import comparable, versus_proposal
from harness.scenario.model import load_scenario
from tests.harness.factories import latency, make_summary


def test_only_the_shipped_baseline_or_loadtest_setup_with_100_tracers_is_comparable() -> None:
    assert comparable(load_scenario("loadtest-setup"))
    assert comparable(load_scenario("loadtest-setup", ["fleet.boot=as_started"]))  # Docker
    assert not comparable(load_scenario("loadtest-setup", ["agent.rc_unavailable_s=3"]))
    assert not comparable(load_scenario("baseline", ["fleet.boot=ramp"]))
    assert comparable(load_scenario("baseline"))
    assert comparable(load_scenario("baseline", ["provider.mode=wait", "timeouts.run_s=90"]))
    assert not comparable(load_scenario("baseline", ["fleet.tracers=12"]))
    assert not comparable(load_scenario("baseline", ["client.poll_interval_s=1"]))
    assert not comparable(load_scenario("phase3"))


def test_a_tight_distribution_is_not_the_proposals() -> None:
    line = versus_proposal(
        make_summary(provider_ready_ms=latency(min=5_033, p50=7_046, p90=7_064, max=7_073))
    )
    assert line == (
        "baseline vs the proposal's load test (provider ready, ours vs theirs): min 5.0s vs 5.1s,"
        " p50 7.0s vs 11.3s, p90 7.1s vs 17.1s, max 7.1s vs 22.4s: NOT reproduced"
    )


def test_wait_mode_compares_total_boot_and_no_sample_is_not_reproduced() -> None:
    line = versus_proposal(make_summary(provider_mode="wait", boot_total_ms=None))
    assert "total boot, wait mode" in line and line.endswith("NOT reproduced")


def test_the_line_names_the_scenario() -> None:
    line = versus_proposal(make_summary(scenario="loadtest-setup"))
    assert line.startswith("loadtest-setup vs the proposal's load test (provider ready")
    assert line.endswith("reproduced within 25%")
