"""One request for each way a request can be bad (contract/host_protocol.py Err), as wire bytes, with the
error reply the board gives and the (cmd, seq) it echoes (golden/link/board_model.py fixes the echo and
the order of the checks). Shared by the fast tests against the board model and the cocotb bench against
the RTL, so both inject the same cases.

`bad_requests(a, b, seq, controller)` -> {name: (wire, Err, (cmd, seq))}; `controller` is the top's
ControllerConfig (register values one past each range) or None (a controller register gives BAD_REG).
"""
from __future__ import annotations

import struct

from contract.controller_config import ControllerConfig
from contract.host_protocol import REG_WRITE_FORMAT, SAMPLE_HEADER_FORMAT, Cmd, Err, Reg, crc16, encode, with_crc

frame = encode


def request(cmd: int, seq: int, payload: bytes = b"") -> bytes:
    return encode(with_crc(bytes([cmd, seq]) + payload))


def bad_requests(a: int, b: int, seq: int = 7, controller: ControllerConfig | None = None) -> dict:
    sample = struct.pack(SAMPLE_HEADER_FORMAT, 0, 0, 0) + bytes(2 * (a + b))
    body = bytes([Cmd.SAMPLE, seq]) + sample
    crc = crc16(body) ^ 0x0010

    def reg(r, v):
        return request(Cmd.WRITE_REG, seq, struct.pack(REG_WRITE_FORMAT, int(r), v & 0xFFFFFFFF))
    W = (Cmd.WRITE_REG, seq)
    cases = {
        "bad_crc": (frame(body + struct.pack("<H", crc)), Err.BAD_CRC, (Cmd.SAMPLE, seq)),
        "truncated_short": (frame(bytes([Cmd.STATUS, seq, 1])), Err.TRUNCATED, (Cmd.STATUS, seq)),
        "truncated_one_byte": (frame(bytes([Cmd.STATUS])), Err.TRUNCATED, (Cmd.STATUS, 0)),
        # a COBS block of 8 data bytes cut after 4 by the delimiter: not valid COBS (echo 0, 0)
        "truncated_bad_cobs": (bytes([9, Cmd.STATUS, seq, 1, 2, 0]), Err.TRUNCATED, (0, 0)),
        "unknown_cmd": (request(0x42, seq), Err.UNKNOWN_CMD, (0x42, seq)),
        "wrong_length": (request(Cmd.STATUS, seq, b"\x00"), Err.BAD_LENGTH, (Cmd.STATUS, seq)),
        # a SAMPLE one element short is BAD_LENGTH; one element long exceeds the longest request: TOO_LONG
        "sample_short_of_a_b": (request(Cmd.SAMPLE, seq, sample[:-2]), Err.BAD_LENGTH, (Cmd.SAMPLE, seq)),
        "sample_beyond_a_b": (request(Cmd.SAMPLE, seq, sample + b"\x01\x00"), Err.TOO_LONG, (Cmd.SAMPLE, seq)),
        "too_long": (request(Cmd.SAMPLE, seq, sample + bytes(300)), Err.TOO_LONG, (Cmd.SAMPLE, seq)),
        "register_unknown": (reg(9, 1), Err.BAD_REG, W),
        "register_read_only": (reg(Reg.BATCHES, 0), Err.BAD_REG, W),
        "sample_exponent_out_of_range": (request(Cmd.SAMPLE, seq, struct.pack(SAMPLE_HEADER_FORMAT, 1, 40, 0)
                                                 + bytes(2 * (a + b))), Err.BAD_VALUE, (Cmd.SAMPLE, seq)),
        "sample_flags_reserved": (request(Cmd.SAMPLE, seq, struct.pack(SAMPLE_HEADER_FORMAT, 2, 0, 0)
                                          + bytes(2 * (a + b))), Err.BAD_VALUE, (Cmd.SAMPLE, seq)),
        "read_update_not_ready": (request(Cmd.READ_UPDATE, seq), Err.NOT_READY, (Cmd.READ_UPDATE, seq)),
    }
    if controller is not None:
        k = controller
        cases.update({
            "bl_out_of_range": (reg(Reg.BL, 1 << k.bl_width), Err.BAD_VALUE, W),
            "lr_mant_out_of_range": (reg(Reg.LR_MANT, 1 << k.lr_width), Err.BAD_VALUE, W),
            "lr_exp_out_of_range": (reg(Reg.LR_EXP, -(1 << (k.lr_exp_width - 1)) - 1), Err.BAD_VALUE, W),
            "mode_out_of_range": (reg(Reg.MODE, 8), Err.BAD_VALUE, W),
        })
    else:
        cases["controller_register_absent"] = (reg(Reg.BL, 1), Err.BAD_REG, W)
    return cases
