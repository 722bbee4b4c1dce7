"""python -m agent: flags over environment, --help lists every setting with its default."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent.__main__ import build_parser, main, settings_from
from agent.settings import Settings


def test_flags_win_over_environment() -> None:
    env = {"RC_AGENT_POLICY": "fastlane", "DD_API_KEY": "k", "RC_AGENT_PORT": "9000"}
    s = settings_from(["--port", "9100", "--refresh-interval-s", "30s"], env)
    assert (s.policy, s.api_key, s.port, s.refresh_interval_s) == ("fastlane", "k", 9100, 30.0)


def test_help_lists_every_setting_with_its_default_and_variables() -> None:
    text = " ".join(build_parser({"DD_API_KEY": "hidden-key"}).format_help().split())
    for spec in Settings.specs():
        assert spec.flag in text
    assert "(default: 500.0; env RC_AGENT_FAST_LANE_BLOCK_TTL_MS or" in text
    assert "(default: unset; env RC_AGENT_REFRESH_INTERVAL_S or" in text
    assert "DD_REMOTE_CONFIGURATION_CLIENTS_CACHE_BYPASS_LIMIT" in text
    assert "hidden-key" not in text


def test_bad_value_exits_2_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "eighty"]) == 2
    assert capsys.readouterr().err == "agent: --port='eighty' is invalid: expected an integer\n"


def test_durations_accept_go_strings_from_flags_and_aliases() -> None:
    env = {"DD_REMOTE_CONFIGURATION_MAX_BACKOFF_INTERVAL": "4m"}
    s = settings_from(["--clients-ttl-s", "1m30s", "--backend-timeout-s", "500ms"], env)
    assert (s.clients_ttl_s, s.backend_timeout_s, s.max_backoff_interval_s) == (90.0, 0.5, 240.0)


@pytest.mark.e2e
def test_help_runs_as_a_module() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agent", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "--fast-lane-cache-bypass-limit" in out.stdout
