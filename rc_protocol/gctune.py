"""Garbage-collector settings for the long-running services (agent model, tracer stub).

CPython's cyclic collector walks every tracked object of the older generation from time to
time; a service that keeps many (decoded requests, active clients, a thousand simulated
tracers) pauses its event loop for that long, and every request and poll it holds waits.
Measured with ``benchmarks/agent_throughput.py --shapes new_client`` (2 shared cores, load
average about 2): with the default thresholds (700, 10, 10) the agent's event loop lagged up to
250-500 ms (p99 of ``agent_rc_event_loop_lag_seconds``) and spent 189 us of CPU per new
client; with the objects built at start-up frozen and the thresholds at (50,000, 20, 100), 25-50
ms and 136 us. Reference cycles are still collected (asyncio's exceptions make some), only in
larger batches. This tunes the simulation's processes, not anything modelled.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)
"""Allocations before a young collection, young collections per middle one, middle ones per
full one (CPython's defaults: 700, 10, 10)."""


def tune_gc() -> None:
    """Freeze what start-up built (never collected, never walked) and raise the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
