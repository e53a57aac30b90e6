"""cocotb: a behavioural crossbar (golden/arrays/crossbar.py) on the pulse outputs of an update controller.

`CrossbarDriver(dut, xb, prefix)` watches `<prefix>slot`, `<prefix>row_fire/row_pol/col_fire/col_pol`,
drives `<prefix>slot_ready` (seeded stalls: probability `p_stall` per cycle) and applies every slot
taken (slot & slot_ready on a rising edge) to the array, as line drivers would. It also counts
`<prefix>done` strobes and keeps the `<prefix>status` of each (read the cycle after the strobe, when the
controller has registered it). The bench's per-cycle loop calls
`drive_ready()` after each rising edge and `sample()` in the read-only phase (one loop for every
array and stream of a bench: cocotb's cost per await sets the simulation speed).
"""
from __future__ import annotations

import random

from cocotb.triggers import Event, RisingEdge

from tb.stimulus import bits


class CrossbarDriver:
    def __init__(self, dut, xb, prefix: str = "", *, p_stall: float = 0.0, seed: int = 1):
        self.xb, self.p_stall, self.rng = xb, p_stall, random.Random(seed)
        sig = lambda name: getattr(dut, prefix + name)   # noqa: E731
        self.slot, self.ready, self.done_sig, self.status_sig = sig("slot"), sig("slot_ready"), sig("done"), \
            sig("status")
        self.lines = [sig("row_fire"), sig("row_pol"), sig("col_fire"), sig("col_pol")]
        self.clk = dut.clk
        self.slots = 0            # slots applied
        self.cycles = 0
        self.statuses: list[int] = []
        self.done_event = Event()
        self._ready = False
        self._done_seen = False
        self.ready.value = 0

    def drive_ready(self) -> None:
        """After a rising edge: this cycle's slot_ready (seeded stalls)."""
        self._ready = self.rng.random() >= self.p_stall
        self.ready.value = int(self._ready)
        self.cycles += 1

    def sample(self) -> None:
        """In the read-only phase of the same cycle: apply a slot taken, note a done strobe."""
        if self._ready and self.slot.value == 1:
            a, b = self.xb.a, self.xb.b
            rf, rp, cf, cp = (bits(s.value, n) for s, n in zip(self.lines, (a, a, b, b)))
            self.xb.apply_slot(rf, rp, cf, cp)
            self.slots += 1
        if self._done_seen:            # status is registered at the edge that ends the done cycle
            self.statuses.append(int(self.status_sig.value))
            self.done_event.set()
        self._done_seen = self.done_sig.value == 1

    async def wait_done(self, count: int) -> None:
        """Until `count` updates have finished since the start; returns after the next rising edge (out
        of the read-only phase the done strobe was seen in, so the caller may drive signals)."""
        while len(self.statuses) < count:
            self.done_event.clear()
            await self.done_event.wait()
        await RisingEdge(self.clk)

