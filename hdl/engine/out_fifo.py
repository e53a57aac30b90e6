"""The vector datapath's output FIFO: amaranth.lib.fifo.SyncFIFOBuffered's behaviour, its block RAM marked
`no_rw_check` (hdl/engine/vector_datapath.py)."""
from __future__ import annotations

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from contract.checks import check_int


class OutFIFO(wiring.Component):
    """A synchronous FIFO of `depth` words with a registered output, cycle for cycle the same as
    amaranth.lib.fifo.SyncFIFOBuffered(width=width, depth=depth) (tests/amaranth_sim/test_out_fifo.py
    compares them): a block-RAM buffer of depth - 1 words and the RAM's read register as the output stage.

    Why not SyncFIFOBuffered itself: its buffer's read port is not transparent, and Yosys cannot tell that
    the read never meets the write of the same word, so it adds a read-during-write bypass around the
    block RAM (a register per bit for the write data, one for the address match, a select per bit: about
    2 x width iCE40 logic cells). Here the buffer carries `no_rw_check`: its read and write addresses
    are equal only when it is empty or full (no write, `w_rdy` low); the read of an empty buffer loads a
    word nobody reads (r_rdy stays low, and the word is read again the next cycle), so a read that meets
    a write may return either value.

    Parameters
    ----------
    width : int
        Bits per word, 1..256.
    depth : int
        Words held (the output stage included), 2..1024.
    gate_writes : bool
        True (default): a write while full (`w_rdy` low) is ignored, as SyncFIFOBuffered does. False: the
        caller never writes while full (the engine's read-out credits guarantee it, and its formal proof
        asserts it: flow/formal_props/engine.py), so `w_en` writes unconditionally and the level is off
        the write path: at L = 4 on the ECP5 the level -> w_rdy -> write -> level loop, behind the route
        from the datapath's stage-12 tag, was the engine's worst path (8.5 ns).

    Ports
    -----
    w_en, w_data : In(1), In(width)
        Write (ignored while `w_rdy` is low, with `gate_writes`; else never while it is low).
    w_rdy : Out(1)
        Not full.
    r_en : In(1)
        Take the output word (when `r_rdy`).
    r_data, r_rdy : Out(width), Out(1)
        The oldest word (a register: the RAM's read data), valid while `r_rdy`.
    level : Out(range(depth + 1))
        Words held.
    empty : Out(1)
        level == 0, from the registers directly (no adder in front of a compare: the datapath's bypass
        decision reads it, and through `level` it was the L = 4 engine's worst ECP5 path, 9.5 ns). Latency: a word written into an empty FIFO is on `r_data` 2 cycles later.

    After elaboration, `buffer_state` is (buffer level, write pointer, read pointer) and `invariants()`
    states what holds of them in every reachable state (the formal proofs assert it).
    """

    def __init__(self, width: int, depth: int, *, gate_writes: bool = True):
        self.width = check_int("width", width, 1, 256)
        self.depth = check_int("depth", depth, 2, 1024)
        if not isinstance(gate_writes, bool):
            raise TypeError(f"gate_writes must be True or False, not {gate_writes!r}")
        self.gate_writes = gate_writes
        super().__init__({
            "w_en": In(1), "w_data": In(unsigned(width)), "w_rdy": Out(1),
            "r_en": In(1), "r_data": Out(unsigned(width)), "r_rdy": Out(1),
            "level": Out(range(depth + 1)), "empty": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        inner = self.depth - 1
        m.submodules.storage = storage = memory.Memory(shape=unsigned(self.width), depth=inner, init=[],
                                                       attrs={"no_rw_check": 1})
        wr, rd = storage.write_port(), storage.read_port()
        level = Signal(range(inner + 1), name="inner_level")
        produce, consume = Signal(range(inner)), Signal(range(inner))
        do_write = Signal()
        do_read = Signal()               # RAM -> output stage
        write_ok = self.w_rdy if self.gate_writes else 1
        m.d.comb += [self.w_rdy.eq(level != inner), do_write.eq(write_ok & self.w_en),
                     do_read.eq((level != 0) & (~self.r_rdy | self.r_en)),
                     wr.addr.eq(produce), wr.data.eq(self.w_data), wr.en.eq(do_write),
                     rd.addr.eq(consume), rd.en.eq(~self.r_rdy | self.r_en), self.r_data.eq(rd.data),
                     self.level.eq(level + self.r_rdy), self.empty.eq((level == 0) & ~self.r_rdy)]
        # The read register loads whenever the output stage is free or being taken, also from an empty
        # buffer (a stale word while r_rdy stays low: nobody reads it), so its enable, which fans out to
        # every data bit, does not wait for the level: at L = 4 on the ECP5 the level -> do_read -> level
        # loop through that fan-out was the engine's worst path (8.35 ns, two 2.5 ns routes).
        self.buffer_state = (level, produce, consume)     # (for invariants(), tests)

        with m.If(do_write):
            m.d.sync += produce.eq(Mux(produce == inner - 1, 0, produce + 1))
        with m.If(do_read):
            m.d.sync += consume.eq(Mux(consume == inner - 1, 0, consume + 1))
        with m.If(do_write & ~do_read):
            m.d.sync += level.eq(level + 1)
        with m.If(do_read & ~do_write):
            m.d.sync += level.eq(level - 1)
        with m.If(do_read):
            m.d.sync += self.r_rdy.eq(1)
        with m.Elif(self.r_en):
            m.d.sync += self.r_rdy.eq(0)
        return m

    def invariants(self) -> list[tuple]:
        """After elaboration: (condition, message) pairs on the internal state that hold in every reachable
        state (flow/formal_props asserts them, so a k-induction does not start from a state the FIFO
        cannot reach; tests/amaranth_sim/test_out_fifo.py checks them every cycle). The buffer's level
        is at most its depth (so `level` = buffer + output stage does not wrap), the pointers are in
        range, the write pointer leads the read pointer by the buffer's level (modulo its depth), and
        the output stage is empty only with at most one word buffered (it is refilled the cycle after a
        word reaches the buffer: so a full FIFO has its output stage full, `level` = depth)."""
        if not hasattr(self, "buffer_state"):
            raise RuntimeError("OutFIFO.invariants() names signals made by elaborate(): elaborate the FIFO "
                               "first (flow/formal_props/common.py Elaborated)")
        level, produce, consume = self.buffer_state
        inner = self.depth - 1
        lead = Mux(produce >= consume, produce - consume, produce + inner - consume)
        return [(level <= inner, "out FIFO: buffer level above its depth"),
                (produce < inner, "out FIFO: write pointer out of range"),
                (consume < inner, "out FIFO: read pointer out of range"),
                ((lead == level) | ((lead == 0) & (level == inner)), "out FIFO: pointers disagree with the level"),
                (self.r_rdy | (level <= 1), "out FIFO: output stage empty behind more than one buffered word")]
