"""The master's plan: Locust's dispatcher's counts, contiguous ranges of tracer indexes."""

from __future__ import annotations

from locust.runners import WorkerNode

from tracer_locust.master import dispatch_counts, plan_ranges


def test_ranges_are_contiguous_in_order() -> None:
    assert plan_ranges([("b", 3), ("a", 2), ("c", 0)]) == {"b": (0, 3), "a": (3, 2), "c": (5, 0)}


def test_dispatch_counts_cover_the_fleet_as_locust_spreads_it() -> None:
    workers = [WorkerNode(f"host{h}_{i}") for h in (1, 2) for i in range(2)]
    counts = dispatch_counts(workers, 2003)
    assert sum(c for _, c in counts) == 2003
    assert sorted(c for _, c in counts) == [500, 501, 501, 501]
    assert sorted(w for w, _ in counts) == sorted(w.id for w in workers)


def test_one_worker_hosts_everything() -> None:
    assert dispatch_counts([WorkerNode("solo_1")], 7) == [("solo_1", 7)]


def test_the_fleet_is_started_once_and_stopped_only_by_quit() -> None:
    from locust import events
    from locust.env import Environment

    from harness.runtime.local import free_port
    from tracer_locust.master import FleetMasterRunner
    from tracer_locust.user import TracerUser

    environment = Environment(user_classes=[TracerUser], events=events)
    runner = FleetMasterRunner(environment, "127.0.0.1", free_port())
    environment.runner = runner
    try:
        runner.start(0, 1.0)  # no worker: Locust only warns, and the fleet counts as started
        assert runner.fleet_started
        runner.start(5, 1.0)  # a re-dispatch after a missing worker: ignored
        state = runner.state
        runner.stop()  # "the last worker went missing": ignored
        assert runner.state == state
    finally:
        runner.quit()
    assert runner.quitting
