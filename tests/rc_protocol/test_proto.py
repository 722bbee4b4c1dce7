"""The committed protobuf module: importable, real field numbers, up to date with the .proto."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rc_protocol.proto import remoteconfig_pb2 as pb

PROTO_DIR = Path(__file__).resolve().parents[2] / "rc_protocol" / "proto"


def _numbers(message: type) -> dict[str, int]:
    return {f.name: f.number for f in message.DESCRIPTOR.fields}  # type: ignore[attr-defined]


def test_latest_configs_request_field_numbers() -> None:
    assert _numbers(pb.LatestConfigsRequest) == {
        "hostname": 1,
        "agentVersion": 2,
        "current_config_snapshot_version": 3,
        "current_config_root_version": 9,
        "current_director_root_version": 8,
        "products": 4,
        "new_products": 5,
        "active_clients": 6,
        "backend_client_state": 10,
        "has_error": 11,
        "error": 12,
        "trace_agent_env": 13,
        "org_uuid": 14,
        "tags": 15,
        "agent_uuid": 16,
    }


def test_client_messages_field_numbers() -> None:
    assert _numbers(pb.Client) == {
        "state": 1, "id": 2, "products": 3, "is_tracer": 6, "client_tracer": 7, "is_agent": 8,
        "client_agent": 9, "last_seen": 10, "capabilities": 11, "is_updater": 14,
        "client_updater": 15,
    }  # fmt: skip
    assert _numbers(pb.ClientState) == {
        "root_version": 1, "targets_version": 2, "config_states": 3, "has_error": 4,
        "error": 5, "backend_client_state": 6,
    }  # fmt: skip
    assert _numbers(pb.TargetFileHash) == {"algorithm": 1, "hash": 3}
    assert _numbers(pb.ClientGetConfigsResponse) == {
        "roots": 1, "targets": 2, "target_files": 3, "client_configs": 4, "config_status": 5,
    }  # fmt: skip
    assert _numbers(pb.LatestConfigsResponse) == {
        "config_metas": 1, "director_metas": 2, "target_files": 3,
    }  # fmt: skip
    assert _numbers(pb.DirectorMetas) == {"roots": 1, "timestamp": 2, "snapshot": 3, "targets": 4}


def test_round_trip_latest_configs_response() -> None:
    resp = pb.LatestConfigsResponse(
        director_metas=pb.DirectorMetas(
            roots=[pb.TopMeta(version=1, raw=b"root")],
            targets=pb.TopMeta(version=1_700_000_000, raw=b"{}"),
        ),
        target_files=[pb.File(path="datadog/2/FFE_FLAGS/f/config", raw=b"ufc")],
    )
    data = resp.SerializeToString()
    back = pb.LatestConfigsResponse.FromString(data)
    assert back.director_metas.targets.version == 1_700_000_000
    assert back.target_files[0].raw == b"ufc"
    # field 2 (director_metas), wire type 2 (length-delimited) is tag byte 0x12
    assert data[0] == 0x12


def _grpc_tools_available() -> bool:
    return importlib.util.find_spec("grpc_tools") is not None


def _serialized_descriptor(generated_py: str) -> bytes:
    m = re.search(r"AddSerializedFile\((b'.*?')\)\n", generated_py, re.S)
    assert m, "no AddSerializedFile(...) in the generated module"
    value = ast.literal_eval(m.group(1))
    assert isinstance(value, bytes)
    return value


@pytest.mark.e2e
@pytest.mark.skipif(not _grpc_tools_available(), reason="grpc_tools not importable")
def test_committed_module_is_up_to_date(tmp_path: Path) -> None:
    """Regenerate from the .proto and compare with what is committed (run `just proto`).

    The descriptor must match exactly; the whole file too when the same protoc version made it.
    """
    subprocess.run(
        [
            sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}",
            f"--python_out={tmp_path}", f"--pyi_out={tmp_path}",
            str(PROTO_DIR / "remoteconfig.proto"),
        ],
        check=True,
    )  # fmt: skip
    fresh_py = (tmp_path / "remoteconfig_pb2.py").read_text()
    committed_py = (PROTO_DIR / "remoteconfig_pb2.py").read_text()
    stale = "rc_protocol/proto/remoteconfig_pb2.py is stale: run `just proto` and commit it"
    assert _serialized_descriptor(fresh_py) == pb.DESCRIPTOR.serialized_pb, stale
    assert _serialized_descriptor(committed_py) == pb.DESCRIPTOR.serialized_pb, stale

    header = re.compile(r"^# Protobuf Python Version: .*$", re.M)
    fresh_version, committed_version = header.search(fresh_py), header.search(committed_py)
    if fresh_version and committed_version and fresh_version[0] == committed_version[0]:
        assert fresh_py == committed_py, stale
        fresh_pyi = (tmp_path / "remoteconfig_pb2.pyi").read_text()
        assert fresh_pyi == (PROTO_DIR / "remoteconfig_pb2.pyi").read_text(), stale


def test_runtime_floor_in_pyproject_matches_generated_code() -> None:
    text = (PROTO_DIR / "remoteconfig_pb2.py").read_text()
    m = re.search(r"ValidateProtobufRuntimeVersion\(\s*\S+,\s*(\d+),\s*(\d+),\s*(\d+),", text)
    assert m, "generated code no longer calls ValidateProtobufRuntimeVersion"
    needed = ".".join(m.groups())
    pyproject = (PROTO_DIR.parents[1] / "pyproject.toml").read_text()
    floor = re.search(r'"protobuf>=([\d.]+)', pyproject)
    assert floor, "pyproject.toml has no protobuf>= floor"
    as_tuple = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
    assert as_tuple(floor.group(1)) >= as_tuple(needed), (
        f"generated code needs protobuf>={needed}; pyproject.toml says >={floor.group(1)}"
    )
