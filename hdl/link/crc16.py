"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, not reflected, xorout 0; `crc.Crc16.IBM_3740` on the
host), one byte per cycle, as contract/host_protocol.py frames use it.

`crc16_byte(crc, byte)` is the combinational next value (an XOR network of depth ~3 LUT4,
derived from the bit loop of crc16_ref); `CRC16` holds the running value.

Ports of CRC16
--------------
data  : In(8)    byte to add
en    : In(1)    add `data` at the clock edge
init  : In(1)    restart at 0xFFFF (wins over en)
value : Out(16)  CRC of the bytes added since the last init (registered)
"""

from functools import reduce
from operator import xor

from amaranth import Cat, Const, Module, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

POLY, INIT = 0x1021, 0xFFFF


def crc16_byte(crc, byte) -> Value:
    """Next CRC after `byte` (Amaranth values), MSB of the byte first, as its XOR network.

    The byte step is linear over GF(2) in (crc, byte), so each next-CRC bit is the XOR of the crc and byte
    bits whose unit vectors set it in crc16_ref: depth ~3 LUT4. (Not the 8 unrolled Mux steps: each step
    refers to the previous one three times and Amaranth's Verilog writes every reference out, 3**8 copies.)
    """
    c = Value.cast(crc)[:16]
    b = Value.cast(byte)[:8]
    out = []
    for k in range(16):
        terms = [c[i] for i in range(16) if _step(1 << i, 0) >> k & 1]
        terms += [b[j] for j in range(8) if _step(0, 1 << j) >> k & 1]
        out.append(reduce(xor, terms) if terms else Const(0, 1))
    return Cat(*out)


def _step(crc: int, byte: int) -> int:
    return crc16_ref(bytes([byte]), crc)


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
