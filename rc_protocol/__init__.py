"""Shared Remote Configuration protocol package: written once, used by the three services.

Modules: `clock` (System/Manual clocks, `wait_for`), `wait` (`poll_until`), `products`,
`capabilities`, `paths`, `wire` (`/v0.7/config` models), `targets` (signed TUF targets), `tuf`
(signing; root, snapshot and timestamp), `cjson` (canonical JSON), `ufc` (FFE_FLAGS payloads),
`ufc_build` and `ufc_eval` (building them, evaluating flags), `proto.remoteconfig_pb2`
(datadog-agent's protobuf messages), `settings` (the services' settings machinery, with
`setting_values`), `errors`.
The most used names are re-exported here.
"""

from rc_protocol.capabilities import (
    Capability,
    capabilities_for_products,
    decode_capabilities,
    encode_capabilities,
)
from rc_protocol.clock import Clock, ManualClock, SystemClock, wait_for
from rc_protocol.errors import (
    PathError,
    ProtocolError,
    SettingsError,
    TargetsError,
    UfcError,
    WaitTimeout,
    WireDecodeError,
    WireError,
    WireValidationError,
)
from rc_protocol.paths import ConfigPath
from rc_protocol.products import Product, is_fast_lane_request
from rc_protocol.wait import apoll_until, poll_until

__all__ = [
    "Capability",
    "Clock",
    "ConfigPath",
    "ManualClock",
    "PathError",
    "Product",
    "ProtocolError",
    "SettingsError",
    "SystemClock",
    "TargetsError",
    "UfcError",
    "WaitTimeout",
    "WireDecodeError",
    "WireError",
    "WireValidationError",
    "apoll_until",
    "capabilities_for_products",
    "decode_capabilities",
    "encode_capabilities",
    "is_fast_lane_request",
    "poll_until",
    "wait_for",
]
