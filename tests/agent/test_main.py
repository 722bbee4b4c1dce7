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


def test_help_lists_every_setting_with_its_default() -> None:
    text = build_parser().format_help()
    for name in Settings.field_names():
        assert "--" + name.replace("_", "-") in text
    assert "(default: 500.0)" in text and "(default: unset)" in text


def test_bad_value_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "eighty"]) == 2
    assert "--port" in capsys.readouterr().err


@pytest.mark.e2e
def test_help_runs_as_a_module() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agent", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "--fast-lane-cache-bypass-limit" in out.stdout
