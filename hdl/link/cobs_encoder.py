"""Streaming COBS encoder (contract/host_protocol.py framing): frame bytes in, encoded bytes and the 0x00
delimiter out.

Non-zero bytes are collected in a 254-byte block buffer (one block RAM); a block is sent as its code
byte (block length + 1) then the buffered bytes when a zero byte arrives (the zero is implied), when 254
bytes are buffered (code 0xFF, no implied zero), or at the frame's `last` byte. A frame that ends with a
zero byte gets a final empty block (code 0x01). After the last block, the delimiter 0x00. This is the
encoding of the `cobs` package (cobs.cobs.encode) followed by b"\\x00".

Ports
-----
i : In(stream({data: 8, last: 1}))   frame bytes; `last` on the frame's last byte (frames are not empty)
o : Out(stream(8))                   encoded bytes
Latency: a block is held until it closes; while a block is sent (code + its bytes, one per cycle) the
input waits. Input and output never run at the same time, so the buffer has one port of each kind.
"""

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

FRAME_BYTE_LAYOUT = data.StructLayout({"data": 8, "last": 1})
BLOCK = 254


class COBSEncoder(wiring.Component):
    i: In(stream.Signature(FRAME_BYTE_LAYOUT))
    o: Out(stream.Signature(8))

    def elaborate(self, platform):
        m = Module()
        m.submodules.buf = buf = Memory(shape=unsigned(8), depth=BLOCK, init=[], attrs={"no_rw_check": 1})
        wr, rd = buf.write_port(), buf.read_port()
        # no_rw_check (no read-during-write bypass in Yosys's mapping): rd.data is used in DATA only, read
        # in CODE/DATA where nothing is written; `buffer_ports` (name, read, write, data used) for the tests
        used = Signal()
        self.buffer_ports = [("buf", rd, wr, used)]
        n = Signal(range(BLOCK + 1))        # bytes buffered; a block's code byte is n + 1 (0xFF when full)
        idx = Signal(range(BLOCK + 1))      # next buffered byte to send; rd.data is the byte at idx
        idx_next = Signal.like(idx)         # rd.addr: idx's next value, so the read latency costs no cycle
        after = Signal(2)                   # after the block: 0 fill, 1 empty tail block then delimiter, 2 delimiter
        fire_i = self.i.valid & self.i.ready
        fire_o = self.o.valid & self.o.ready
        d, last = self.i.payload.data, self.i.payload.last
        m.d.comb += [wr.addr.eq(n), wr.data.eq(d), rd.addr.eq(idx_next), idx_next.eq(idx)]
        m.d.sync += idx.eq(idx_next)
        with m.FSM():
            with m.State("FILL"):
                m.d.comb += [self.i.ready.eq(1), idx_next.eq(0)]
                with m.If(fire_i):
                    with m.If(d == 0):
                        m.d.sync += after.eq(Mux(last, 1, 0))
                        m.next = "CODE"
                    with m.Else():
                        m.d.comb += wr.en.eq(1)
                        m.d.sync += n.eq(n + 1)
                        with m.If(n == BLOCK - 1):
                            m.d.sync += after.eq(Mux(last, 2, 0))
                            m.next = "CODE"
                        with m.Elif(last):
                            m.d.sync += after.eq(2)
                            m.next = "CODE"
            with m.State("CODE"):
                m.d.comb += [self.o.valid.eq(1), self.o.payload.eq(n + 1)]
                with m.If(fire_o):
                    with m.If(n == 0):
                        m.next = "NEXT"
                    with m.Else():
                        m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += [self.o.valid.eq(1), self.o.payload.eq(rd.data), used.eq(1)]
                with m.If(fire_o):
                    m.d.comb += idx_next.eq(idx + 1)
                    with m.If(idx + 1 == n):
                        m.next = "NEXT"
            with m.State("NEXT"):
                m.d.sync += n.eq(0)
                with m.If(after == 0):
                    m.next = "FILL"
                with m.Elif(after == 1):
                    m.d.sync += after.eq(2)
                    m.next = "CODE0"
                with m.Else():
                    m.next = "DELIM"
            with m.State("CODE0"):                   # the empty tail block
                m.d.comb += [self.o.valid.eq(1), self.o.payload.eq(1)]
                with m.If(fire_o):
                    m.next = "DELIM"
            with m.State("DELIM"):
                m.d.comb += [self.o.valid.eq(1), self.o.payload.eq(0)]
                with m.If(fire_o):
                    m.next = "FILL"
        return m
