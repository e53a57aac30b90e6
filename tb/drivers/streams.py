"""Valid/ready stream models for cocotb 2 benches: source, sink, pause patterns, payload packing.

Structure after cocotbext-axi's stream framework (source/sink with pause generators), written for
cocotb 2 and for Amaranth's flattened stream ports: `<name>__valid`, `<name>__ready`,
`<name>__payload` (a struct payload is one packed vector, first field in the low bits). Bit offsets come
from the Amaranth layout, never hard-coded.

Transfer rule (Amaranth lib.stream): a beat moves at the rising edge where valid and ready are both high;
once valid is up the payload holds until then. The source samples `ready` in the ReadOnly phase just
before the edge, so it never changes valid or payload in reaction to ready within a cycle.
"""
from __future__ import annotations

import random
from collections.abc import Iterator

from amaranth.lib import data
from amaranth.hdl import Shape
from cocotb.triggers import ReadOnly, RisingEdge


# -- payload packing ------------------------------------------------------------------------------------

def pack(layout, value) -> int:
    """Pack a (nested) Python value into the integer of an Amaranth shape or layout.

    StructLayout takes a dict, ArrayLayout a sequence, a plain shape an int (signed values are wrapped
    to two's complement; a value that does not fit raises ValueError rather than being truncated).
    """
    if isinstance(layout, data.StructLayout):
        out = 0
        for name, field in layout:
            out |= pack(field.shape, value[name]) << field.offset
        return out
    if isinstance(layout, data.ArrayLayout):
        if len(value) != layout.length:
            raise ValueError(f"expected {layout.length} elements, got {len(value)}")
        ew = Shape.cast(layout.elem_shape).width
        return sum(pack(layout.elem_shape, v) << (i * ew) for i, v in enumerate(value))
    shape = Shape.cast(layout)
    v = int(value)
    lo, hi = (-(1 << (shape.width - 1)), 1 << (shape.width - 1)) if shape.signed else (0, 1 << shape.width)
    if not lo <= v < hi:
        raise ValueError(f"{v} does not fit {shape}")
    return v & ((1 << shape.width) - 1)


def unpack(layout, raw: int):
    """Inverse of `pack`: dict for StructLayout, list for ArrayLayout, int (sign-extended) otherwise."""
    if isinstance(layout, data.StructLayout):
        return {name: unpack(f.shape, raw >> f.offset) for name, f in layout}
    if isinstance(layout, data.ArrayLayout):
        ew = Shape.cast(layout.elem_shape).width
        return [unpack(layout.elem_shape, raw >> (i * ew)) for i in range(layout.length)]
    shape = Shape.cast(layout)
    v = raw & ((1 << shape.width) - 1)
    if shape.signed and v >> (shape.width - 1):
        v -= 1 << shape.width
    return v


# -- pause patterns -------------------------------------------------------------------------------------

def random_pauses(p_pause: float, seed: int) -> Iterator[bool]:
    """Endless seeded pattern: True means 'pause this cycle' with probability p_pause."""
    rng = random.Random(seed)
    while True:
        yield rng.random() < p_pause


def no_pauses() -> Iterator[bool]:
    while True:
        yield False


# -- source and sink ------------------------------------------------------------------------------------

class StreamSource:
    """Drives `<prefix>__valid/__payload` from a list of raw payload integers, with seeded gaps."""

    def __init__(self, dut, prefix: str, clk, pauses: Iterator[bool] | None = None):
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.clk = clk
        self.pauses = pauses or no_pauses()
        self.valid.value = 0
        self.sent = 0

    async def send(self, beats: list[int]) -> None:
        """Send every beat in order; returns after the last one has been transferred."""
        i, holding = 0, False        # holding: valid is up with beats[i] and must stay until transferred
        while i < len(beats):
            if not holding and next(self.pauses):
                self.valid.value = 0
                await RisingEdge(self.clk)
                continue
            self.payload.value = beats[i]
            self.valid.value = 1
            holding = True
            await ReadOnly()
            done = bool(self.ready.value)
            await RisingEdge(self.clk)
            if done:
                i += 1
                self.sent += 1
                holding = False
        self.valid.value = 0


class StreamSink:
    """Accepts beats from `<prefix>__valid/__payload`, driving `<prefix>__ready` with seeded back-pressure."""

    def __init__(self, dut, prefix: str, clk, pauses: Iterator[bool] | None = None):
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.clk = clk
        self.pauses = pauses or no_pauses()
        self.ready.value = 0

    async def recv(self, count: int, timeout_cycles: int = 1_000_000) -> list[int]:
        """Collect `count` raw payloads; fails if they do not arrive within timeout_cycles."""
        got: list[int] = []
        for _ in range(timeout_cycles):
            if len(got) == count:
                break
            self.ready.value = int(not next(self.pauses))
            await ReadOnly()
            if self.valid.value and self.ready.value:
                got.append(int(self.payload.value))
            await RisingEdge(self.clk)
        else:
            raise TimeoutError(f"{self.payload._name}: got {len(got)} of {count} beats")
        self.ready.value = 0
        return got
