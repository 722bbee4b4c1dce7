from harness.report import text as report
from harness.report.text import render_text

PROPOSAL = """\
=== CONTAINER HEALTH ===
Running: 100  |  Exited: 0  |  Restarting: 0  |  Crashes: 0

=== PROVIDER READY TIME (ProviderReady event, i.e. actual RC delivery) ===
min:    5,059ms  (5.1s)
p50:   11,268ms  (11.3s)
p90:   17,122ms  (17.1s)
max:   22,396ms  (22.4s)

=== TOTAL BOOT TIME (tracer start + provider ready + first eval) ===
min:    5,075ms  (5.1s)
p50:   11,782ms  (11.8s)
p75:   14,355ms  (14.4s)
p90:   17,184ms  (17.2s)
p95:   18,705ms  (18.7s)
p99:   24,298ms  (24.3s)
max:   24,298ms  (24.3s)

Success: 100/100  |  Timeout: 0  |  Error: 0
ProviderError events: 0
"""


def summary(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "tracers": 100,
        "provider_mode": "event",
        "health": {"running": 100, "exited": 0, "restarting": 0, "crashes": 0},
        "provider_ready_ms": {"min": 5059, "p50": 11268, "p90": 17122, "max": 22396},
        "boot_total_ms": {
            "min": 5075,
            "p50": 11782,
            "p75": 14355,
            "p90": 17184,
            "p95": 18705,
            "p99": 24298,
            "max": 24298,
        },
        "counts": {"success": 100, "timeout": 0, "error": 0, "crashed": 0},
        "provider_error_events": 0,
        "buckets": None,
    }
    base.update(changes)
    return base


def test_reproduces_the_proposals_report_character_for_character() -> None:
    assert render_text(summary()) == PROPOSAL


def test_wait_mode_adds_the_bucket_line() -> None:
    text = render_text(
        summary(provider_mode="wait", buckets={"under_10s": 20, "cliff_28_32s": 54, "over_32s": 15})
    )
    assert text.endswith(
        "ProviderError events: 0\nUnder 10s: 20  |  28-32s (timeout cliff): 54  |  Over 32s: 15\n"
    )


def test_no_samples_and_crashes_are_shown() -> None:
    text = render_text(
        summary(
            provider_ready_ms=None,
            boot_total_ms=None,
            counts={"success": 0, "timeout": 90, "error": 0, "crashed": 10},
        )
    )
    assert "p50:      n/a\n" in text
    assert "Success: 0/100  |  Timeout: 90  |  Error: 0  |  Crashed: 10\n" in text


def test_large_values_keep_separators() -> None:
    assert report.line("max", 1_234_567) == "max:1,234,567ms  (1234.6s)"
