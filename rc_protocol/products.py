"""Remote Configuration products, and which of them ride the fast lane.

The list is libdatadog's (`libdd-remote-config`, `RemoteConfigProduct` in `path.rs`), as the
reference doc `tracer-rc-clients.md` records it. The fast-lane rule is the proposal's A1: a
request is fast-lane when it is non-empty and every product in it is fast-lane eligible; today
only `FFE_FLAGS` is.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

__all__ = ["FAST_LANE_PRODUCTS", "Product", "is_fast_lane_request"]


class Product(StrEnum):
    """A Remote Configuration product (the third path segment of a config path)."""

    AGENT_CONFIG = "AGENT_CONFIG"
    AGENT_TASK = "AGENT_TASK"
    APM_TRACING = "APM_TRACING"
    ASM = "ASM"
    ASM_DATA = "ASM_DATA"
    ASM_DD = "ASM_DD"
    ASM_FEATURES = "ASM_FEATURES"
    FFE_FLAGS = "FFE_FLAGS"
    LIVE_DEBUGGING = "LIVE_DEBUGGING"
    LIVE_DEBUGGING_SYMBOL_DB = "LIVE_DEBUGGING_SYMBOL_DB"
    DEBUG = "DEBUG"

    @property
    def fast_lane_eligible(self) -> bool:
        """True for products the proposal's fast lane serves (A1: `FFE_FLAGS` only)."""
        return self in FAST_LANE_PRODUCTS


#: Products eligible for the fast lane (proposal A1).
FAST_LANE_PRODUCTS: frozenset[Product] = frozenset({Product.FFE_FLAGS})


def is_fast_lane_request(products: Iterable[str]) -> bool:
    """True when `products` is non-empty and every product is fast-lane eligible.

    Accepts plain strings (as they arrive on the wire); an unknown product is not eligible.

    >>> is_fast_lane_request(["FFE_FLAGS"])
    True
    >>> is_fast_lane_request(["FFE_FLAGS", "APM_TRACING"])
    False
    >>> is_fast_lane_request([])
    False
    """
    seen = False
    for product in products:
        seen = True
        if product not in FAST_LANE_PRODUCTS:
            return False
    return seen
