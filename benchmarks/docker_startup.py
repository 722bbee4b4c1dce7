"""Docker runtime start-up cost: time to start N tracer containers, and memory per container.

    python benchmarks/docker_startup.py --containers 100
    python benchmarks/docker_startup.py --containers 100 --standin   # without the services

Targets (issue 5): 100 containers started in under 30 s, under 60 MB per tracer container.

What it does, with the real :class:`~harness.runtime.docker.DockerRuntime`:

1. starts ``fake_backend`` and ``agent`` containers (unless ``--standin``) and waits for them;
2. starts N ``tracer_stub`` containers (one tracer each by default) in ONE ``start()`` call and
   times it (``start()`` returns once every container is running: the runtime's own cost);
3. times until every container answers ``/health`` (Python start-up and imports included, all
   containers competing for the machine's cores);
4. waits ``--settle`` seconds (the tracers boot and poll the agent), then reads each container's
   memory from the engine's stats: the cgroup's usage minus inactive page cache (what ``docker
   stats`` shows) and its RSS;
5. removes everything (cleanup by label) and prints the figures.

``--standin`` runs ``python -m uvicorn --factory prometheus_client:make_asgi_app`` instead of
the tracer stub: a floor for an idle Python HTTP server in the same image.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import httpx

from harness.runtime.base import ComponentHandle, ComponentSpec
from harness.runtime.docker import DockerHandle, DockerRuntime
from harness.runtime.docker_engine import parallel
from harness.runtime.images import DEFAULT_IMAGE

STANDIN_ARGS = ("--factory", "prometheus_client:make_asgi_app")


def wait_all_healthy(handles: Sequence[ComponentHandle], timeout: float) -> float:
    """Seconds until every handle answered ``/health`` 200 (raises on timeout)."""
    started = time.monotonic()
    pending = list(handles)
    with httpx.Client(timeout=2.0) as client:
        while pending:
            for handle in list(pending):
                try:
                    if client.get(handle.host_url + "/health").status_code == 200:
                        pending.remove(handle)
                except httpx.HTTPError:
                    pass
            if pending:
                if time.monotonic() - started > timeout:
                    names = ", ".join(h.spec.name for h in pending[:5])
                    raise SystemExit(f"not healthy after {timeout:g} s: {names} ...")
                time.sleep(0.2)
    return time.monotonic() - started


def memory_mb(handle: DockerHandle) -> tuple[float, float]:
    """(usage without inactive page cache, RSS) of one container, in MB (10^6 bytes)."""
    stats: dict[str, Any] = handle.container.stats(stream=False, one_shot=True)
    memory = stats.get("memory_stats") or {}
    detail = memory.get("stats") or {}
    usage = float(memory.get("usage", 0))
    inactive = float(detail.get("total_inactive_file", detail.get("inactive_file", 0)))
    rss = float(detail.get("total_rss", detail.get("anon", 0)))
    return (usage - inactive) / 1e6, rss / 1e6


def describe(values: Sequence[float]) -> str:
    ordered = sorted(values)
    p50 = ordered[(len(ordered) - 1) // 2]
    return (
        f"mean {statistics.fmean(ordered):.1f}  p50 {p50:.1f}  "
        f"min {ordered[0]:.1f}  max {ordered[-1]:.1f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--tracers-per-container", type=int, default=1)
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--workers", type=int, default=16, help="parallel create/start threads")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds before memory")
    parser.add_argument("--standin", action="store_true", help="idle stand-in, no services")
    args = parser.parse_args(argv)

    run_id = "bench" + secrets.token_hex(3)
    tracer_module: str = "tracer_stub"
    tracer_args: tuple[str, ...] = ()
    if args.standin:
        tracer_module, tracer_args = "uvicorn", STANDIN_ARGS
    with DockerRuntime(run_id, image=args.image, workers=args.workers) as runtime:
        agent_url = "http://127.0.0.1:9"  # nothing: the stand-in never calls it
        if not args.standin:
            env = {"DD_API_KEY": "bench", "RC_BACKEND_RUN_ID": run_id, "RC_AGENT_RUN_ID": run_id}
            [backend] = runtime.start([ComponentSpec("backend", "backend", "fake_backend", env)])
            wait_all_healthy([backend], 60)
            env["RC_AGENT_BACKEND_URL"] = backend.internal_url
            [agent] = runtime.start([ComponentSpec("agent", "agent", "agent", env)])
            wait_all_healthy([agent], 60)
            agent_url = agent.internal_url
        specs = [
            ComponentSpec(
                f"tracers-{n:03d}",
                "tracer",
                tracer_module,
                {
                    "RC_STUB_TRACERS": str(args.tracers_per_container),
                    "RC_STUB_TRACER_INDEX_BASE": str(n * args.tracers_per_container),
                    "RC_STUB_RUN_ID": run_id,
                    "RC_STUB_AGENT_URL": agent_url,
                    "DD_TRACE_AGENT_URL": agent_url,
                },
                tracer_args,
                tracers=args.tracers_per_container,
            )
            for n in range(args.containers)
        ]
        started = time.monotonic()
        tracers = runtime.start(specs)
        start_s = time.monotonic() - started
        healthy_s = start_s + wait_all_healthy(tracers, 600)
        time.sleep(args.settle)
        handles = [h for h in tracers if isinstance(h, DockerHandle)]
        memory = [m for m in parallel(memory_mb, handles, 16) if isinstance(m, tuple)]
        crashed = sum(1 for h in tracers if h.state().crashed)
    print(f"image {args.image}, tracer module {tracer_module}, run {run_id}")
    print(f"containers: {len(tracers)} ({args.tracers_per_container} tracer(s) each)")
    print(f"start(): {start_s:.1f} s for {len(tracers)} containers (created+started, running)")
    print(f"all answering /health: {healthy_s:.1f} s after start() was called")
    print(f"memory per container, MB (usage - inactive cache): {describe([m[0] for m in memory])}")
    print(f"memory per container, MB (RSS):                   {describe([m[1] for m in memory])}")
    print(f"crashed containers: {crashed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
