"""Starting a run's components: run ids, the boot margin, the modules each role runs, and
waiting until every component answers ``/health``."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence

import httpx

from harness.errors import ComponentStartError
from harness.runtime.base import ComponentHandle, ComponentStatus
from rc_protocol.clock import Clock
from rc_protocol.errors import WaitTimeout
from rc_protocol.wait import apoll_until

DEFAULT_MODULES: Mapping[str, str] = {
    "backend": "fake_backend",
    "agent": "agent",
    "tracer": "tracer_stub",
}
"""The Python module each role runs (``python -m <module>``)."""

BootMargin = Callable[[int, float], float]
"""Seconds from starting the tracer processes to their deadline (the start instant of a fleet
that cannot be signalled), given the tracer processes and the runtime's serial start cost per
component (:func:`boot_margin_s`)."""


def new_run_id() -> str:
    """A short random run id (8 hex digits) carried by every process, container and file."""
    return secrets.token_hex(4)


def boot_margin_s(processes: int, start_cost_s: float = 0.0) -> float:
    """Seconds between the decision and the boot instant: enough for every tracer process to
    start and serve ``/health``. Measured on a 2-core machine: 1 stub process healthy in 0.44 s,
    10 started together in 2.3 s (about 0.2 s each); twice that, plus 2 s, leaves room for a
    busy machine. ``start_cost_s`` is the runtime's own serial cost per component (the Docker
    engine's create-and-start, ``DockerRuntime.start_cost_s``; 0 for local processes). A run
    that misses it says so (``warnings`` in summary.json).

    >>> boot_margin_s(4), boot_margin_s(4, start_cost_s=0.35)
    (3.6, 5.0)
    """
    return 2.0 + (0.4 + start_cost_s) * processes


async def wait_healthy(
    handles: Sequence[ComponentHandle],
    client: httpx.AsyncClient,
    clock: Clock,
    timeout_s: float,
) -> None:
    """Poll ``/health`` of every handle until all answer 200; a dead or silent one raises
    :class:`ComponentStartError` with its last log lines."""
    pending = list(handles)

    async def check() -> bool | None:
        for handle in list(pending):
            state = handle.state()
            if state.status is ComponentStatus.EXITED:
                raise ComponentStartError(
                    handle.spec.name,
                    f"exited with code {state.exit_code} before serving",
                    handle.log_tail(),
                )
            try:
                if (await client.get(handle.host_url + "/health")).status_code == 200:
                    pending.remove(handle)
            except httpx.HTTPError:
                pass
        return not pending

    try:
        _: bool = await apoll_until(
            check, timeout=timeout_s, interval=0.1, what="components healthy", clock=clock
        )
    except WaitTimeout:
        h, others = pending[0], len(pending) - 1
        raise ComponentStartError(
            h.spec.name,
            f"no healthy answer from {h.host_url}/health within {timeout_s:g} s"
            + (f" (nor from {others} other component(s))" if others else "")
            + "; raise timeouts.startup_s (--set timeouts.startup_s=...) if it is only slow",
            h.log_tail(),
        ) from None
