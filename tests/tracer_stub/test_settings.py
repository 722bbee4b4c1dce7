"""Settings: env prefix, DD_* aliases, flags, validation messages, --help."""

from __future__ import annotations

from dataclasses import fields

import pytest

from tracer_stub.__main__ import build_parser, main, settings_from
from tracer_stub.client.policy import ClientPolicy, FirstPoll, PolicySettings
from tracer_stub.errors import SettingsError
from tracer_stub.settings import Settings


def test_defaults_are_the_real_ones() -> None:
    s = Settings()
    assert s.client_policy is ClientPolicy.LEGACY
    assert (s.poll_interval_s, s.request_timeout_s, s.provider_init_timeout_s) == (5.0, 3.0, 30.0)
    assert (s.fast_lane_interval_ms, s.fast_lane_initial_interval_ms) == (1000.0, 0.0)
    assert (s.standard_permits, s.fast_lane_permits) == (100, 20)
    assert s.first_poll is FirstPoll.IMMEDIATE
    # Not A6's default (false): the fastlane policy models the switched-on client (documented).
    assert s.fast_lane_enabled is True
    assert s.agent_url == "http://127.0.0.1:8126"


def test_env_prefix_and_types() -> None:
    s = Settings.from_env(
        {
            "RC_STUB_TRACERS": "12",
            "RC_STUB_CLIENT_POLICY": "fastlane",
            "RC_STUB_START_AT": "1700000000.5",
            "RC_STUB_SHARED_MULTITARGET": "true",
            "RC_STUB_FIRST_POLL": "after_interval",
        }
    )
    assert s.tracers == 12 and s.client_policy is ClientPolicy.FASTLANE
    assert s.start_at == 1700000000.5 and s.shared_multitarget is True
    assert s.first_poll is FirstPoll.AFTER_INTERVAL


def test_every_field_reads_rc_stub_and_the_real_aliases() -> None:
    aliases = {spec.name: spec.env[1:] for spec in Settings.specs() if spec.env[1:]}
    assert aliases == {
        "agent_url": ("DD_TRACE_AGENT_URL",),
        "poll_interval_s": ("DD_REMOTE_CONFIG_POLL_INTERVAL_SECONDS",),
        "fast_lane_enabled": ("DD_RC_FAST_LANE_ENABLED",),
        "fast_lane_interval_ms": ("DD_RC_FAST_LANE_INTERVAL_MS",),
        "fast_lane_initial_interval_ms": ("DD_RC_FAST_LANE_INITIAL_INTERVAL_MS",),
        "service": ("DD_SERVICE",),
        "env": ("DD_ENV",),
        "version": ("DD_VERSION",),
    }
    assert all(spec.env[0] == "RC_STUB_" + spec.name.upper() for spec in Settings.specs())


def test_dd_aliases_and_rc_stub_wins() -> None:
    env = {
        "DD_TRACE_AGENT_URL": "http://127.0.0.1:9999",
        "DD_REMOTE_CONFIG_POLL_INTERVAL_SECONDS": "2",
        "DD_RC_FAST_LANE_ENABLED": "false",
        "DD_RC_FAST_LANE_INTERVAL_MS": "250",
        "DD_RC_FAST_LANE_INITIAL_INTERVAL_MS": "100",
        "RC_STUB_POLL_INTERVAL_S": "3",
    }
    s = Settings.from_env(env)
    assert s.agent_url == "http://127.0.0.1:9999"
    assert s.poll_interval_s == 3.0
    assert s.fast_lane_enabled is False
    assert (s.fast_lane_interval_ms, s.fast_lane_initial_interval_ms) == (250.0, 100.0)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"RC_STUB_TRACERS": "zero"}, "RC_STUB_TRACERS"),
        ({"RC_STUB_TRACERS": "0"}, "tracers"),
        ({"RC_STUB_CLIENT_POLICY": "turbo"}, "legacy|phase1|fastlane"),
        ({"RC_STUB_PROVIDER_MODE": "block"}, "event|wait"),
        ({"RC_STUB_PRODUCTS": ","}, "RC_STUB_PRODUCTS"),
        ({"RC_STUB_TRACER_START_COST_MS": "-1"}, "tracer_start_cost_ms=-1.0"),
        ({"RC_STUB_FIRST_POLL": "later"}, "RC_STUB_FIRST_POLL='later'.*immediate|after_interval"),
        ({"DD_RC_FAST_LANE_ENABLED": "maybe"}, "DD_RC_FAST_LANE_ENABLED"),
        ({"RC_STUB_LOG_LEVEL": "loud"}, "RC_STUB_LOG_LEVEL"),
    ],
)
def test_invalid_values_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        Settings.from_env(env)


def test_flags_override_env() -> None:
    env = {"RC_STUB_TRACERS": "5", "RC_STUB_SEED": "3"}
    s = settings_from(["--tracers", "7", "--client-policy", "phase1", "--seed", ""], env)
    assert s.tracers == 7 and s.client_policy is ClientPolicy.PHASE1 and s.seed is None


def test_products_are_a_comma_list() -> None:
    s = Settings.from_env({"RC_STUB_PRODUCTS": " FFE_FLAGS, ,ASM_DD "})
    assert s.products == ("FFE_FLAGS", "ASM_DD")
    assert Settings().products == ("APM_TRACING", "FFE_FLAGS")


def test_help_lists_every_setting() -> None:
    text = " ".join(build_parser({"DD_ENV": "staging"}).format_help().split())
    for f in fields(Settings):
        assert "--" + f.name.replace("_", "-") in text
    assert "env RC_STUB_AGENT_URL or DD_TRACE_AGENT_URL" in text
    assert "(default: legacy; env RC_STUB_CLIENT_POLICY)" in text
    assert "now 'staging' from DD_ENV" in text


def test_bad_setting_exits_2_naming_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tracers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tracer_stub: setting tracers=0 is invalid: expected an integer >= 1")
    assert "RC_STUB_TRACERS" in err and "--tracers" in err


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1:8126", "127.0.0.1:8126", "http://:80", "http://h:99999"]
)
def test_agent_url_must_be_http_host_port(url: str) -> None:
    with pytest.raises(SettingsError, match="agent_url"):
        Settings(agent_url=url)


def test_policy_settings_carry_every_policy_field_and_share_its_defaults() -> None:
    assert Settings().policy_settings() == PolicySettings()
    s = Settings(client_policy="phase1", poll_interval_s=2.0, fast_lane_permits=3)  # type: ignore[arg-type]
    p = s.policy_settings()
    assert (p.policy, p.poll_interval_s, p.fast_lane_permits) == (ClientPolicy.PHASE1, 2.0, 3)
