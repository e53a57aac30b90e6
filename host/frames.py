"""Frame codec of the host side (contract/host_protocol.py): COBS framing with the `cobs` package and
CRC-16/CCITT-FALSE with the `crc` package. Sans-IO: bytes in, bytes out, nothing is sent here.

    request (decoded):  cmd u8 | seq u8 | payload | crc u16 LE       -> COBS-encoded, then one 0x00
    reply   (decoded):  status u8 | cmd u8 | seq u8 | payload | crc u16 LE
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from cobs import cobs

from contract.host_protocol import DELIMITER, MAX_FRAME_OVERHEAD, REPLY_OVERHEAD, crc16, encode, with_crc

def encode_request(cmd: int, seq: int, payload: bytes = b"") -> bytes:
    """The wire bytes of one request."""
    return encode(with_crc(bytes([cmd & 0xFF, seq & 0xFF]) + bytes(payload)))


class FrameError(ValueError):
    """A received frame that is not valid COBS, too short, or fails its crc."""


@dataclass(frozen=True)
class Reply:
    status: int
    cmd: int
    seq: int
    payload: bytes


def decode_reply(wire: bytes) -> Reply:
    """One received frame (its bytes, with or without the trailing delimiter) as a Reply; FrameError if
    it is not valid COBS, shorter than status, cmd, seq, crc, or its crc does not match."""
    body = bytes(wire).rstrip(DELIMITER) if wire.endswith(DELIMITER) else bytes(wire)
    try:
        frame = cobs.decode(body)
    except cobs.DecodeError as e:
        raise FrameError(f"reply is not valid COBS: {e}") from None
    if len(frame) < REPLY_OVERHEAD:
        raise FrameError(f"reply of {len(frame)} bytes, shorter than the {REPLY_OVERHEAD}-byte minimum")
    (got,) = struct.unpack("<H", frame[-2:])
    if crc16(frame[:-2]) != got:
        raise FrameError(f"reply crc 0x{got:04x} does not match 0x{crc16(frame[:-2]):04x}")
    return Reply(frame[0], frame[1], frame[2], frame[3:-2])


def decode_request(wire: bytes) -> tuple[int, int, bytes]:
    """(cmd, seq, payload) of one request frame (for tests and the protocol document); FrameError as
    decode_reply."""
    body = bytes(wire)[:-1] if wire.endswith(DELIMITER) else bytes(wire)
    try:
        frame = cobs.decode(body)
    except cobs.DecodeError as e:
        raise FrameError(f"request is not valid COBS: {e}") from None
    if len(frame) < MAX_FRAME_OVERHEAD or crc16(frame[:-2]) != struct.unpack("<H", frame[-2:])[0]:
        raise FrameError("request too short or bad crc")
    return frame[0], frame[1], frame[2:-2]
