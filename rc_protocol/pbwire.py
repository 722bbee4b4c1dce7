"""The protobuf wire format by hand: varints and fields of any wire type, for building messages
the generated classes would never write (malformed, nested groups, invalid UTF-8), as the
backend's fuzzing and property tests do.

>>> varint(300).hex()
'ac02'
>>> wire_field(1, 2, b"hi").hex()
'0a026869'
>>> wire_field(6, 3, b"").hex()
'33'
"""

from __future__ import annotations


def varint(value: int) -> bytes:
    """``value`` (>= 0) as a base-128 varint, least significant group first."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def wire_field(number: int, wire_type: int, payload: bytes) -> bytes:
    """One field with any wire type: 0 varint, 1 fixed64, 2 length-delimited (the length is
    prefixed here), 3/4 group start/end, 5 fixed32; 6 and 7 do not exist. The payload is taken
    as given, so a field can be made wrong on purpose."""
    tag = varint((number << 3) | wire_type)
    if wire_type == 2:
        return tag + varint(len(payload)) + payload
    return tag + payload
