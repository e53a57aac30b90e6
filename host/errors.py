"""Exceptions of the host driver: one per error reply code (contract.host_protocol.Err), a common base, a
timeout and a malformed-reply exception.

    LinkError                      every failure of the link or the board
      BoardError                   the board answered with an error status (.status, .cmd, .seq)
        BadCrcError ... TooLongError   one class per Err code (ERROR_CLASSES)
      LinkTimeout                  no (valid) reply within the timeout, retries exhausted; also a TimeoutError
      ReplyError                   a reply that is not what the protocol allows (payload length, echo)

A BoardError means the request changed nothing on the board (the protocol's guarantee).
"""
from __future__ import annotations

from contract.host_protocol import Cmd, Err


class LinkError(Exception):
    """Base class of every exception the host driver raises about the link or the board."""


class BoardError(LinkError):
    """The board answered a request with an error status; the request changed nothing."""

    status: Err = None  # set on each subclass

    def __init__(self, cmd: int, seq: int, detail: str = ""):
        self.cmd, self.seq = cmd, seq
        try:
            name = Cmd(cmd).name
        except ValueError:
            name = f"0x{cmd:02x}"
        super().__init__(f"board replied {self.status.name} to {name} (seq {seq})" + (f": {detail}" if detail else ""))


class BadCrcError(BoardError):
    """The board saw a crc mismatch (the request was corrupted on the way)."""
    status = Err.BAD_CRC


class TruncatedError(BoardError):
    """The board decoded a frame shorter than cmd, seq, crc, or one that is not valid COBS."""
    status = Err.TRUNCATED


class UnknownCommandError(BoardError):
    status = Err.UNKNOWN_CMD


class BadLengthError(BoardError):
    """Payload length differs from the command's (a SAMPLE must match the board's a and b)."""
    status = Err.BAD_LENGTH


class BusyError(BoardError):
    """WRITE_REG while a batch is open or a write runs; SAMPLE while an update waits to be read."""
    status = Err.BUSY


class NotReadyError(BoardError):
    """READ_UPDATE with no completed update since the last read or clear."""
    status = Err.NOT_READY


class BadRegisterError(BoardError):
    """Register unknown, read-only, or not present in this top (controller registers on an engine-only top)."""
    status = Err.BAD_REG


class BadValueError(BoardError):
    """A value outside its range (a register value; a SAMPLE's flags, block exponents or elements)."""
    status = Err.BAD_VALUE


class TooLongError(BoardError):
    """The decoded frame was longer than the board's buffer."""
    status = Err.TOO_LONG


#: Err code -> exception class (every code but OK).
ERROR_CLASSES: dict[Err, type[BoardError]] = {c.status: c for c in (
    BadCrcError, TruncatedError, UnknownCommandError, BadLengthError, BusyError, NotReadyError,
    BadRegisterError, BadValueError, TooLongError)}


class LinkTimeout(LinkError, TimeoutError):
    """No valid reply within the timeout, after every retry."""


class ReplyError(LinkError):
    """A reply the protocol does not allow (bad crc on the reply after every retry, wrong payload length)."""
