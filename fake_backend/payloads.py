"""Default config payloads per product, each a function of a `revision` (bumped by the admin API).

- `FFE_FLAGS`: a Universal Flag Configuration with one boolean flag (`rc_protocol.ufc_build`): 355
  bytes with the default flag key, the size of the reference UFC example (347 bytes compact),
  not the proposal's round "200-byte payload". A new revision changes `createdAt`.
- `ASM_DATA`: `{"rules_data": [...]}` as the tracers' AppSec clients read it (an
  `ip_with_expiration` list of blocked IPs), padded to about `asm_data_bytes` of valid JSON.
- `APM_TRACING`: a small dynamic-configuration document (`lib_config` + `service_target`).

Payloads are compact JSON (no spaces), deterministic for a given revision.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from rc_protocol.products import Product
from rc_protocol.ufc_build import FlagSpec, ufc_bytes

PayloadBuilder = Callable[[int], bytes]

#: Config ids of the default catalogue, one config per product.
DEFAULT_CONFIG_IDS: dict[str, str] = {
    Product.FFE_FLAGS: "rc-fastlane-flags",
    Product.ASM_DATA: "rc-fastlane-asm-data",
    Product.APM_TRACING: "rc-fastlane-apm-tracing",
}

# 2024-04-17T19:40:53Z, the createdAt of the reference UFC example; a revision adds seconds.
_UFC_CREATED_AT_EPOCH = 1713382853


def _compact(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def ffe_flags(flag_key: str, environment: str) -> PayloadBuilder:
    """UFC with one enabled boolean flag `flag_key` whose default allocation serves `true`."""

    def build(revision: int) -> bytes:
        created = datetime.fromtimestamp(_UFC_CREATED_AT_EPOCH + revision, UTC)
        return ufc_bytes(
            [FlagSpec.boolean(flag_key, True)],
            environment=environment,
            created_at=created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        )

    return build


def asm_data(target_bytes: int) -> PayloadBuilder:
    """`rules_data` with blocked IPs until the document is at least `target_bytes` long."""

    def build(revision: int) -> bytes:
        marker = {
            "id": "blocked_users",
            "type": "data_with_expiration",
            "data": [{"value": f"rc-fastlane-revision-{revision}", "expiration": 0}],
        }
        head = _compact({"rules_data": [marker]})
        # One entry is `{"expiration":0,"value":"10.a.b.c"}` plus a comma: at most 43 bytes.
        entries: list[bytes] = []
        size = len(head) + 60
        index = 0
        while size < target_bytes:
            ip = f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"
            entry = b'{"expiration":0,"value":"' + ip.encode() + b'"}'
            entries.append(entry)
            size += len(entry) + 1
            index += 1
        ips = (
            b'{"data":[' + b",".join(entries) + b'],"id":"blocked_ips","type":"ip_with_expiration"}'
        )
        return head[:-2] + b"," + ips + b"]}"

    return build


def apm_tracing(config_id: str) -> PayloadBuilder:
    """A small APM_TRACING dynamic configuration for every service and env."""

    def build(revision: int) -> bytes:
        return _compact(
            {
                "id": config_id,
                "revision": revision,
                "schema_version": "v1.0.0",
                "action": "enable",
                "service_target": {"service": "*", "env": "*"},
                "lib_config": {"tracing_sampling_rate": 1.0},
            }
        )

    return build


def default_builders(
    flag_key: str, environment: str, asm_data_bytes: int
) -> dict[str, PayloadBuilder]:
    """The built-in payload builder of each product that has one."""
    return {
        Product.FFE_FLAGS: ffe_flags(flag_key, environment),
        Product.ASM_DATA: asm_data(asm_data_bytes),
        Product.APM_TRACING: apm_tracing(DEFAULT_CONFIG_IDS[Product.APM_TRACING]),
    }
