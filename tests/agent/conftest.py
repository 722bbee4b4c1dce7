"""Fixtures and builders for the agent tests: a catalogue responder, requests, a service."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from agent.backend_client import FakeBackend
from agent.metrics import AgentMetrics
from agent.service import RcService
from agent.settings import Settings
from rc_protocol.clock import ManualClock
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.targets import TargetMeta, build_signed_targets, file_meta
from rc_protocol.tuf import build_root, build_timestamp
from rc_protocol.wire import ClientGetConfigsRequest, TargetFileHash, TargetFileMeta, tracer_request

#: A wall time aligned on a 60 s window (since the epoch and since Go's zero time).
T0 = 1_700_000_040.0
FFE_PATH = "datadog/2/FFE_FLAGS/flags-1/config"
APM_PATH = "datadog/2/APM_TRACING/apm-1/config"
FFE_RAW = (
    b'{"createdAt":"2024-04-17T19:40:53.716Z","format":"SERVER",'
    b'"environment":{"name":"t"},"flags":{}}'
)
APM_RAW = b'{"lib_config":{"tracing_sampling_rate":0.5}}'


@dataclass
class Catalogue:
    """A programmable backend: answers every request with its current state."""

    version: int = 1_700_000_000
    files: dict[str, bytes] = field(default_factory=lambda: {FFE_PATH: FFE_RAW, APM_PATH: APM_RAW})
    metas: dict[str, TargetMeta] = field(default_factory=dict)
    agent_refresh_interval: int | None = None
    expires: datetime = datetime(2032, 10, 24, 15, 10, 45, tzinfo=UTC)
    timestamp_expires: datetime | None = None
    roots: tuple[int, ...] = ()
    corrupt: str | None = None

    def meta(self, path: str) -> TargetMeta:
        return self.metas.get(path) or file_meta(self.files[path], version=3)

    def __call__(self, request: pb.LatestConfigsRequest) -> pb.LatestConfigsResponse:
        targets = build_signed_targets(
            {p: self.meta(p) for p in self.files},
            version=self.version,
            opaque_backend_state=json.dumps({"v": self.version}).encode(),
            agent_refresh_interval=self.agent_refresh_interval,
            expires=self.expires,
        )
        director = pb.DirectorMetas(targets=pb.TopMeta(version=self.version, raw=targets))
        for v in self.roots:
            director.roots.append(pb.TopMeta(version=v, raw=build_root(v)))
        if self.timestamp_expires is not None:
            stamp = build_timestamp(self.version, self.timestamp_expires)
            director.timestamp.CopyFrom(pb.TopMeta(version=self.version, raw=stamp))
        files = [pb.File(path=p, raw=raw) for p, raw in self.files.items()]
        if self.corrupt is not None:
            for f in files:
                if f.path == self.corrupt:
                    f.raw = f.raw + b" "
        return pb.LatestConfigsResponse(director_metas=director, target_files=files)


def request(
    n: int = 0,
    products: Iterable[str] = ("FFE_FLAGS",),
    *,
    targets_version: int = 0,
    cached: Mapping[str, bytes] | None = None,
    **kwargs: Any,
) -> ClientGetConfigsRequest:
    """A tracer request for client number ``n``."""
    return tracer_request(
        client_id=f"client-{n}",
        runtime_id=f"runtime-{n}",
        products=list(products),
        targets_version=targets_version,
        cached_target_files=[
            TargetFileMeta(
                path=path,
                length=len(raw),
                hashes=[TargetFileHash(algorithm="sha256", hash=hashlib.sha256(raw).hexdigest())],
            )
            for path, raw in (cached or {}).items()
        ],
        **kwargs,
    )


@dataclass
class Rig:
    clock: ManualClock
    catalogue: Catalogue
    backend: FakeBackend
    service: RcService
    metrics: AgentMetrics

    def bypass(self, lane: str, result: str) -> float:
        return self.metrics.value("agent_rc_bypass_total", lane=lane, result=result)

    def refreshes(self, reason: str, result: str = "ok") -> float:
        return self.metrics.value("agent_rc_refreshes_total", reason=reason, result=result)


RigFactory = Callable[..., Rig]


@pytest.fixture
async def make_rig() -> AsyncIterator[RigFactory]:
    """Build a service on a ManualClock with a FakeBackend; stops every service at the end."""
    made: list[Rig] = []

    def factory(*, catalogue: Catalogue | None = None, seed: int = 1, **overrides: Any) -> Rig:
        clock = ManualClock(start_wall=T0)
        cat = catalogue or Catalogue()
        backend = FakeBackend(cat, clock)
        metrics = AgentMetrics("test")
        settings = Settings(seed=seed, **overrides)
        service = RcService(settings, clock=clock, backend=backend, metrics=metrics)
        rig = Rig(clock, cat, backend, service, metrics)
        made.append(rig)
        return rig

    yield factory
    for rig in made:
        await rig.service.stop()
