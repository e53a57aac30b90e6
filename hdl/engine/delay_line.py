"""A pipeline delay line in block RAM: `delay` registers advancing together on `en`, for the iCE40 builds."""
from __future__ import annotations

from amaranth import Module, Signal, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from contract.checks import check_int


class DelayLine(wiring.Component):
    """`q` is `d` delayed by `delay` advances (`en`): the last of a chain of `delay` registers loaded on
    `en`, as a circular buffer in one block RAM (iCE40 SB_RAM40_4K, 16 bits wide: ceil(width/16) of them).

    Why: on an iCE40 a pipeline register that no LUT feeds takes a logic cell of its own; a delay line of
    `delay` x `width` such registers costs that many cells, the block RAM none. The price is speed (a
    block-RAM read is slower than a register) and its reset: the registers of the chain it replaces reset
    to 0, the buffer keeps its words (the caller qualifies what comes out with a tag that does reset).

    Every advance writes `d` at the write pointer `wp` and reads the word written `delay` - 1 advances
    before (address wp - (delay - 1), a registered read port enabled by `en`, so `q` holds while `en` is
    low, like the registers), then moves `wp` on. The read address is never the written one (`no_rw_check`:
    Yosys adds no read-during-write bypass). The buffer holds `depth` = 2**k >= delay words (at
    least MIN_DEPTH, so the synthesis maps it to block RAM rather than flip-flops).

    Parameters
    ----------
    width : int
        Bits of `d` and `q`, 1..64.
    delay : int
        Advances from `d` to `q`, 2..64 (one register is a register: use one).

    Ports
    -----
    en : In(1)
        Advance.
    d : In(width)
        The word entering the chain (as the D input of its first register).
    q : Out(width)
        The word `delay` advances ago (as the Q output of its last register; from the block RAM's read
        register). Latency: `delay` advances; after a reset, `q` is undefined until `delay` advances.
    """

    MIN_DEPTH = 16

    def __init__(self, width: int, delay: int):
        self.width = check_int("width", width, 1, 64)
        self.delay = check_int("delay", delay, 2, 64)
        self.depth = max(self.MIN_DEPTH, 1 << (self.delay - 1).bit_length())
        super().__init__({"en": In(1), "d": In(unsigned(width)), "q": Out(unsigned(width))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.buf = buf = memory.Memory(shape=unsigned(self.width), depth=self.depth, init=[],
                                               attrs={"ram_style": "block", "no_rw_check": 1})
        wr = buf.write_port()
        rd = buf.read_port()
        wp = Signal(range(self.depth))
        m.d.comb += [wr.en.eq(self.en), wr.addr.eq(wp), wr.data.eq(self.d),
                     rd.en.eq(self.en), rd.addr.eq((wp - (self.delay - 1))[:len(wp)]),
                     self.q.eq(rd.data)]
        with m.If(self.en):
            m.d.sync += wp.eq(wp + 1)
        return m
