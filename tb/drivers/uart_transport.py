"""The host driver's transport over a simulated UART: host.transport.Transport on cocotbext-uart, so the
unchanged synchronous driver (host.driver.SBEBoard) talks to generated Verilog.

    dut.rx  <-- UartSource (host -> board)        dut.tx --> UartSink (board -> host)

The driver runs in a thread started with `cocotb.task.bridge` (`run_blocking`); each blocking transport call
hands an async twin to the simulator with `cocotb.task.resume` and blocks until it finishes, so no protocol
logic is duplicated and simulated time is the link's time: a read's timeout and a poll's pause are
seconds of simulated time. `write` returns when the last stop bit has left.

cocotbext-uart 0.1.4 works under cocotb 2.1 (tested by tests/cocotb_sim/test_host_link.py); it times
bits with Timer(int(1e9 / baud), "ns"), so at 3 Mbaud a bit is 333 ns instead of 333.3 ns (0.1 %,
far inside the receivers' tolerance).
"""
from __future__ import annotations

import logging

from cocotb.task import bridge, resume
from cocotb.triggers import Timer
from cocotb.utils import get_sim_time
from cocotbext.uart import UartSink, UartSource

from host.transport import DELIMITER, Transport


class UartTransport(Transport):
    """host.transport.Transport between a host thread and the simulated UART pins `rx` (the DUT's input)
    and `tx` (its output) at `baud`. `sent`/`received` count bytes; `log` keeps every frame both ways
    (("tx"|"rx", bytes)) for the bench's twin check and the protocol document."""

    def __init__(self, rx, tx, baud: int):
        self.source = UartSource(rx, baud=baud, bits=8, stop_bits=1)
        self.sink = UartSink(tx, baud=baud, bits=8, stop_bits=1)
        for side in (self.source, self.sink):       # a line per byte otherwise
            side.log.setLevel(logging.WARNING)
        self._rx = bytearray()
        self.sent = self.received = 0
        self.log: list[tuple[str, bytes]] = []

    # -- async core (simulator side) ---------------------------------------------------------------
    async def awrite(self, data: bytes) -> None:
        await self.source.write(bytes(data))
        await self.source.wait()
        self.sent += len(data)
        self.log.append(("tx", bytes(data)))

    async def aread_frame(self, timeout: float) -> bytes | None:
        deadline = get_sim_time("ns") + timeout * 1e9
        while DELIMITER[0] not in self._rx:
            left = int(deadline - get_sim_time("ns"))
            if left <= 0:
                return None
            await self.sink.wait(left, "ns")
            got = self.sink.read_nowait()
            self.received += len(got)
            self._rx += got
        k = self._rx.index(DELIMITER[0])
        frame = bytes(self._rx[:k + 1])
        del self._rx[:k + 1]
        self.log.append(("rx", frame))
        return frame

    async def apause(self, seconds: float) -> None:
        await Timer(max(1, round(seconds * 1e9)), "ns")

    # -- blocking front end (the driver's thread) --------------------------------------------------
    def write(self, data: bytes) -> None:
        resume(self.awrite)(data)

    def read_frame(self, timeout: float) -> bytes | None:
        return resume(self.aread_frame)(timeout)

    def pause(self, seconds: float) -> None:
        resume(self.apause)(seconds)

    def discard_input(self) -> None:
        self.sink.clear()
        self._rx.clear()


async def run_blocking(func, *args, **kwargs):
    """Run the blocking `func(*args, **kwargs)` (a host-driver session) in a cocotb bridge thread."""
    return await bridge(func)(*args, **kwargs)
