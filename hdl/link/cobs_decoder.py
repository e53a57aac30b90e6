"""Streaming COBS decoder (contract/host_protocol.py framing): encoded bytes in, decoded frame bytes out.

Every 0x00 on `i` ends a frame and produces one `end` beat (no data). Decoding: a code byte c (1..255)
is followed by c-1 data bytes; a zero is implied after the block unless c = 255 or the frame ends
there. The implied zero is emitted when the next code byte arrives (only then is it known that the
frame goes on). `error` on the end beat marks a frame that is not valid COBS (the delimiter came inside
a block) or during which `rx_error` was seen (a UART framing error or overrun: a byte is missing).
Bytes before the first delimiter after reset are skipped (the line may have been caught mid-frame).
An empty frame (two delimiters in a row) gives an end beat with nothing before it.

Ports
-----
i        : In(stream(8))                        encoded bytes from the UART
o        : Out(stream({data: 8, end: 1, error: 1}))   decoded bytes, then the end beat of the frame
rx_error : In(1)                                strobe: a byte of the current frame was lost
Throughput: one input byte per cycle (a code byte after an implied zero: one cycle for the zero);
combinational from i to o (valid/payload) and from o.ready to i.ready.
"""

from amaranth import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

DECODED_LAYOUT = data.StructLayout({"data": 8, "end": 1, "error": 1})


class COBSDecoder(wiring.Component):
    i: In(stream.Signature(8))
    o: Out(stream.Signature(DECODED_LAYOUT))
    rx_error: In(1)

    def elaborate(self, platform):
        m = Module()
        synced = Signal()           # a delimiter has been seen since reset
        count = Signal(8)           # data bytes left in the current block + 1 (the code byte as loaded:
        #                             no subtractor); 0 or 1: the next byte is a code
        zero = Signal()             # a zero is owed before the next block
        bad = Signal()              # rx_error seen in this frame
        byte = self.i.payload
        fire_o = self.o.valid & self.o.ready
        with m.If(self.rx_error):
            m.d.sync += bad.eq(1)
        with m.If(~synced):
            m.d.comb += self.i.ready.eq(1)
            with m.If(self.i.valid & (byte == 0)):
                m.d.sync += [synced.eq(1), count.eq(0), zero.eq(0), bad.eq(0)]
        with m.Elif(byte == 0):                                  # delimiter: the end beat
            m.d.comb += [self.o.valid.eq(self.i.valid), self.o.payload.end.eq(1),
                         self.o.payload.error.eq(bad | self.rx_error | (count[1:] != 0)), self.i.ready.eq(self.o.ready)]
            with m.If(fire_o):
                m.d.sync += [count.eq(0), zero.eq(0), bad.eq(0)]
        with m.Elif(count[1:] == 0):                             # code byte
            with m.If(zero):                                     # the owed zero goes out as the code is taken
                m.d.comb += [self.o.valid.eq(self.i.valid), self.o.payload.data.eq(0),
                             self.i.ready.eq(self.o.ready)]
            with m.Else():
                m.d.comb += self.i.ready.eq(1)
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += [count.eq(byte), zero.eq(byte != 0xFF)]
        with m.Else():                                           # data byte
            m.d.comb += [self.o.valid.eq(self.i.valid), self.o.payload.data.eq(byte), self.i.ready.eq(self.o.ready)]
            with m.If(fire_o):
                m.d.sync += count.eq(count - 1)
        return m
