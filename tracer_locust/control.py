"""The typed messages of the Locust fleet: master <-> worker custom messages, master ``/status``.

Locust carries custom messages as msgpack-able dicts (``runner.send_message(type, data)``);
these models are what goes in them, validated at both ends. The harness reads `MasterStatus`
from the master's ``GET /status``. Nothing here imports Locust or gevent.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ASSIGN",
    "FLUSH",
    "FLUSHED",
    "HELLO",
    "RELEASE",
    "Assignment",
    "MasterPhase",
    "MasterStatus",
    "WorkerHello",
    "WorkerStatus",
]

HELLO = "rc_hello"
"""worker -> master: where the worker serves ``/metrics``."""
ASSIGN = "rc_assign"
"""master -> worker: the worker's tracers, their settings and the start instant."""
RELEASE = "rc_release"
"""worker -> master (a ramp): the start signal's instant for this worker's first tracer."""
FLUSH = "rc_flush"
"""master -> worker, before the master stops: send your statistics now."""
FLUSHED = "rc_flushed"
"""worker -> master, right after its statistics: the master has all of them once it reads this."""


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_data(cls, data: Any) -> Self:
        return cls.model_validate(data)


class WorkerHello(_Wire):
    """A worker's first message: its ``/metrics`` URL and who it is."""

    metrics_url: str
    hostname: str
    pid: int


class Assignment(_Wire):
    """What a worker hosts: tracers ``first_tracer .. first_tracer + tracers - 1``."""

    first_tracer: int = Field(ge=0)
    tracers: int = Field(ge=0)
    start_at: float | None = None
    """Unix time at which every tracer starts (all at once); None: each at once when spawned."""
    ramp: bool = False
    """The master spawns the users at Locust's spawn rate and each tracer starts when spawned."""
    stub_env: dict[str, str] = Field(default_factory=dict)
    """``RC_STUB_*`` (and their ``DD_*`` aliases): the tracers' settings."""
    run_id: str = ""


class MasterPhase(StrEnum):
    WAITING = "waiting_for_workers"
    ASSIGNED = "assigned"  # every worker has its range; users spawned or about to be
    FAILED = "failed"


class WorkerStatus(BaseModel):
    """One worker as the master sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    index: int
    state: str
    """Locust's worker state: ``ready``, ``spawning``, ``running``, ``missing``, ``stopped``."""
    hello: WorkerHello | None = None
    assignment: Assignment | None = None
    users: int = 0
    """Users the worker last reported running."""


class MasterStatus(BaseModel):
    """The master's ``GET /status``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    phase: MasterPhase
    expected_workers: int
    users: int
    workers: list[WorkerStatus] = Field(default_factory=list)
    error: str = ""
    web_ui_url: str = ""
