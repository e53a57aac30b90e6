"""Fibonacci LFSR with a multi-step leap per enable: the random source of each pulse line.

Polynomials, leap and seed rule: contract/lfsr.py; bit-exact golden twin: golden/rtl/lfsr.py.
`leap_value` is the combinational leap (the XOR network of `steps` unrolled single steps), used by every
line of the update controller (hdl/controller/line_cell.py) and by its slot gate (hdl/controller/slot_sequencer.py),
whose registers are kept one leap ahead (reset value `leap_int(seed)`, so the random number of a slot is
register bits, not XOR outputs); `LFSR` wraps one register around it for stand-alone use and tests.
"""
from __future__ import annotations

from amaranth import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import Out, In

from contract.lfsr import TAPS, check_width

from contract.checks import check_int


def leap_matrix(width: int, steps: int) -> list[list[int]]:
    """For each bit of the leapt state, the state bits whose XOR it is (GF(2) linear map)."""
    check_width(width)
    bits = [[k] for k in range(width)]                  # bit k as a set of input bit indices
    for _ in range(steps):
        fb = set()
        for t in TAPS[width]:
            fb ^= set(bits[t - 1])
        bits = [sorted(fb)] + bits[:-1]
    return bits


def leap_int(state: int, width: int, steps: int) -> int:
    """`state` (an int) after `steps` single steps: the reset value of a register kept one leap ahead."""
    return sum((sum((state >> k) & 1 for k in srcs) & 1) << i for i, srcs in enumerate(leap_matrix(width, steps)))


def leap_value(state: Value, width: int, steps: int) -> Value:
    """The state after `steps` single steps of the TAPS[width] Fibonacci LFSR (combinational).

    Built as one flat XOR per output bit from the precomputed linear map, so the expression does not
    grow with `steps` (an unrolled feedback chain would nest and duplicate subexpressions).
    """
    out = []
    for srcs in leap_matrix(width, steps):
        v = state[srcs[0]]
        for k in srcs[1:]:
            v = v ^ state[k]
        out.append(v)
    return Cat(*out)


class LFSR(wiring.Component):
    """One LFSR register advanced by `steps` single steps per enabled cycle.

    Parameters
    ----------
    width : int
        State bits; one of contract.lfsr.TAPS (17, 23, 31).
    steps : int
        Single steps per leap (1 .. width); also the width of `value`.
    seed : int
        Reset state (1 .. 2**width - 1).

    Ports
    -----
    en : In(1)
        Advance the state by one leap at the next clock edge.
    state : Out(width)
        The current state (reset value: `seed`, never zero).
    value : Out(steps)
        Low `steps` bits of the NEXT state, i.e. the random number the next leap yields (combinational
        from the state register; no latency beyond the register).
    """

    def __init__(self, *, width: int = 31, steps: int = 16, seed: int = 1):
        self._width = check_width(width)
        self._steps = check_int("steps", steps, 1, width)
        self._seed = check_int("seed", seed, 1, (1 << width) - 1)
        super().__init__({"en": In(1), "state": Out(width, init=seed), "value": Out(steps)})

    width = property(lambda self: self._width, doc="State bits.")
    steps = property(lambda self: self._steps, doc="Single steps per leap.")
    seed = property(lambda self: self._seed, doc="Reset state.")

    def elaborate(self, platform):
        m = Module()
        nxt = Signal(self._width)
        m.d.comb += [nxt.eq(leap_value(self.state, self._width, self._steps)),
                     self.value.eq(nxt[:self._steps])]
        with m.If(self.en):
            m.d.sync += self.state.eq(nxt)
        return m
