import json
from pathlib import Path

import pytest

from harness.errors import ResultsError
from harness.report.html.run_page import write_html_if_available
from harness.report.text import render_text
from harness.results.build import RunFacts, build_summary
from harness.results.folder import load_summary, write_results
from harness.results.samples import CRASHED, READY, TIMEOUT, TracerSample, read_samples
from harness.results.summary import SCHEMA_VERSION, Buckets, Counts, Health, Summary
from harness.scenario.model import load_scenario
from tests.harness.factories import make_summary


def rows() -> list[TracerSample]:
    return [
        TracerSample(0, "p0", READY, 1, 5_000, 5_010, 5_011, 0, 1.0),
        TracerSample(1, "p0", READY, 1, 29_000, 29_010, 30_000, 1, 1.0),
        TracerSample(2, "p1", CRASHED, 1, None, None, None, 0, 1.0),
        TracerSample(3, "p1", TIMEOUT, 1, None, None, None, 2, 1.0),
    ]


def summary(mode: str) -> Summary:
    scenario = load_scenario("baseline", ["fleet.tracers=4", f"provider.mode={mode}"])
    facts = RunFacts("r1", scenario, "local", 100.0, 105.0, 140.5)
    return build_summary(
        facts,
        rows(),
        Counts(success=2, timeout=1, error=0, crashed=1),
        Health(running=2, exited=0, restarting=0, crashes=2),
        agent={"a": 1.0},
        backend={},
        timeline=[(0.0, 0), (30.0, 2)],
    )


def test_summary_percentiles_come_from_ready_tracers_only() -> None:
    s = summary("event")
    assert s.provider_ready_ms is not None
    assert s.provider_ready_ms.model_dump() == {
        "min": 5_000,
        "p50": 29_000,
        "p75": 29_000,
        "p90": 29_000,
        "p95": 29_000,
        "p99": 29_000,
        "max": 29_000,
    }
    assert s.duration_s == 35.5 and s.started_at == "1970-01-01T00:01:40.000+00:00"
    assert s.success_ratio == 0.5 and s.provider_error_events == 3
    assert s.buckets is None and s.timeline == ((0.0, 0), (30.0, 2))
    assert s.schema_version == SCHEMA_VERSION


def test_wait_mode_buckets_total_boot_times() -> None:
    assert summary("wait").buckets == Buckets(under_10s=1, cliff_28_32s=1, over_32s=0)


def test_written_files_round_trip(tmp_path: Path) -> None:
    s = summary("wait")
    write_results(tmp_path, s, rows(), render_text(s))
    assert load_summary(tmp_path) == s
    assert render_text(load_summary(tmp_path)) == (tmp_path / "report.txt").read_text()
    lines = (tmp_path / "samples.csv").read_text().splitlines()
    assert lines[0] == (
        "tracer,component,outcome,start_ms,provider_ready_ms,"
        "first_evaluation_ms,boot_total_ms,provider_error_events,start_wall,kind"
    )
    assert lines[3] == "2,p1,crashed,1,,,,0,1.0,stub"
    assert read_samples(tmp_path / "samples.csv") == rows()


def test_load_summary_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match=r"summary\.json not found"):
        load_summary(tmp_path)
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(ResultsError, match="cannot read"):
        load_summary(tmp_path)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"counts": {"success": "many"}}, "counts.success"),
        ({"provider_mode": "eventually"}, "provider_mode"),
        ({"tracers": None}, "tracers"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_malformed_summary_fails_once_at_load_naming_the_field(
    tmp_path: Path, change: dict[str, object], fragment: str
) -> None:
    data = make_summary().to_json() | change
    (tmp_path / "summary.json").write_text(json.dumps(data))
    with pytest.raises(ResultsError, match=f"not a summary written by harness run.*{fragment}"):
        load_summary(tmp_path)


def test_a_version_1_summary_is_read_and_a_newer_one_refused(tmp_path: Path) -> None:

    old = make_summary().to_json()
    del old["schema_version"]  # what harness runs wrote before the field existed
    (tmp_path / "summary.json").write_text(json.dumps(old))
    assert load_summary(tmp_path) == make_summary()
    (tmp_path / "summary.json").write_text(json.dumps(old | {"schema_version": 99}))
    with pytest.raises(ResultsError, match="schema version 99, newer than this harness reads"):
        load_summary(tmp_path)


VERSION_3_FIELDS = ("status", "failure", "faults", "failures", "crash_logs", "by_kind",
                    "validity", "agents", "backend_view", "simulation")  # fmt: skip


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_summary_without_the_version_3_fields_reads_with_their_defaults(
    tmp_path: Path, version: int
) -> None:
    old = {k: v for k, v in make_summary().to_json().items() if k not in VERSION_3_FIELDS}
    if version == 1:
        del old["schema_version"]
    else:
        old["schema_version"] = 2
    (tmp_path / "summary.json").write_text(json.dumps(old))
    s = load_summary(tmp_path)
    assert s.schema_version == SCHEMA_VERSION == 3
    assert (s.status, s.failure, s.faults, s.failures, s.validity) == (
        "complete",
        None,
        (),
        (),
        None,
    )
    assert (s.agents, s.backend_view, s.simulation, s.crash_logs, s.by_kind) == (
        1,
        None,
        None,
        {},
        {},
    )


def test_a_failing_html_report_is_a_warning_not_a_failed_run(tmp_path: Path) -> None:
    s = summary("event")
    write_results(tmp_path, s, rows(), render_text(s))
    (tmp_path / "report.html").mkdir()  # a folder where the page should go: writing fails
    warning = write_html_if_available(tmp_path)
    assert warning is not None
    assert warning.startswith(f"report.html for {tmp_path} was not written: ")
    assert (tmp_path / "report.txt").is_file()
