from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from fake_backend.__main__ import build_parser, settings_from
from fake_backend.errors import SettingsError
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.wait import poll_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_help_lists_every_setting_with_default() -> None:
    text = build_parser({}).format_help()
    for flag in ("--org-id", "--products", "--asm-data-bytes", "--error-rate", "--seed"):
        assert flag in text
    assert "(default: 2; env RC_BACKEND_ORG_ID)" in " ".join(text.split())
    env = {"RC_BACKEND_SEED": "9", "DD_API_KEY": "hidden"}
    with_env = " ".join(build_parser(env).format_help().split())
    assert "now '9' from RC_BACKEND_SEED" in with_env
    assert "env RC_BACKEND_API_KEY or DD_API_KEY; the value is never shown" in with_env
    assert "hidden" not in with_env


def test_flags_override_env() -> None:
    settings = settings_from(
        ["--port", "9999", "--products", "FFE_FLAGS,ASM_DATA"], {"RC_BACKEND_PORT": "1"}
    )
    assert settings.port == 9999
    assert settings.products == ("FFE_FLAGS", "ASM_DATA")


def test_log_level_is_a_setting() -> None:
    with pytest.raises(SettingsError, match=r"log_level='nope' is invalid: expected critical\|"):
        settings_from(["--log-level", "nope"], {})
    assert settings_from(["--log-level", "DEBUG"], {}).log_level == "DEBUG"
    assert settings_from([], {"RC_BACKEND_LOG_LEVEL": "warning"}).log_level == "warning"


@pytest.mark.e2e
def test_bad_setting_exits_2_with_a_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fake_backend", "--error-rate", "7"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "fake_backend: setting error_rate=7.0 is invalid: expected in [0, 1] "
        "(env RC_BACKEND_ERROR_RATE, or --error-rate)\n"
    )


@pytest.mark.e2e
def test_real_process_serves_and_stops_on_sigterm() -> None:
    port = free_port()
    env = {**os.environ, "DD_API_KEY": "secret", "RC_BACKEND_RUN_ID": "e2e"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fake_backend", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"fake_backend exited early: {proc.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                return httpx.get(f"{base}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        poll_until(healthy, timeout=30, interval=0.1, what="fake_backend /health")
        body = pb.LatestConfigsRequest(new_products=["FFE_FLAGS"]).SerializeToString()
        response = httpx.post(
            f"{base}/api/v0.1/configurations",
            content=body,
            headers={"DD-Api-Key": "secret", "Content-Type": "application/x-protobuf"},
            timeout=5,
        )
        assert response.status_code == 200
        decoded = pb.LatestConfigsResponse.FromString(response.content)
        assert [f.path for f in decoded.target_files] == [
            "datadog/2/FFE_FLAGS/rc-fastlane-flags/config"
        ]
        assert 'backend_rc_run_info{run_id="e2e"}' in httpx.get(f"{base}/metrics").text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    assert code == 0, proc.stderr.read()  # type: ignore[union-attr]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
