"""Config paths."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rc_protocol.errors import PathError, ProtocolError
from rc_protocol.paths import ConfigPath
from rc_protocol.products import Product


def test_parse_datadog_path() -> None:
    p = ConfigPath.parse("datadog/2/FFE_FLAGS/flags-1/config")
    assert p == ConfigPath("datadog", 2, "FFE_FLAGS", "flags-1", "config")
    assert p.product == Product.FFE_FLAGS
    assert p.known_product is Product.FFE_FLAGS


def test_parse_employee_path() -> None:
    p = ConfigPath.parse("employee/ASM_DD/1.recommended.json/config")
    assert p.source == "employee"
    assert p.org_id is None
    assert p.product == "ASM_DD"
    assert str(p) == "employee/ASM_DD/1.recommended.json/config"


def test_unknown_product_is_accepted_but_not_known() -> None:
    p = ConfigPath.parse("datadog/2/NEW_THING/id/config")
    assert p.known_product is None


def test_builders() -> None:
    assert str(ConfigPath.datadog(2, Product.FFE_FLAGS, "f1")) == "datadog/2/FFE_FLAGS/f1/config"
    assert str(ConfigPath.employee("ASM_DD", "x", "n")) == "employee/ASM_DD/x/n"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("datadog/2/FFE_FLAGS/flags-1", "exactly 5 segments"),
        ("datadog/2/FFE_FLAGS/a/b/c", "exactly 5 segments"),
        ("datadog/two/FFE_FLAGS/a/config", "not a number"),
        ("datadog/-2/FFE_FLAGS/a/config", "not a number"),
        ("employee/ASM_DD/a", "exactly 4 segments"),
        ("user/2/FFE_FLAGS/a/config", "unknown source"),
        ("", "unknown source"),
        ("datadog/2//a/config", "empty product"),
        ("datadog/2/FFE_FLAGS//config", "empty config id"),
        ("datadog/2/FFE_FLAGS/a/", "empty name"),
    ],
)
def test_bad_paths_name_the_path(path: str, reason: str) -> None:
    with pytest.raises(PathError, match=reason) as info:
        ConfigPath.parse(path)
    assert repr(path) in str(info.value)
    assert isinstance(info.value, ProtocolError)


segment = st.text(
    alphabet=st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), min_size=1
)


@given(st.integers(min_value=0, max_value=10**12), segment, segment, segment)
def test_round_trip_datadog(org: int, product: str, config_id: str, name: str) -> None:
    p = ConfigPath("datadog", org, product, config_id, name)
    assert ConfigPath.parse(str(p)) == p


@given(segment, segment, segment)
def test_round_trip_employee(product: str, config_id: str, name: str) -> None:
    p = ConfigPath("employee", None, product, config_id, name)
    assert ConfigPath.parse(str(p)) == p
