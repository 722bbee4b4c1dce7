"""Settings: RC_AGENT_* wins over DD_* aliases; resolve() applies the real validation."""

from __future__ import annotations

import pytest

from agent.errors import SettingsError
from agent.settings import Settings, parse_duration_s


def test_defaults_are_the_real_agents() -> None:
    s = Settings()
    r = s.resolve()
    assert (r.refresh_interval_s, r.refresh_override_allowed) == (60.0, True)
    assert (r.clients_ttl_s, r.cache_bypass_limit, r.max_backoff_interval_s) == (30.0, 5, 300.0)
    assert (s.new_client_block_ttl_s, s.refresh_spacing_s) == (2.0, 1.0)
    assert (s.fast_lane_cache_bypass_limit, s.fast_lane_block_ttl_ms) == (50, 500.0)


def test_every_field_reads_rc_agent_and_the_real_aliases() -> None:
    aliases = {spec.name: spec.env[1:] for spec in Settings.specs() if spec.env[1:]}
    assert aliases == {
        "api_key": ("DD_API_KEY",),
        "refresh_interval_s": ("DD_REMOTE_CONFIGURATION_REFRESH_INTERVAL",),
        "clients_ttl_s": ("DD_REMOTE_CONFIGURATION_CLIENTS_TTL_SECONDS",),
        "cache_bypass_limit": ("DD_REMOTE_CONFIGURATION_CLIENTS_CACHE_BYPASS_LIMIT",),
        "max_backoff_interval_s": ("DD_REMOTE_CONFIGURATION_MAX_BACKOFF_INTERVAL",),
        "fast_lane_cache_bypass_limit": ("DD_REMOTE_CONFIGURATION_FAST_LANE_CACHE_BYPASS_LIMIT",),
        "fast_lane_block_ttl_ms": ("DD_REMOTE_CONFIGURATION_FAST_LANE_BLOCK_TTL_MS",),
        "hostname": ("DD_HOSTNAME",),
    }
    assert all(spec.env[0] == "RC_AGENT_" + spec.name.upper() for spec in Settings.specs())


def test_rc_agent_wins_over_alias() -> None:
    env = {
        "DD_REMOTE_CONFIGURATION_CLIENTS_CACHE_BYPASS_LIMIT": "3",
        "RC_AGENT_CACHE_BYPASS_LIMIT": "7",
        "DD_REMOTE_CONFIGURATION_REFRESH_INTERVAL": "1m30s",
        "DD_REMOTE_CONFIGURATION_FAST_LANE_BLOCK_TTL_MS": "250",
        "DD_API_KEY": "k",
        "RC_AGENT_POLICY": "fastlane",
    }
    s = Settings.from_env(env)
    assert s.cache_bypass_limit == 7
    assert s.refresh_interval_s == 90.0
    assert s.fast_lane_block_ttl_ms == 250.0
    assert (s.api_key, s.policy) == ("k", "fastlane")


@pytest.mark.parametrize(
    ("value", "refresh", "override"),
    [(None, 60.0, True), (4.9, 60.0, True), (5.0, 5.0, False), (120.0, 120.0, False)],
)
def test_refresh_interval_rules(value: float | None, refresh: float, override: bool) -> None:
    r = Settings(refresh_interval_s=value).resolve()
    assert (r.refresh_interval_s, r.refresh_override_allowed) == (refresh, override)
    assert bool(r.warnings) is (value == 4.9)


@pytest.mark.parametrize(("limit", "effective"), [(0, 5), (1, 1), (10, 10), (11, 5)])
def test_cache_bypass_limit_range(limit: int, effective: int) -> None:
    assert Settings(cache_bypass_limit=limit).resolve().cache_bypass_limit == effective


@pytest.mark.parametrize(("ttl", "effective"), [(4, 30), (5, 5), (60, 60), (61, 30)])
def test_clients_ttl_range(ttl: float, effective: float) -> None:
    assert Settings(clients_ttl_s=ttl).resolve().clients_ttl_s == effective


@pytest.mark.parametrize(("value", "effective"), [(10, 120), (200, 200), (900, 300)])
def test_max_backoff_clamped(value: float, effective: float) -> None:
    assert Settings(max_backoff_interval_s=value).resolve().max_backoff_interval_s == effective


def test_durations_and_errors() -> None:
    assert parse_duration_s("500ms") == 0.5
    assert parse_duration_s("2") == 2.0
    with pytest.raises(SettingsError, match="duration"):
        parse_duration_s("soon")
    with pytest.raises(SettingsError, match="RC_AGENT_PORT"):
        Settings.from_env({"RC_AGENT_PORT": "eighty"})
    with pytest.raises(SettingsError, match="policy"):
        Settings(policy="turbo")  # type: ignore[arg-type]


def test_serve_cost_is_a_diagnostic_defaulting_to_zero() -> None:
    assert Settings().serve_cost_ms == 0.0
    assert Settings.from_env({"RC_AGENT_SERVE_COST_MS": "170"}).serve_cost_ms == 170.0
    with pytest.raises(SettingsError, match="serve_cost_ms"):
        Settings(serve_cost_ms=-1.0)


def test_rc_unavailable_is_a_diagnostic_defaulting_to_zero() -> None:
    assert Settings().rc_unavailable_s == 0.0
    assert Settings.from_env({"RC_AGENT_RC_UNAVAILABLE_S": "12"}).rc_unavailable_s == 12.0
    assert Settings.from_env({"RC_AGENT_RC_UNAVAILABLE_S": "1m30s"}).rc_unavailable_s == 90.0
    with pytest.raises(SettingsError, match="rc_unavailable_s"):
        Settings(rc_unavailable_s=-1.0)


def test_an_unknown_log_level_is_a_settings_error_naming_the_levels() -> None:
    with pytest.raises(SettingsError, match=r"log_level.*DEBUG\|INFO"):
        Settings.from_env({"RC_AGENT_LOG_LEVEL": "loud"})
    assert Settings.from_env({"RC_AGENT_LOG_LEVEL": "debug"}).log_level == "debug"
