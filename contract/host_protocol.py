"""Host link protocol between a host (the driver in host/) and a board top (hdl/link/): ONE definition.

Physical layer
    UART, 8 data bits, no parity, 1 stop bit, LSB first, idle high. Default BAUD = 3,000,000 (the FT2232H
    of the iCEBreaker and the FT231X of the ULX3S both carry 3 Mbaud); the top's clock must be at least
    4 x the baud rate (the receiver samples mid-bit), and clock/baud is rounded to an integer divisor
    whose error must stay below 2 % (checked when the top is built).

Framing
    Each frame is COBS-encoded (Cheshire & Baker 1999; the `cobs` package on the host) and ends with one
    0x00 delimiter byte. Bytes before the first delimiter after power-up or after an error are skipped.
    The decoded frame is

        request:  cmd (u8) | seq (u8) | payload (0..n bytes) | crc (u16)
        reply:    status (u8) | cmd (u8) | seq (u8) | payload | crc (u16)

    crc is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, not reflected, xorout 0; `crc.Crc16.IBM_3740`)
    over every decoded byte before it. All multi-byte fields, the crc included, are little-endian.
    A reply echoes the request's cmd and seq (0, 0 when the request was too short to have them).
    Every request gets exactly one reply; the board handles one request at a time, in order.

Bad input gets an error reply and changes nothing: the board acts on a request only after its crc
checked, and a SAMPLE is buffered whole before its first element enters the engine.

Checks, in this order (the first that applies is the reply; hdl/link/command_processor.py):
    an empty frame (two delimiters in a row) is no request: no reply (a host may send a delimiter first
    to resynchronise; it must, before its first frame after power-up);
    TRUNCATED (not valid COBS, or a UART framing error/overrun in the frame: echo 0, 0; fewer than 4
    decoded bytes: echo the cmd and seq bytes present, else 0), TOO_LONG, BAD_CRC, UNKNOWN_CMD, BAD_LENGTH,
    then per command: WRITE_REG BAD_REG, BAD_VALUE, BUSY; READ_REG BAD_REG; SAMPLE BAD_VALUE (flags other
    than LAST_OF_BATCH, a block exponent outside the engine's exp_width, an element outside in_width), BUSY;
    READ_UPDATE NOT_READY. An update is pending from the moment a LAST_OF_BATCH sample is accepted (the
    board answers READ_UPDATE once the engine has read it out). Controller registers are 0 at power-up.

Retries: every request may be sent again with the same effect as once, so a host that lost a reply
simply resends. READ_UPDATE does not consume the update: it stays readable (the same bytes) until the
next SAMPLE is accepted or CLEAR; it is no longer pending (UPDATE_READY) after its first read, which is
what lets the next SAMPLE in. A SAMPLE feeds the engine, so a host must not resend one whose reply it
lost before asking STATUS whether it was taken (the sample count; host/driver.py does).
"""
from __future__ import annotations

import struct
from enum import IntEnum, IntFlag

from cobs import cobs
from crc import Calculator, Crc16

#: Version of this protocol, reported by ID. Bump it on any change to this file's formats.
PROTOCOL_VERSION = 2
#: First bytes of the ID reply payload.
MAGIC = b"SBE"
#: Default UART rate (bits/s).
BAUD = 3_000_000
#: Longest decoded request the board accepts is MAX_FRAME_OVERHEAD + the longest payload
#: (a SAMPLE of its configuration); a longer frame is discarded and answered with TOO_LONG.
MAX_FRAME_OVERHEAD = 4          # cmd, seq, crc
REPLY_OVERHEAD = 5              # status, cmd, seq, crc


class Cmd(IntEnum):
    """Request codes. Payloads (request -> reply) in the formats below."""
    ID = 0x01           #: () -> ID_FORMAT: magic, version, the configuration the bitstream was built with
    WRITE_REG = 0x02    #: REG_WRITE_FORMAT (reg, value) -> ()
    READ_REG = 0x03     #: REG_READ_FORMAT (reg) -> VALUE_FORMAT (value)
    SAMPLE = 0x04       #: SAMPLE_HEADER_FORMAT + b x i16 (x) + a x i16 (delta) -> ()
    READ_UPDATE = 0x05  #: () -> UPDATE_HEADER_FORMAT (s_mant, s_exp) + a x i16 (Dhat) + b x i16 (Xhat)
    STATUS = 0x06       #: () -> STATUS_FORMAT
    CLEAR = 0x07        #: () -> (): engine (and controller) state reset, a pending update dropped


class Err(IntEnum):
    """Reply status codes. Anything but OK means the request changed nothing on the board."""
    OK = 0
    BAD_CRC = 1         #: the crc does not match
    TRUNCATED = 2       #: decoded frame shorter than MAX_FRAME_OVERHEAD, or not valid COBS
    UNKNOWN_CMD = 3     #: cmd is not a Cmd
    BAD_LENGTH = 4      #: payload length differs from the command's (a SAMPLE must match the built a, b)
    BUSY = 5            #: WRITE_REG while a batch is open or a write is running; SAMPLE while an update waits to be read
    NOT_READY = 6       #: READ_UPDATE with no update completed since the last read or clear
    BAD_REG = 7         #: register number unknown, or read-only, or not present in this top
    BAD_VALUE = 8       #: register value outside the register's range
    TOO_LONG = 9        #: decoded frame longer than the board's buffer


class Reg(IntEnum):
    """Registers (WRITE_REG/READ_REG), 32-bit values; signed ones two's complement.

    The controller registers exist only in tops with an update controller (BAD_REG otherwise); their
    meaning is hdl/controller/update_controller.py's ports of the same names, latched per update.
    """
    LR_MANT = 0         #: unsigned, lr_width bits: learning rate in device steps = lr_mant * 2**lr_exp
    LR_EXP = 1          #: signed, lr_exp_width bits
    BL = 2              #: unsigned, bl_width bits: pulse-train length (cap with BL management)
    MODE = 3            #: layouts.MODE_LAYOUT bits: det (bit 0), bl_mgmt (bit 1), two_phase (bit 2)
    BATCHES = 4         #: read-only: updates completed since power-up (wraps at 2**32)
    WRITES = 5          #: read-only: controller writes finished since power-up
    ERRORS = 6          #: read-only: error replies sent since power-up


READ_ONLY_REGS = frozenset({Reg.BATCHES, Reg.WRITES, Reg.ERRORS})
CONTROLLER_REGS = frozenset({Reg.LR_MANT, Reg.LR_EXP, Reg.BL, Reg.MODE, Reg.WRITES})


class StatusFlag(IntFlag):
    """`flags` of the STATUS reply."""
    ENGINE_BUSY = 1         #: a batch is open or the engine is reading out
    UPDATE_READY = 2        #: a completed update waits for READ_UPDATE
    SATURATED = 4           #: engine: a state element saturated (sticky until CLEAR)
    FRAMING_ERROR = 8       #: engine: the sample stream broke its framing (sticky until CLEAR)
    CONTROLLER_BUSY = 16    #: a rank-1 write is being loaded or played
    HAS_CONTROLLER = 32     #: this top has an update controller


class SampleFlag(IntFlag):
    LAST_OF_BATCH = 1       #: this sample closes the batch: the engine computes and emits the update


#: ID reply fields after the magic, in order (ID_FORMAT): the protocol version, the engine's
#: configuration (contract.engine_config.EngineConfig fields: every one that changes a result, so a host
#: can build the board's golden twin from the reply), the controller's (0s without one), the top's clock
#: (Hz) and baud rate (bits/s).
ID_FIELDS = ("version", "a", "b", "lanes", "in_width", "elem_width", "s_mant_width", "s_exp_width", "max_batch",
             "has_controller", "bl_width", "lr_width", "lr_exp_width", "clock_hz", "baud",
             "exp_width", "x_frac", "delta_frac", "state_width", "coef_width", "mant_width", "fexp_width",
             "seed_bits")
ID_FORMAT = "<3sBHHBBBBBHBBBBII" + "B" * 8
REG_WRITE_FORMAT = "<BI"
REG_READ_FORMAT = "<B"
VALUE_FORMAT = "<I"
#: SAMPLE header: flags (SampleFlag), x block exponent (i8), delta block exponent (i8); then x then delta,
#: each element an i16 holding a signed in_width-bit integer (sign-extended).
SAMPLE_HEADER_FORMAT = "<Bbb"
#: READ_UPDATE header: s_mant (i32, sign-extended from s_mant_width), s_exp (i16); then Dhat then Xhat,
#: each an i16 holding a signed elem_width-bit Q1.(elem_width-1) value.
UPDATE_HEADER_FORMAT = "<ih"
#: STATUS reply: flags (StatusFlag), the controller's Status bits of its last write (enums.Status),
#: samples in the open batch, updates completed, controller writes finished, error replies sent.
STATUS_FORMAT = "<HBHIII"
ELEMENT_FORMAT = "<h"


def sample_payload_length(a: int, b: int) -> int:
    """Bytes of a SAMPLE payload for an a x b layer."""
    return struct.calcsize(SAMPLE_HEADER_FORMAT) + 2 * (a + b)


def update_payload_length(a: int, b: int) -> int:
    """Bytes of a READ_UPDATE reply payload for an a x b layer."""
    return struct.calcsize(UPDATE_HEADER_FORMAT) + 2 * (a + b)


def max_request_length(a: int, b: int) -> int:
    """Longest decoded request (the SAMPLE frame) a board built for a x b accepts."""
    return MAX_FRAME_OVERHEAD + sample_payload_length(a, b)


#: Fixed payload lengths of the requests (SAMPLE's depends on a, b: sample_payload_length).
REQUEST_PAYLOAD_LENGTH = {
    Cmd.ID: 0, Cmd.WRITE_REG: struct.calcsize(REG_WRITE_FORMAT), Cmd.READ_REG: struct.calcsize(REG_READ_FORMAT),
    Cmd.READ_UPDATE: 0, Cmd.STATUS: 0, Cmd.CLEAR: 0,
}


#: Frame delimiter on the wire.
DELIMITER = b"\x00"
#: CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, not reflected, xorout 0 (the `crc` package calls it
#: IBM_3740; its check value over b"123456789" is 0x29B1, tested).
_CRC = Calculator(Crc16.IBM_3740)


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE of `data`."""
    return _CRC.checksum(bytes(data))


def with_crc(body: bytes) -> bytes:
    """`body` followed by its crc, little-endian."""
    return bytes(body) + struct.pack("<H", crc16(body))


def encode(decoded: bytes) -> bytes:
    """A decoded frame as it goes on the wire: COBS, then the 0x00 delimiter."""
    return cobs.encode(bytes(decoded)) + DELIMITER


def id_payload(eng, ctrl, clk_hz: int, baud: int) -> bytes:
    """The ID reply payload (ID_FORMAT) of a top built with engine configuration `eng`
    (contract.engine_config.EngineConfig), controller configuration `ctrl` (ControllerConfig or None),
    clock `clk_hz` and UART rate `baud`. The command processor's ROM and the board's golden model both
    come from here."""
    values = dict(version=PROTOCOL_VERSION, has_controller=int(ctrl is not None), clock_hz=int(clk_hz), baud=int(baud),
                  **{f: getattr(eng, f) for f in ID_FIELDS if hasattr(eng, f) and f not in ("version", "baud")},
                  **{f: (getattr(ctrl, f) if ctrl is not None else 0) for f in ("bl_width", "lr_width", "lr_exp_width")})
    return struct.pack(ID_FORMAT, MAGIC, *(values[f] for f in ID_FIELDS))
