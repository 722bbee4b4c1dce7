"""Rendezvous: unbuffered hand-off, blocked while the receiver is busy, fast-lane priority."""

from __future__ import annotations

import asyncio

from agent.rendezvous import Rendezvous
from rc_protocol.clock import ManualClock


async def test_send_completes_at_once_when_the_receiver_waits() -> None:
    clock = ManualClock()
    ch: Rendezvous[str] = Rendezvous(clock, ["bypass"])
    receiving = asyncio.create_task(ch.receive(timeout=60))
    await clock.run_until_idle()
    assert ch.receiver_waiting
    assert await ch.send("bypass", "r1", timeout=2) is True
    assert await receiving == ("bypass", "r1")
    assert clock.monotonic() == 0


async def test_sender_blocks_while_the_receiver_is_busy_and_gives_up_after_timeout() -> None:
    clock = ManualClock()
    ch: Rendezvous[str] = Rendezvous(clock, ["bypass"])
    sending = asyncio.create_task(ch.send("bypass", "r1", timeout=2))
    await clock.advance(1.999)
    assert not sending.done()
    assert ch.waiting_senders() == 1
    await clock.advance(0.001)
    assert sending.done() and sending.result() is False
    assert ch.waiting_senders() == 0
    # the timed-out sender left the queue: the receiver gets nothing
    receiving = asyncio.create_task(ch.receive(timeout=0.5))
    await clock.advance(0.5)
    assert receiving.result() is None


async def test_blocked_senders_are_taken_fifo_when_the_receiver_comes_back() -> None:
    clock = ManualClock()
    ch: Rendezvous[str] = Rendezvous(clock, ["bypass"])
    s1 = asyncio.create_task(ch.send("bypass", "first", timeout=2))
    await clock.advance(0.1)
    s2 = asyncio.create_task(ch.send("bypass", "second", timeout=2))
    await clock.advance(0.1)
    assert await ch.receive(timeout=60) == ("bypass", "first")
    await clock.run_until_idle()
    assert s1.result() is True and not s2.done()
    assert await ch.receive(timeout=60) == ("bypass", "second")
    await clock.run_until_idle()
    assert s2.result() is True


async def test_fast_lane_waiting_sender_is_served_first() -> None:
    clock = ManualClock()
    ch: Rendezvous[str] = Rendezvous(clock, ["fast", "standard"])
    std = asyncio.create_task(ch.send("standard", "std", timeout=2))
    await clock.advance(0.2)
    fast = asyncio.create_task(ch.send("fast", "ffe", timeout=0.5))
    await clock.advance(0.1)
    assert await ch.receive(timeout=60) == ("fast", "ffe")
    assert await ch.receive(timeout=60) == ("standard", "std")
    await clock.run_until_idle()
    assert fast.result() and std.result()


async def test_receive_times_out_with_none() -> None:
    clock = ManualClock()
    ch: Rendezvous[str] = Rendezvous(clock, ["bypass"])
    receiving = asyncio.create_task(ch.receive(timeout=60))
    await clock.advance(59.9)
    assert not receiving.done()
    await clock.advance(0.1)
    assert receiving.result() is None
    assert not ch.receiver_waiting


async def test_a_send_with_no_time_hands_off_only_to_a_waiting_receiver() -> None:
    clock = ManualClock()
    ch: Rendezvous[str] = Rendezvous(clock, ["bypass"])
    assert await ch.send("bypass", "nobody", timeout=0) is False
    assert ch.waiting_senders() == 0
    receiving = asyncio.create_task(ch.receive(timeout=60))
    await asyncio.sleep(0)
    assert await ch.send("bypass", "taken", timeout=0) is True
    assert await receiving == ("bypass", "taken")


async def test_put_never_blocks_and_is_taken_at_the_next_select() -> None:
    clock = ManualClock()
    ch: Rendezvous[str] = Rendezvous(clock, ["fast", "bypass"])
    ch.put("bypass", "queued")  # the receiver is busy: it waits in the channel, no timeout
    await clock.advance(30.0)
    assert ch.waiting_senders("bypass") == 1
    ch.put("fast", "first")
    assert await ch.receive(timeout=1) == ("fast", "first")  # priority order still holds
    assert await ch.receive(timeout=1) == ("bypass", "queued")
    receiving = asyncio.create_task(ch.receive(timeout=60))
    await clock.run_until_idle()
    ch.put("bypass", "direct")  # the receiver is parked: delivered at once
    assert await receiving == ("bypass", "direct")
    assert clock.monotonic() == 30.0
