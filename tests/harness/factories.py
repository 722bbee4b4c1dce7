"""Typed test data for the harness: summaries and results folders as ``harness run`` writes
them (docs/contracts.md, "Results folder"), built through the real types."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.results.samples import READY, TIMEOUT, TracerSample, write_samples
from harness.results.summary import Latency, Summary

PROPOSAL_READY = {"min": 5059, "p50": 11268, "p90": 17122, "max": 22396}
PROPOSAL_BOOT = {
    "min": 5075,
    "p50": 11782,
    "p75": 14355,
    "p90": 17184,
    "p95": 18705,
    "p99": 24298,
    "max": 24298,
}
STATS = (("p50", 50), ("p75", 75), ("p90", 90), ("p95", 95), ("p99", 99))


def latency(**stats: int) -> Latency:
    """A latency block; missing percentiles take the nearest given one below them."""
    values: dict[str, int] = {}
    last = stats.get("min", 0)
    for name in ("min", "p50", "p75", "p90", "p95", "p99", "max"):
        last = stats.get(name, last)
        values[name] = last
    return Latency(**values)


def make_summary(**changes: Any) -> Summary:
    """The proposal's load-test summary (100 tracers, all ready), with ``changes`` applied;
    values may be the JSON form (dicts) or the typed parts."""
    base: dict[str, Any] = {
        "run_id": "abcd1234",
        "scenario": "baseline",
        "runtime": "local",
        "tracers": 100,
        "started_at": "2026-11-29T17:00:00.000+00:00",
        "boot_at": "2026-11-29T17:00:03.000+00:00",
        "duration_s": 25.0,
        "provider_mode": "event",
        "provider_ready_ms": latency(**PROPOSAL_READY).model_dump(),
        "boot_total_ms": PROPOSAL_BOOT,
        "counts": {"success": 100, "timeout": 0, "error": 0, "crashed": 0},
        "success_ratio": 1.0,
        "provider_error_events": 0,
        "buckets": None,
        "health": {"running": 100, "exited": 0, "restarting": 0, "crashes": 0},
        "agent": {},
        "backend": {},
        "timeline": [[0.0, 0], [22.4, 100]],
        "warnings": [],
    }
    for key, value in changes.items():
        base[key] = value.model_dump() if hasattr(value, "model_dump") else value
    return Summary.from_json(base)


def nearest_rank(values: Sequence[int]) -> dict[str, int] | None:
    """The summary.json statistics (the harness's nearest rank: floor(p*n)+1), computed here
    independently of ``harness.results.stats``."""
    if not values:
        return None
    ordered = sorted(values)
    n = len(ordered)
    out = {"min": ordered[0], "max": ordered[-1]}
    for name, p in STATS:
        out[name] = ordered[min(n, math.floor(p / 100 * n) + 1) - 1]
    return {k: out[k] for k in ("min", "p50", "p75", "p90", "p95", "p99", "max")}


def summary_with(scenario: str, p50: int, p99: int, success: float = 1.0) -> Summary:
    """A summary whose provider-ready p50 and p99 (and success ratio) are as given."""
    ready = latency(min=1, p50=p50, p90=p99)
    return make_summary(scenario=scenario, provider_ready_ms=ready, success_ratio=success)


def make_run(
    run_dir: Path,
    scenario: str,
    ready_ms: Sequence[int],
    tracers: int | None = None,
    agent: Mapping[str, float] | None = None,
    with_timeline: bool = True,
) -> Summary:
    """Write a results folder whose tracers became ready after ``ready_ms``; the rest time out."""
    tracers = len(ready_ms) if tracers is None else tracers
    run_dir.mkdir(parents=True, exist_ok=True)
    start_wall = 1_800_000_000.0
    rows = []
    for i in range(tracers):
        ready_at = ready_ms[i] if i < len(ready_ms) else None
        rows.append(
            TracerSample(
                tracer=i,
                component=f"tracers-{i // 10:03d}",
                outcome=READY if ready_at is not None else TIMEOUT,
                start_ms=40,
                provider_ready_ms=ready_at,
                first_evaluation_ms=None if ready_at is None else ready_at + 1,
                boot_total_ms=None if ready_at is None else ready_at + 41,
                start_wall=start_wall + i * 0.001,
            )
        )
    write_samples(run_dir / "samples.csv", rows)
    ready = list(ready_ms)
    timeline = [[0.0, 0]]
    for k, t in enumerate(sorted(ready), start=1):
        timeline.append([round(t / 1000, 3), k])
    summary = make_summary(
        run_id=f"{scenario[:4]}{len(ready):04d}",
        scenario=scenario,
        tracers=tracers,
        duration_s=max(ready, default=0) / 1000 + 1,
        provider_ready_ms=nearest_rank(ready),
        boot_total_ms=nearest_rank([r + 41 for r in ready]),
        counts={"success": len(ready), "timeout": tracers - len(ready), "error": 0, "crashed": 0},
        success_ratio=round(len(ready) / tracers, 4) if tracers else 0.0,
        health={"running": tracers, "exited": 0, "restarting": 0, "crashes": 0},
        agent=dict(agent or {}),
        backend={'backend_rc_requests_total{endpoint="configurations",status="200"}': 14.0},
        timeline=timeline if with_timeline else [],
    )
    (run_dir / "summary.json").write_text(json.dumps(summary.to_json(), indent=2))
    p = summary.provider_ready_ms
    (run_dir / "report.txt").write_text(
        "=== PROVIDER READY TIME (ProviderReady event, i.e. actual RC delivery) ===\n"
        f"p50: {p.p50 if p else None}ms\np99: {p.p99 if p else None}ms\n"
        f"Success: {len(ready)}/{tracers}\n",
        encoding="utf-8",
    )
    return summary


def fake_proc(root: Path, pid: int, environ: dict[str, str], state: str = "S") -> None:
    """A process in a fake ``/proc`` tree: its environment and its state (``Z``: zombie)."""
    entry = root / str(pid)
    entry.mkdir(parents=True)
    (entry / "environ").write_bytes(b"\0".join(f"{k}={v}".encode() for k, v in environ.items()))
    (entry / "stat").write_text(f"{pid} (python3 (x)) {state} 1 2 3\n")
