"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, not reflected, xorout 0; `crc.Crc16.IBM_3740` on the
host), one byte per cycle, as contract/host_protocol.py frames use it.

`crc16_byte(crc, byte)` is the combinational next value (8 unrolled bit steps, MSB first: an XOR network
of depth ~3 LUTs); `CRC16` holds the running value.

Ports of CRC16
--------------
data  : In(8)    byte to add
en    : In(1)    add `data` at the clock edge
init  : In(1)    restart at 0xFFFF (wins over en)
value : Out(16)  CRC of the bytes added since the last init (registered)
"""

from amaranth import Module, Mux, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

POLY, INIT = 0x1021, 0xFFFF


def crc16_byte(crc, byte) -> Value:
    """Next CRC after `byte` (Amaranth values or ints), MSB of the byte first."""
    c = Value.cast(crc)[:16]
    b = Value.cast(byte)[:8]
    c = c ^ (b << 8)
    for _ in range(8):
        c = Mux(c[15], (c << 1) ^ POLY, c << 1)[:16]
    return c


def crc16_ref(data: bytes, crc: int = INIT) -> int:
    """Software twin (the same bit loop), for tests and the ID constant bytes."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ POLY if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


class CRC16(wiring.Component):
    data: In(8)
    en: In(1)
    init: In(1)
    value: Out(16, init=INIT)

    def elaborate(self, platform):
        m = Module()
        with m.If(self.init):
            m.d.sync += self.value.eq(INIT)
        with m.Elif(self.en):
            m.d.sync += self.value.eq(crc16_byte(self.value, self.data))
        return m
