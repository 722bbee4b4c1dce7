import asyncio

from hypothesis import given
from hypothesis import strategies as st

from harness.results.samples import CRASHED, ERROR, READY, TIMEOUT, UNREACHABLE
from harness.results.summary import Counts
from harness.run.collect import Ledger, scrape_counters, scrape_until_settled, tracer_values
from harness.run.events import Tick
from harness.run.promtext import parse
from harness.runtime.base import ComponentSpec, ComponentState, ComponentStatus
from harness.runtime.fake import FakeRuntime, FakeScript
from rc_protocol.clock import FastForwardClock

RUNNING = ComponentState(ComponentStatus.RUNNING)
CRASH = ComponentState(ComponentStatus.EXITED, exit_code=-9)


def stub_text(outcomes: dict[int, str], ready_s: float = 1.5) -> str:
    lines = []
    for index, outcome in outcomes.items():
        for o in ("pending", "ready", "timeout", "error"):
            lines.append(f'tracer_outcome{{tracer="{index}",outcome="{o}"}} {int(o == outcome)}')
        lines.append(f'tracer_start_seconds{{tracer="{index}"}} 0.004')
        lines.append(f'tracer_start_wall_seconds{{tracer="{index}"}} 1700000000.25')
        if outcome == READY:
            lines.append(f'tracer_provider_ready_seconds{{tracer="{index}"}} {ready_s}')
            lines.append(f'tracer_first_evaluation_seconds{{tracer="{index}"}} {ready_s + 0.01}')
            lines.append(f'tracer_boot_total_seconds{{tracer="{index}"}} {ready_s + 0.02}')
        lines.append(f'tracer_provider_error_events_total{{tracer="{index}"}} 2')
    lines.append("# TYPE tracer_hosted gauge\ntracer_hosted 2")
    return "\n".join(lines) + "\n"


def test_tracer_values_reads_the_contracts_metrics_in_ms() -> None:
    values = tracer_values(parse(stub_text({3: READY})))
    assert values == {
        3: {
            "outcome": READY,
            "start_ms": 4,
            "start_wall": 1700000000.25,
            "provider_ready_ms": 1500,
            "first_evaluation_ms": 1510,
            "boot_total_ms": 1520,
            "provider_error_events": 2,
        }
    }


def test_every_tracer_counted_once_with_crash_and_timeout() -> None:
    ledger = Ledger({"p0": range(0, 2), "p1": range(2, 4), "p2": range(4, 6)})
    ledger.update("p0", parse(stub_text({0: READY, 1: ERROR})))
    ledger.update("p1", parse(stub_text({2: READY, 3: "pending"})))
    ledger.process_state("p1", CRASH)  # tracer 3 was pending: crashed, tracer 2 stays ready
    ledger.update("p1", parse(stub_text({3: READY})))  # late scrape of a dead process: ignored
    ledger.update("p2", parse(stub_text({4: TIMEOUT})))  # 5 never reported
    assert ledger.counts() == Counts(success=2, timeout=2, error=1, crashed=1)
    rows = ledger.final()
    assert [r.outcome for r in rows] == [READY, ERROR, READY, CRASHED, TIMEOUT, TIMEOUT]
    assert rows[3].start_ms == 4  # a crashed tracer keeps its last scraped values
    assert not ledger.all_settled()


def test_a_tracer_reported_by_the_wrong_process_is_not_counted() -> None:
    ledger = Ledger({"p0": range(0, 1), "p1": range(1, 2)})
    ledger.update("p0", parse(stub_text({0: READY, 1: READY})))
    assert ledger.counts().success == 1
    assert ledger.unexpected == {("p0", 1)}


def test_a_stub_timeout_is_not_final_the_provider_may_turn_ready_later() -> None:
    ledger = Ledger({"p0": range(0, 1)})
    ledger.update("p0", parse(stub_text({0: TIMEOUT})))
    assert not ledger.all_settled()
    ledger.update("p0", parse(stub_text({0: READY}, ready_s=31.0)))
    assert ledger.all_settled() and ledger.final()[0].provider_ready_ms == 31000


def test_an_error_is_not_final_a_good_config_may_follow() -> None:
    ledger = Ledger({"p0": range(0, 1)})
    ledger.update("p0", parse(stub_text({0: ERROR})))
    assert not ledger.all_settled() and ledger.counts().error == 1
    ledger.update("p0", parse(stub_text({0: READY}, ready_s=12.0)))  # the bad payload was fixed
    assert ledger.all_settled() and ledger.counts().success == 1


def test_a_live_process_that_stopped_answering_leaves_its_tracers_unreachable() -> None:
    ledger = Ledger({"p0": range(0, 2), "p1": range(2, 3)})
    ledger.update("p0", parse(stub_text({0: READY, 1: "pending"})))
    ledger.update("p1", parse(stub_text({2: "pending"})))
    ledger.update("p0", None)  # no answer, but the process runs
    ledger.process_state("p0", RUNNING)
    assert [r.outcome for r in ledger.final()] == [READY, UNREACHABLE, TIMEOUT]
    assert ledger.counts() == Counts(success=1, timeout=1, error=0, crashed=0, unreachable=1)
    ledger.update("p0", parse(stub_text({0: READY, 1: "pending"})))  # it answers again
    assert ledger.counts().unreachable == 0


def test_ready_without_its_first_evaluation_is_not_settled_yet() -> None:
    ledger = Ledger({"p0": range(0, 1)})
    text = stub_text({0: READY}).replace('tracer_boot_total_seconds{tracer="0"} 1.52\n', "")
    ledger.update("p0", parse(text))
    assert ledger.counts().success == 1 and not ledger.all_settled()


OUTCOMES = st.sampled_from(["pending", READY, TIMEOUT, ERROR, None])


@given(
    st.lists(
        st.tuples(st.lists(OUTCOMES, min_size=1, max_size=5), st.booleans()), min_size=1, max_size=6
    )
)
def test_counts_always_sum_to_the_fleet(processes: list[tuple[list[str | None], bool]]) -> None:
    hosts, base = {}, 0
    for n, (outcomes, _) in enumerate(processes):
        hosts[f"p{n}"] = range(base, base + len(outcomes))
        base += len(outcomes)
    ledger = Ledger(hosts)
    for n, (outcomes, crashed) in enumerate(processes):
        seen = {hosts[f"p{n}"][i]: o for i, o in enumerate(outcomes) if o is not None}
        ledger.update(f"p{n}", parse(stub_text(seen)))
        ledger.process_state(f"p{n}", CRASH if crashed else RUNNING)
    counts = ledger.counts()
    assert counts.total == base == len(ledger.final())


def test_scrape_loop_stops_at_the_deadline_and_when_processes_die() -> None:
    clock = FastForwardClock(start_wall=1000.0)
    script = FakeScript(silent=frozenset({"p0"}), crash_at_boot={"p1": 3})
    runtime = FakeRuntime("r", clock, script)
    env = {"RC_STUB_START_AT": "1000.0"}
    alive, dead = runtime.start(
        [
            ComponentSpec("p0", "tracer", "tracer_stub", env, tracers=2),
            ComponentSpec("p1", "tracer", "tracer_stub", env, tracers=1, first_tracer=2),
        ]
    )
    ledger = Ledger({"p0": range(0, 2), "p1": range(2, 3)})
    ticks: list[Tick] = []

    async def collect() -> list[tuple[float, int]]:
        async with runtime.http_client(timeout=1.0) as client:
            return await scrape_until_settled(
                ledger,
                [alive, dead],
                client,
                clock,
                t0_wall=1000.0,
                deadline_wall=1006.0,
                interval_s=1.0,
                on_tick=ticks.append,
            )

    timeline = asyncio.run(collect())
    assert ledger.counts() == Counts(success=0, timeout=0, error=0, crashed=1, unreachable=2)
    assert timeline and all(ready == 0 for _, ready in timeline)
    assert timeline[-1][0] >= 6.0  # it went on until the deadline
    assert ticks[0].unreachable == 1 and ticks[-1].unreachable == 1


def test_counters_of_an_unreachable_component_are_none_not_empty() -> None:
    clock = FastForwardClock()
    runtime = FakeRuntime("r", clock, FakeScript(silent=frozenset({"agent"})))
    [agent] = runtime.start([ComponentSpec("agent", "agent", "agent")])

    async def counters() -> dict[str, float] | None:
        async with runtime.http_client(timeout=1.0) as client:
            return await scrape_counters(client, agent, "agent_rc_")

    assert asyncio.run(counters()) is None
