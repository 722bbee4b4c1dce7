"""Client capabilities: bit numbers and their big-endian bitset encoding.

Bit numbers are libdatadog's `RemoteConfigCapabilities` (`libdd-remote-config` `lib.rs`), which
agree with dd-trace-js `remote_config/capabilities.js` and dd-trace-go `remoteconfig`
(`FFEFlagConfigurationRules` = 46, also ddtrace-py's ``1 << 46``).

On the wire `client.capabilities` is the big-endian, minimal-length byte string of the integer
``sum(1 << bit)`` (Go ``big.Int.Bytes()``; libdatadog builds the same bytes). No capability is
the empty byte string.

>>> encode_capabilities([46]).hex(" ")
'40 00 00 00 00 00'
>>> encode_capabilities([1, 3]).hex()
'0a'
>>> [int(b) for b in decode_capabilities(bytes.fromhex("400000000000"))]
[46]
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from rc_protocol.products import Product

__all__ = [
    "Capability",
    "capabilities_for_products",
    "decode_capabilities",
    "encode_capabilities",
]


class Capability(IntEnum):
    """Bit numbers of RC client capabilities (libdatadog `RemoteConfigCapabilities`)."""

    ASM_ACTIVATION = 1
    ASM_IP_BLOCKING = 2
    ASM_DD_RULES = 3
    ASM_EXCLUSIONS = 4
    ASM_REQUEST_BLOCKING = 5
    ASM_RESPONSE_BLOCKING = 6
    ASM_USER_BLOCKING = 7
    ASM_CUSTOM_RULES = 8
    ASM_CUSTOM_BLOCKING_RESPONSE = 9
    ASM_TRUSTED_IPS = 10
    ASM_API_SECURITY_SAMPLE_RATE = 11
    APM_TRACING_SAMPLE_RATE = 12
    APM_TRACING_LOGS_INJECTION = 13
    APM_TRACING_HTTP_HEADER_TAGS = 14
    APM_TRACING_CUSTOM_TAGS = 15
    ASM_PROCESSOR_OVERRIDES = 16
    ASM_CUSTOM_DATA_SCANNERS = 17
    ASM_EXCLUSION_DATA = 18
    APM_TRACING_ENABLED = 19
    APM_TRACING_DATA_STREAMS_ENABLED = 20
    ASM_RASP_SQLI = 21
    ASM_RASP_LFI = 22
    ASM_RASP_SSRF = 23
    ASM_RASP_SHI = 24
    ASM_RASP_XXE = 25
    ASM_RASP_RCE = 26
    ASM_RASP_NOSQLI = 27
    ASM_RASP_XSS = 28
    APM_TRACING_SAMPLE_RULES = 29
    CSM_ACTIVATION = 30
    ASM_AUTO_USER_INSTRUM_MODE = 31
    ASM_ENDPOINT_FINGERPRINT = 32
    ASM_SESSION_FINGERPRINT = 33
    ASM_NETWORK_FINGERPRINT = 34
    ASM_HEADER_FINGERPRINT = 35
    ASM_TRUNCATION_RULES = 36
    ASM_RASP_CMDI = 37
    APM_TRACING_ENABLE_DYNAMIC_INSTRUMENTATION = 38
    APM_TRACING_ENABLE_EXCEPTION_REPLAY = 39
    APM_TRACING_ENABLE_CODE_ORIGIN = 40
    APM_TRACING_ENABLE_LIVE_DEBUGGING = 41
    ASM_DD_MULTICONFIG = 42
    ASM_TRACE_TAGGING_RULES = 43
    ASM_EXTENDED_DATA_COLLECTION = 44
    APM_TRACING_MULTICONFIG = 45
    FFE_FLAG_CONFIGURATION_RULES = 46
    DD_DATA_STREAMS_TRANSACTION_EXTRACTORS = 47
    LLM_OBS_ACTIVATION = 48


#: Capabilities a tracer advertises with each product it subscribes. APM_TRACING's set is what
#: dd-trace-js `remote_config/index.js` `enable` turns on with it (the six core bits; newer
#: releases also add APM_TRACING_MULTICONFIG, dynamic instrumentation and code origin, which
#: this model leaves out since no policy here reads them); FFE_FLAGS's is
#: `FFE_FLAG_CONFIGURATION_RULES` only (dd-trace-go `openfeature`, ddtrace-py `openfeature`).
PRODUCT_CAPABILITIES: dict[Product, frozenset[Capability]] = {
    Product.APM_TRACING: frozenset(
        {
            Capability.APM_TRACING_SAMPLE_RATE,
            Capability.APM_TRACING_LOGS_INJECTION,
            Capability.APM_TRACING_HTTP_HEADER_TAGS,
            Capability.APM_TRACING_CUSTOM_TAGS,
            Capability.APM_TRACING_ENABLED,
            Capability.APM_TRACING_SAMPLE_RULES,
        }
    ),
    Product.FFE_FLAGS: frozenset({Capability.FFE_FLAG_CONFIGURATION_RULES}),
}


def encode_capabilities(bits: Iterable[int]) -> bytes:
    """Encode capability bit numbers as a big-endian, minimal-length byte string.

    Raises:
        ValueError: for a negative bit number.
    """
    value = 0
    for bit in bits:
        if bit < 0:
            raise ValueError(f"capability bit must be >= 0, got {bit}")
        value |= 1 << int(bit)
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def decode_capabilities(raw: bytes) -> frozenset[int]:
    """Decode a capability byte string into the set of bit numbers that are set.

    Known bits come back as `Capability` members (which compare equal to their ints); unknown
    bits as plain ints. Leading zero bytes are accepted.
    """
    value = int.from_bytes(raw, "big")
    out: set[int] = set()
    bit = 0
    while value:
        if value & 1:
            out.add(Capability(bit) if bit in _KNOWN_BITS else bit)
        value >>= 1
        bit += 1
    return frozenset(out)


_KNOWN_BITS = frozenset(int(c) for c in Capability)


def capabilities_for_products(products: Iterable[str]) -> frozenset[Capability]:
    """The capabilities a client advertises for `products`.

    `FFE_FLAG_CONFIGURATION_RULES` appears only when `FFE_FLAGS` is among the products, so that a
    standard-lane fetcher that does not carry FFE_FLAGS does not advertise it (the proposal's
    open question 4: the capability partition mirrors the product partition).
    """
    out: set[Capability] = set()
    for product in products:
        try:
            out |= PRODUCT_CAPABILITIES.get(Product(product), frozenset())
        except ValueError:
            continue
    return frozenset(out)
