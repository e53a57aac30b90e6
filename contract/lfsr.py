"""The per-line pseudo-random generators of the pulse schemes: Fibonacci LFSRs with a P-step leap.

The definition (polynomials, leap, seed rule) that golden/rtl/lfsr.py and hdl/controller/lfsr.py both follow. Every row line, every column line and the slot gate of the update
controller own one LFSR; all use the same polynomial and differ only in their seed.

Generator (one step)
--------------------
State: `width` bits, bit 0 the newest. One step shifts left and feeds the XOR of the tap bits into bit 0:

    fb     = XOR over t in TAPS[width] of state[t - 1]
    state' = ((state << 1) | fb) mod 2**width

so the bit sequence obeys a[n] = XOR_t a[n - t], whose characteristic polynomial
x**width + sum_{t < width} x**(width - t) + 1 is primitive for every entry of TAPS (the primitive
trinomials x^17+x^3+1, x^23+x^5+1, x^31+x^3+1; checked in tests/amaranth_sim/test_lfsr.py): the period is
2**width - 1 and the all-zero state is never reached from a non-zero seed.

Why trinomials with both taps high: while `steps` <= the smaller tap, every bit produced by a leap is
the XOR of just two bits of the old state, so a line's leap costs `steps` XOR2 gates (the default
31-bit LFSR leaps 16 steps with 16 XOR2). A polynomial with a low tap (x^32+x^22+x^2+x+1) would cascade
through the leap and cost ~15 XORs per bit.

Leap: one pulse slot advances a line's LFSR by `steps` single steps (the RTL does it in one clock cycle
with the unrolled XOR network), so the low `steps` bits of the new state are `steps` fresh sequence bits
and consecutive slots use disjoint windows of the sequence. The slot's random number is those low bits.

Per-line seeds (`line_seed`)
----------------------------
Line index: row i -> i, column j -> COL_BASE + j, the slot gate -> GATE_INDEX (independent of a and b).
seed_line = splitmix64(((seed mod 2**32) << 32) | index) mod 2**width, replaced by 1 if it is 0.
splitmix64 (Steele et al.): z += 0x9E3779B97F4A7C15; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
z = (z ^ z>>27) * 0x94D049BB133111EB; z ^= z>>31, all modulo 2**64.
"""
from __future__ import annotations

#: width -> feedback taps (1-based: a[n] = a[n - t1] ^ a[n - t2]); every entry is maximal-length.
TAPS = {
    17: (17, 14),
    23: (23, 18),
    31: (31, 28),
}
COL_BASE = 1 << 24
GATE_INDEX = 2 << 24
_M64 = (1 << 64) - 1


def check_width(width: int) -> int:
    if isinstance(width, bool) or not isinstance(width, int) or width not in TAPS:
        raise ValueError(f"lfsr_width must be one of {sorted(TAPS)}, not {width!r}")
    return width


def splitmix64(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def line_seed(seed: int, index: int, width: int) -> int:
    """Reset state of line `index` (see the module docstring); never 0."""
    check_width(width)
    if not 0 <= index < (1 << 32):
        raise ValueError(f"line index must be in [0, 2**32), not {index!r}")
    s = splitmix64(((int(seed) & 0xFFFFFFFF) << 32) | index) & ((1 << width) - 1)
    return s or 1
