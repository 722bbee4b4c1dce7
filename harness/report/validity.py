"""The "MEASUREMENT VALIDITY" block of the reports (text and HTML), from ``summary.validity``.

>>> from harness.results.validity import Check, Validity
>>> v = Validity(checks=(Check(name="agent_cpu_ratio", value=0.93, limit=0.8, unit="ratio",
...     ok=False),))
>>> print("\\n".join(validity_lines(v)))
=== MEASUREMENT VALIDITY (the harness's own distortion, docs/validity.md) ===
NOT VALID: 1 of 1 limits exceeded (see the warnings): the latencies include the harness's own delay
agent CPU (share of one core)                    93%  limit 80%  EXCEEDED
"""

from __future__ import annotations

from harness.results.validity import SPECS, Check, Validity, show

TITLE = "MEASUREMENT VALIDITY (the harness's own distortion, docs/validity.md)"


def verdict(validity: Validity) -> str:
    """One line: within every limit, or how many were exceeded."""
    checked = [c for c in validity.checks if c.ok is not None]
    failed = validity.failed
    if failed:
        return (
            f"NOT VALID: {len(failed)} of {len(checked)} limits exceeded (see the warnings): "
            "the latencies include the harness's own delay"
        )
    return f"OK: within every limit ({len(checked)} checked): the harness did not saturate"


def check_line(check: Check) -> str:
    """One check: what, value, limit, and EXCEEDED when it is."""
    what = SPECS[check.name].what if check.name in SPECS else check.name
    limit = "not checked" if check.limit is None else f"limit {show(check.limit, check.unit)}"
    flag = "  EXCEEDED" if check.ok is False else ""
    return f"{what:<40} {show(check.value, check.unit, check.above):>11}  {limit}{flag}"


def cpu_lines(validity: Validity) -> list[str]:
    """CPU seconds per component over the collection window, and the machine's share."""
    cpu = validity.cpu
    if cpu is None:
        return []

    def secs(value: float | None) -> str:
        return "n/a" if value is None else f"{value:,.1f}"

    out = [
        f"CPU seconds in {cpu.window_s:,.1f} s: agent {secs(cpu.agent_s)}  backend "
        f"{secs(cpu.backend_s)}  tracers {secs(cpu.tracers_s)}  harness {secs(cpu.harness_s)}"
    ]
    if cpu.machine_busy_s is not None and cpu.cores:
        capacity = cpu.window_s * cpu.cores
        parts = (cpu.agent_s, cpu.backend_s, cpu.tracers_s, cpu.harness_s)
        ours = min(sum(v for v in parts if v), cpu.machine_busy_s)
        if None in parts:  # a component's CPU is unknown: the rest is not only other processes
            split = f"this run at least {ours / capacity:.0%}"
        else:
            rest = cpu.machine_busy_s - ours
            split = f"this run {ours / capacity:.0%}, other processes {rest / capacity:.0%}"
        out.append(f"Machine: {cpu.machine_busy_s / capacity:.0%} busy on {cpu.cores} cores "
                   f"({split})")  # fmt: skip
    return out


def release_line(validity: Validity) -> str | None:
    """How the fleet was released."""
    r = validity.release
    if r is None:
        return None
    how = (
        f"{r.processes} processes signalled, lead {r.lead_ms:,} ms, {r.late_processes} late"
        + (f" (up to {r.max_late_ms:,} ms)" if r.late_processes else "")
        if r.signalled
        else f"{r.processes} processes started at their deadline (no start signal)"
    )
    spread = "n/a" if r.start_spread_ms is None else f"{r.start_spread_ms:,} ms"
    return f"Release: {how}; start spread {spread}"


def validity_lines(validity: Validity) -> list[str]:
    """The block, as lines."""
    out = [f"=== {TITLE} ===", verdict(validity)]
    out.extend(check_line(c) for c in validity.checks)
    out.extend(cpu_lines(validity))
    release = release_line(validity)
    if release is not None:
        out.append(release)
    return out
