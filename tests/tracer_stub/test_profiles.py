import pytest

from tracer_stub.errors import SettingsError
from tracer_stub.profiles import PROFILES, TIMING_FIELDS
from tracer_stub.settings import Settings


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_a_profile_sets_every_timing_field_to_a_value_the_stub_accepts(name: str) -> None:
    profile = PROFILES[name]
    assert set(TIMING_FIELDS) <= set(profile.values)
    settings = Settings.from_env({"RC_STUB_PROFILE": name})
    for field, value in profile.values.items():
        assert getattr(settings, field) == value, field


def test_explicit_settings_override_the_profile() -> None:
    env = {"RC_STUB_PROFILE": "ddtrace-py-4.16", "RC_STUB_REQUEST_TIMEOUT_S": "3"}
    settings = Settings.from_env(env, poll_interval_s=1.0)
    assert settings.request_timeout_s == 3.0 and settings.poll_interval_s == 1.0
    assert settings.language == "python" and settings.wire_bytes == "array"


def test_no_profile_keeps_the_stubs_own_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_an_unknown_profile_is_a_settings_error_listing_the_profiles() -> None:
    with pytest.raises(SettingsError, match=r"profile.*go-2\.5"):
        Settings.from_env({"RC_STUB_PROFILE": "go-9"})


def test_the_real_clients_differ_where_the_reference_says() -> None:
    go, py, js = (PROFILES[n].values for n in ("go-2.5", "ddtrace-py-4.16", "dd-trace-js-5.132"))
    assert go["first_poll"] == "after_interval" and py["first_poll"] == js["first_poll"]
    assert (go["request_timeout_s"], py["request_timeout_s"], js["request_timeout_s"]) == (
        10.0,
        2.0,
        2.0,
    )
    assert PROFILES["libdatadog"].values["request_timeout_s"] == 3.0
