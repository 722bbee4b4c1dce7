from __future__ import annotations

import pytest

from fake_backend.app import create_app
from fake_backend.errors import SettingsError
from fake_backend.settings import Settings


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings.from_env({})
    assert settings.org_id == 2
    assert settings.products == ("FFE_FLAGS",)
    assert settings.agent_refresh_interval_s is None
    assert settings.api_key is None
    assert settings.error_rate == 0.0
    assert settings.target_files == "changed"


def test_reads_prefixed_env_and_api_key() -> None:
    settings = Settings.from_env(
        {
            "RC_BACKEND_PRODUCTS": "FFE_FLAGS, ASM_DATA,APM_TRACING",
            "RC_BACKEND_ORG_ID": "7",
            "RC_BACKEND_AGENT_REFRESH_INTERVAL_S": "5",
            "RC_BACKEND_ERROR_RATE": "0.25",
            "RC_BACKEND_RC_ENABLED": "false",
            "DD_API_KEY": "secret",
        }
    )
    assert settings.products == ("FFE_FLAGS", "ASM_DATA", "APM_TRACING")
    assert settings.org_id == 7
    assert settings.agent_refresh_interval_s == 5
    assert settings.error_rate == 0.25
    assert settings.rc_enabled is False
    assert settings.api_key == "secret"


def test_every_field_reads_rc_backend_and_api_key_dd_api_key() -> None:
    aliases = {spec.name: spec.env[1:] for spec in Settings.specs() if spec.env[1:]}
    assert aliases == {"api_key": ("DD_API_KEY",)}
    assert all(spec.env[0] == "RC_BACKEND_" + spec.name.upper() for spec in Settings.specs())


def test_overrides_win_over_env() -> None:
    settings = Settings.from_env({"RC_BACKEND_PORT": "1234"}, port=4321)
    assert settings.port == 4321


def test_optional_can_be_unset_explicitly() -> None:
    settings = Settings.from_env({"RC_BACKEND_AGENT_REFRESH_INTERVAL_S": ""})
    assert settings.agent_refresh_interval_s is None


def test_api_key_is_never_in_the_repr() -> None:
    assert "secret" not in repr(Settings.from_env({"DD_API_KEY": "secret"}))


def test_admin_token_is_a_secret_read_from_its_variable() -> None:
    settings = Settings.from_env({"RC_BACKEND_ADMIN_TOKEN": "tok3n"})
    assert settings.admin_token == "tok3n" and "tok3n" not in repr(settings)
    parser = Settings.build_parser(
        prog="b", description="d", environ={"RC_BACKEND_ADMIN_TOKEN": "tok3n"}
    )
    assert "tok3n" not in parser.format_help()
    assert Settings.from_env({"RC_BACKEND_ADMIN_TOKEN": ""}).admin_token is None


def test_bad_fault_window_names_where_it_is_set() -> None:
    with pytest.raises(SettingsError, match="RC_BACKEND_OUTAGE_WINDOWS, or --outage-windows"):
        create_app(Settings(outage_windows="soon"))


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"RC_BACKEND_ORG_ID": "two"}, "RC_BACKEND_ORG_ID"),
        ({"RC_BACKEND_MAX_BODY_BYTES": "0"}, "max_body_bytes"),
        ({"RC_BACKEND_ERROR_RATE": "1.5"}, "error_rate"),
        ({"RC_BACKEND_ERROR_STATUS": "404"}, "error_status"),
        ({"RC_BACKEND_TARGET_FILES": "some"}, "RC_BACKEND_TARGET_FILES='some'.*changed|all"),
        ({"RC_BACKEND_PRODUCTS": " , "}, "RC_BACKEND_PRODUCTS"),
        ({"RC_BACKEND_SEED": ""}, "RC_BACKEND_SEED=''"),
        ({"RC_BACKEND_RC_ENABLED": "maybe"}, "RC_BACKEND_RC_ENABLED"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        Settings.from_env(env)
