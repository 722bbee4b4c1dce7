"""Products and the fast-lane rule."""

from __future__ import annotations

import pytest

from rc_protocol.products import Product, is_fast_lane_request


def test_libdatadog_product_list() -> None:
    assert [p.value for p in Product] == [
        "AGENT_CONFIG",
        "AGENT_TASK",
        "APM_TRACING",
        "ASM",
        "ASM_DATA",
        "ASM_DD",
        "ASM_FEATURES",
        "FFE_FLAGS",
        "LIVE_DEBUGGING",
        "LIVE_DEBUGGING_SYMBOL_DB",
        "DEBUG",
    ]


def test_only_ffe_flags_is_fast_lane_eligible() -> None:
    assert [p for p in Product if p.fast_lane_eligible] == [Product.FFE_FLAGS]


def test_product_compares_equal_to_wire_string() -> None:
    assert Product.FFE_FLAGS == "FFE_FLAGS"
    assert Product("APM_TRACING") is Product.APM_TRACING


@pytest.mark.parametrize(
    ("products", "fast"),
    [
        (["FFE_FLAGS"], True),
        ([Product.FFE_FLAGS], True),
        (["FFE_FLAGS", "FFE_FLAGS"], True),
        (["FFE_FLAGS", "APM_TRACING"], False),
        (["APM_TRACING"], False),
        ([], False),
        (["UNKNOWN_PRODUCT"], False),
        (iter(["FFE_FLAGS"]), True),
    ],
)
def test_is_fast_lane_request(products: list[str], fast: bool) -> None:
    assert is_fast_lane_request(products) is fast
