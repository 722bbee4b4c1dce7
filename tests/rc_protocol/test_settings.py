"""The settings machinery, on a fixture dataclass with one field of every supported type."""

from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from rc_protocol.errors import ProtocolError, SettingsError
from rc_protocol.settings import EXIT_BAD_SETTINGS, EnvSettings, setting


class SampleError(SettingsError):
    """Stands for a service's own SettingsError."""


class Color(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


def parse_seconds(text: str) -> float:
    """A toy parser: ``"3s"`` is 3.0."""
    if not text.endswith("s"):
        raise ValueError(f"{text!r} has no unit: use e.g. 3s")
    return float(text[:-1])


@dataclass(frozen=True)
class Sample(EnvSettings):
    env_prefix = "T_"
    settings_error = SampleError

    flag: bool = setting(False, "a switch")
    count: int = setting(3, "how many", env=("DD_COUNT", "DD_OLD_COUNT"))
    ratio: float = setting(0.5, "a share, 50% by default")
    name: str = setting("svc", "a name")
    mode: Literal["fast", "slow"] = setting("fast", "a mode")
    color: Color = setting(Color.RED, "an enum")
    tags: tuple[str, ...] = setting(("a", "b"), "a comma list")
    limit: int | None = setting(None, "optional number")
    label: str | None = setting("x", "optional text")
    wait_s: float = setting(1.0, "own parser", parse=parse_seconds, expected="seconds like 3s")
    key: str = setting("default-key", "a secret", env=("DD_KEY",), secret=True)

    def __post_init__(self) -> None:
        self.require(self.count >= 0, "count", "an integer >= 0")


@pytest.mark.parametrize(
    ("var", "text", "field", "value"),
    [
        ("T_FLAG", "true", "flag", True),
        ("T_FLAG", " ON ", "flag", True),
        ("T_FLAG", "0", "flag", False),
        ("T_FLAG", "no", "flag", False),
        ("T_COUNT", " 42 ", "count", 42),
        ("T_RATIO", "1e-3", "ratio", 0.001),
        ("T_NAME", "  spaced  ", "name", "spaced"),
        ("T_MODE", "slow", "mode", "slow"),
        ("T_COLOR", "blue", "color", Color.BLUE),
        ("T_TAGS", "x, y,,z ", "tags", ("x", "y", "z")),
        ("T_LIMIT", "7", "limit", 7),
        ("T_LABEL", "y", "label", "y"),
        ("T_WAIT_S", "3s", "wait_s", 3.0),
        ("DD_KEY", "k", "key", "k"),
    ],
)
def test_values_are_parsed_by_the_field_type(var: str, text: str, field: str, value: Any) -> None:
    parsed = getattr(Sample.from_env({var: text}), field)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("var", "field", "value"),
    [
        ("T_LIMIT", "limit", None),  # optional: unset
        ("T_LABEL", "label", None),  # optional text: unset too, not the empty text
        ("T_NAME", "name", ""),  # text: the empty text
    ],
)
@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_value_unsets_an_optional_field(
    var: str, field: str, value: object, empty: str
) -> None:
    assert getattr(Sample.from_env({var: empty}), field) == value


@pytest.mark.parametrize(
    "var", ["T_FLAG", "T_COUNT", "T_RATIO", "T_MODE", "T_COLOR", "T_TAGS", "T_WAIT_S"]
)
def test_an_empty_value_is_an_error_for_any_other_field(var: str) -> None:
    with pytest.raises(SampleError, match=rf"^{var}='' is invalid: expected .* only an optional"):
        Sample.from_env({var: ""})


@pytest.mark.parametrize(
    ("var", "text", "message"),
    [
        ("T_FLAG", "maybe", "T_FLAG='maybe' is invalid: expected true or false"),
        ("T_COUNT", "2.5", "T_COUNT='2.5' is invalid: expected an integer"),
        ("DD_COUNT", "many", "DD_COUNT='many' is invalid: expected an integer"),
        ("T_RATIO", "half", "T_RATIO='half' is invalid: expected a number"),
        ("T_MODE", "FAST", "T_MODE='FAST' is invalid: expected one of fast|slow"),
        ("T_COLOR", "green", "T_COLOR='green' is invalid: expected one of red|blue"),
        ("T_TAGS", " , ", "T_TAGS=' , ' is invalid: expected a comma-separated list"),
        ("T_LIMIT", "none", "T_LIMIT='none' is invalid: expected an integer"),
        ("T_WAIT_S", "3", "T_WAIT_S='3' is invalid: expected seconds like 3s"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_and_what_is_expected(
    var: str, text: str, message: str
) -> None:
    with pytest.raises(SampleError) as err:
        Sample.from_env({var: text})
    assert str(err.value) == message
    assert isinstance(err.value, SettingsError) and isinstance(err.value, ProtocolError)
    assert err.value.field and err.value.expected in message


def test_a_validation_rule_names_the_field_its_variables_and_its_flag() -> None:
    with pytest.raises(SampleError) as err:
        Sample.from_env({"DD_COUNT": "-1"})
    assert str(err.value) == (
        "setting count=-1 is invalid: expected an integer >= 0 "
        "(env T_COUNT or DD_COUNT or DD_OLD_COUNT, or --count)"
    )
    assert (err.value.field, err.value.expected) == ("count", "an integer >= 0")


def test_the_prefixed_variable_wins_over_its_aliases_and_the_first_alias_over_the_next() -> None:
    assert Sample.from_env({"DD_COUNT": "1", "T_COUNT": "2", "DD_OLD_COUNT": "3"}).count == 2
    assert Sample.from_env({"DD_OLD_COUNT": "3", "DD_COUNT": "1"}).count == 1
    assert Sample.from_env({"DD_OLD_COUNT": "3"}).count == 3


def test_an_unread_alias_is_not_parsed() -> None:
    assert Sample.from_env({"T_COUNT": "2", "DD_COUNT": "many"}).count == 2


def test_overrides_win_over_the_environment() -> None:
    assert Sample.from_env({"T_COUNT": "2"}, count=5).count == 5


def test_defaults_without_environment() -> None:
    assert Sample.from_env({}) == Sample()


def test_a_flag_wins_over_the_environment() -> None:
    env = {"T_COUNT": "2", "T_MODE": "slow", "T_LIMIT": "9"}
    args = Sample.build_parser(prog="t", description="d").parse_args(
        ["--count", "4", "--tags", "q", "--limit", ""]
    )
    s = Sample.from_args(args, env)
    assert (s.count, s.mode, s.tags, s.limit) == (4, "slow", ("q",), None)


def test_a_bad_flag_names_the_flag() -> None:
    args = Sample.build_parser(prog="t", description="d").parse_args(["--wait-s", "soon"])
    with pytest.raises(SampleError, match=r"^--wait-s='soon' is invalid: expected seconds"):
        Sample.from_args(args, {})


def test_help_shows_defaults_variables_and_values_in_force() -> None:
    env = {"DD_COUNT": "8", "DD_KEY": "hunter2"}
    text = " ".join(
        Sample.build_parser(prog="t", description="d", environ=env).format_help().split()
    )
    assert "--ratio NUMBER a share, 50% by default (default: 0.5; env T_RATIO)" in text
    assert "(default: 3; env T_COUNT or DD_COUNT or DD_OLD_COUNT; now '8' from DD_COUNT)" in text
    assert "--mode {fast,slow}" in text and "--color {red,blue}" in text
    assert "(default: a,b; env T_TAGS)" in text and "(default: unset; env T_LIMIT)" in text
    assert "(default: false; env T_FLAG)" in text


def test_a_secret_is_never_shown() -> None:
    env = {"DD_KEY": "hunter2"}
    text = Sample.build_parser(prog="t", description="d", environ=env).format_help()
    assert "hunter2" not in text and "default-key" not in text
    assert "never shown" in text
    assert "hunter2" not in repr(Sample.from_env(env))


def test_replace_validates_again() -> None:
    assert Sample().replace(count=1).count == 1
    with pytest.raises(SampleError, match="count"):
        Sample().replace(count=-1)


def test_an_unsupported_type_or_a_missing_default_is_a_programming_error() -> None:
    @dataclass(frozen=True)
    class Listy(EnvSettings):
        items: frozenset[int] = setting(frozenset(), "not supported")

    @dataclass(frozen=True)
    class NoDefault(EnvSettings):
        port: int

    with pytest.raises(TypeError, match="unsupported settings type"):
        Listy.specs()
    with pytest.raises(TypeError, match="needs a default"):
        NoDefault.specs()


@pytest.mark.parametrize(
    ("package", "prefix"),
    [("agent", "RC_AGENT_"), ("fake_backend", "RC_BACKEND_"), ("tracer_stub", "RC_STUB_")],
)
def test_each_service_raises_its_own_settings_error(package: str, prefix: str) -> None:
    settings = importlib.import_module(f"{package}.settings").Settings
    errors = importlib.import_module(f"{package}.errors")
    assert settings.env_prefix == prefix
    with pytest.raises(errors.SettingsError, match=f"^{prefix}PORT='eighty' is invalid"):
        settings.from_env({f"{prefix}PORT": "eighty"})
    assert issubclass(errors.SettingsError, SettingsError)
    assert EXIT_BAD_SETTINGS == 2
