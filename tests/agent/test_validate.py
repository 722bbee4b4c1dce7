"""validate_request: each invalid case raises InvalidRequest naming its field (real order)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.errors import InvalidRequest
from agent.validate import validate_request
from rc_protocol.wire import (
    ClientAgent,
    ClientGetConfigsRequest,
    ClientUpdater,
    TargetFileHash,
    TargetFileMeta,
)
from tests.agent.conftest import request

Mutate = Callable[[ClientGetConfigsRequest], None]


def _cached(**kw: object) -> TargetFileMeta:
    base: dict[str, object] = {
        "path": "datadog/2/FFE_FLAGS/flags-1/config",
        "length": 10,
        "hashes": [TargetFileHash(algorithm="sha256", hash="ab")],
    }
    base.update(kw)
    return TargetFileMeta.model_validate(base)


def _set(path: str, value: object) -> Mutate:
    def mutate(req: ClientGetConfigsRequest) -> None:
        obj: object = req
        *parents, last = path.split(".")
        for part in parents:
            obj = getattr(obj, part)
        setattr(obj, last, value)

    return mutate


def _both(first: Mutate, second: Mutate) -> Mutate:
    def mutate(req: ClientGetConfigsRequest) -> None:
        first(req)
        second(req)

    return mutate


def _files(*metas: TargetFileMeta) -> Mutate:
    def mutate(req: ClientGetConfigsRequest) -> None:
        req.cached_target_files = list(metas)

    return mutate


CASES: list[tuple[str, Mutate, str]] = [
    ("no client", _set("client", None), "client is a required field"),
    ("no state", _set("client.state", None), "client.state is a required field"),
    ("root 0", _set("client.state.root_version", 0), "client.state.root_version"),
    (
        "agent no info",
        _both(_set("client.is_tracer", False), _set("client.is_agent", True)),
        "client.client_agent is a required field",
    ),
    ("tracer no info", _set("client.client_tracer", None), "client.client_tracer is a required"),
    ("updater no info", _set("client.is_updater", True), "client.client_updater is a required"),
    (
        "two kinds",
        _both(_set("client.is_updater", True), _set("client.client_updater", ClientUpdater())),
        "mutually exclusive",
    ),
    ("no kind", _set("client.is_tracer", False), "client.is_tracer"),
    ("empty id", _set("client.id", ""), "client.id is a required field"),
    (
        "agent info on tracer",
        _set("client.client_agent", ClientAgent()),
        "client.client_agent must not",
    ),
    ("id == runtime", _set("client.id", "runtime-0"), "client.client_tracer.runtime_id"),
    ("no language", _set("client.client_tracer.language", ""), "client.client_tracer.language"),
    ("empty path", _files(_cached(path="")), "cached_target_files[0].path is a required"),
    (
        "bad path",
        _files(_cached(), _cached(path="nope/x")),
        "cached_target_files[1].path is not a valid",
    ),
    ("zero length", _files(_cached(length=0)), "cached_target_files[0].length"),
    ("no hashes", _files(_cached(hashes=[])), "cached_target_files[0].hashes is a required"),
    (
        "no algorithm",
        _files(_cached(hashes=[TargetFileHash(hash="ab")])),
        "cached_target_files[0].hashes[0].algorithm",
    ),
    (
        "no hash",
        _files(_cached(hashes=[TargetFileHash(algorithm="sha256")])),
        "cached_target_files[0].hashes[0].hash",
    ),
]


@pytest.mark.parametrize(("case", "mutate", "field"), CASES, ids=[c[0] for c in CASES])
def test_each_invalid_case_names_its_field(case: str, mutate: Mutate, field: str) -> None:
    req = request(0)
    mutate(req)
    with pytest.raises(InvalidRequest) as info:
        validate_request(req)
    assert field in str(info.value), case


def test_agent_client_with_tracer_info_is_invalid() -> None:
    req = request(0)
    assert req.client is not None
    req.client.is_tracer = False
    req.client.is_agent = True
    req.client.client_agent = ClientAgent(name="x")
    with pytest.raises(InvalidRequest, match=r"client\.client_tracer must not be set"):
        validate_request(req)


@pytest.mark.parametrize(
    "req",
    [
        request(0),
        request(1, ("FFE_FLAGS", "APM_TRACING"), targets_version=7),
        request(0, cached={"datadog/2/FFE_FLAGS/flags-1/config": b"x"}),
    ],
    ids=["first poll", "two products", "cached file"],
)
def test_a_valid_tracer_request_passes(req: ClientGetConfigsRequest) -> None:
    """The request every invalid case above starts from is itself valid, and validation only
    reads it (the service goes on to use the same object)."""
    before = req.model_copy(deep=True)
    try:
        validate_request(req)
    except InvalidRequest as exc:
        pytest.fail(f"a valid request was refused: {exc}")
    assert req == before
