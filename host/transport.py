"""Byte transports of the host driver: what the driver needs from a link, and two implementations.

Transport           the interface: write bytes; read one frame (up to and including the 0x00 delimiter)
                    within a timeout; pause (the time base of the link: wall clock on a real port,
                    simulated time in cocotb); close.
SerialTransport     a real serial port through pyserial (8N1, no flow control).
CallbackTransport   an in-process device: any object with `feed(bytes) -> bytes` (the bytes it sends back);
                    the golden board model (golden/link/board_model.py) in the fast tests. Replies are
                    there at once, so a read that finds no complete frame times out at once.

tb/drivers/uart_transport.py plugs the cocotb UART model in at the same place.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod

from contract.host_protocol import DELIMITER


class Transport(ABC):
    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send `data` (whole frames, or a lone delimiter)."""

    @abstractmethod
    def read_frame(self, timeout: float) -> bytes | None:
        """The next received frame, its delimiter included, or None when none completed within `timeout`
        seconds (the partial bytes stay buffered for the next call)."""

    def pause(self, seconds: float) -> None:
        """Let `seconds` of link time pass (polling interval)."""
        time.sleep(seconds)

    def discard_input(self) -> None:
        """Drop every byte received and not yet read."""

    def close(self) -> None:
        """Release the link."""


class SerialTransport(Transport):
    """A serial port (pyserial): `port` as pyserial names it (/dev/ttyUSB1, COM5), 8N1 at `baud`."""

    def __init__(self, port: str, baud: int):
        import serial  # only a real port needs pyserial
        self.ser = serial.Serial(port, baudrate=baud, bytesize=8, parity="N", stopbits=1, timeout=0.1)
        self._partial = b""

    def write(self, data: bytes) -> None:
        self.ser.write(bytes(data))
        self.ser.flush()

    def read_frame(self, timeout: float) -> bytes | None:
        self.ser.timeout = max(timeout, 0.0)
        got = self._partial + self.ser.read_until(DELIMITER)
        if got.endswith(DELIMITER):
            self._partial = b""
            return got
        self._partial = got
        return None

    def discard_input(self) -> None:
        self.ser.reset_input_buffer()
        self._partial = b""

    def close(self) -> None:
        self.ser.close()


class CallbackTransport(Transport):
    """An in-process device `device.feed(data) -> reply bytes`. `sent` and `received` count bytes."""

    def __init__(self, device):
        self.device = device
        self._rx = bytearray()
        self.sent = self.received = 0

    def write(self, data: bytes) -> None:
        self.sent += len(data)
        out = self.device.feed(bytes(data))
        self.received += len(out)
        self._rx += out

    def read_frame(self, timeout: float) -> bytes | None:
        k = self._rx.find(DELIMITER)
        if k < 0:
            return None
        frame = bytes(self._rx[:k + 1])
        del self._rx[:k + 1]
        return frame

    def pause(self, seconds: float) -> None:
        pass

    def discard_input(self) -> None:
        self._rx.clear()
