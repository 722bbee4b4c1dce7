"""Capability bit numbers and the bitset encoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rc_protocol.capabilities import (
    Capability,
    capabilities_for_products,
    decode_capabilities,
    encode_capabilities,
)


def test_known_bit_numbers() -> None:
    assert Capability.FFE_FLAG_CONFIGURATION_RULES == 46
    assert Capability.ASM_ACTIVATION == 1
    assert Capability.APM_TRACING_SAMPLE_RATE == 12
    assert Capability.APM_TRACING_SAMPLE_RULES == 29
    assert Capability.ASM_TRACE_TAGGING_RULES == 43


@pytest.mark.parametrize(
    ("bits", "hex_bytes"),
    [
        ([], ""),
        ([0], "01"),
        ([7], "80"),
        ([8], "0100"),
        ([1, 3], "0a"),
        ([46], "400000000000"),
        ([46, 12], "400000001000"),
        ([47], "800000000000"),
        ([48], "01000000000000"),
    ],
)
def test_encode_big_endian_minimal(bits: list[int], hex_bytes: str) -> None:
    assert encode_capabilities(bits).hex() == hex_bytes
    assert decode_capabilities(bytes.fromhex(hex_bytes)) == frozenset(bits)


def test_bit_46_alone_is_six_bytes() -> None:
    raw = encode_capabilities([Capability.FFE_FLAG_CONFIGURATION_RULES])
    assert raw == b"\x40\x00\x00\x00\x00\x00"
    assert len(raw) == 6


def test_decode_accepts_leading_zero_bytes_and_unknown_bits() -> None:
    out = decode_capabilities(b"\x00\x00\x40\x00\x00\x00\x00\x00")
    assert out == {46}
    assert all(isinstance(b, Capability) for b in out)
    assert decode_capabilities((1 << 60).to_bytes(8, "big")) == {60}


def test_negative_bit_rejected() -> None:
    with pytest.raises(ValueError, match="-1"):
        encode_capabilities([-1])


@given(st.frozensets(st.integers(min_value=0, max_value=200)))
def test_round_trip(bits: frozenset[int]) -> None:
    raw = encode_capabilities(bits)
    assert decode_capabilities(raw) == bits
    assert raw == b"" or raw[0] != 0  # minimal length


def test_ffe_capability_only_with_ffe_flags() -> None:
    ffe = Capability.FFE_FLAG_CONFIGURATION_RULES
    assert capabilities_for_products(["FFE_FLAGS"]) == {ffe}
    standard = capabilities_for_products(["APM_TRACING", "ASM_FEATURES"])
    assert ffe not in standard
    assert Capability.APM_TRACING_SAMPLE_RATE in standard
    assert ffe in capabilities_for_products(["APM_TRACING", "FFE_FLAGS"])
    assert capabilities_for_products([]) == frozenset()
    assert capabilities_for_products(["NOT_A_PRODUCT"]) == frozenset()
