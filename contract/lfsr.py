"""The per-line pseudo-random generators of the pulse schemes: Fibonacci LFSRs with a multi-step leap per slot.

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
the XOR of just two bits of the old state, so a line's leap costs `steps` XOR2 gates (a
31-bit LFSR leaps 16 steps with 16 XOR2). A polynomial with a low tap (x^32+x^22+x^2+x+1) would cascade
through the leap and cost ~15 XORs per bit.

Leap: one pulse slot advances a line's LFSR by `steps` single steps (the RTL does it in one clock cycle
with the unrolled XOR network), so the low `steps` bits of the new state are `steps` fresh sequence bits
and consecutive slots use disjoint windows of the sequence. The pulse scheme leaps
`leap_steps(width, P)` = max(P, low tap) steps and takes the low P bits as the slot's random number. Why
not P steps (P fresh bits): with width 23 or 31 and P = 16 the lines' numbers showed lagged (1 to 3
slots) cross-line correlations up to ~0.1 (4-6 standard errors over 4000 slots, depending on the seed;
independent numbers stay below ~3.6 there); leaping the low tap's worth of steps brings them within the
noise (tests/golden_models/test_update_controller.py), at no flip-flop more: the extra fresh bits are
XOR2s in front of registers that exist anyway, and every fresh bit is still the XOR of two old bits.

Per-line seeds (`line_seeds`): evenly spaced starts on the one sequence
------------------------------------------------------------------------
All lines run the same sequence, so two lines whose starts are d single steps apart repeat each other's
numbers d/steps slots later. Random starts (the rule before: one splitmix64 seed per line) put the
closest of n lines about 2**width / n**2 steps apart: with 885 lines and width 31 some pair replayed
another ~170 slots later, inside one pulse train. The starts are therefore spread evenly:

    lines n = 0 .. N-1 in the serial order: row i -> i, column j -> a + j, the slot gate -> a + b (N = a+b+1)
    spacing  D = floor((2**width - 1) / (steps * N))       slots between consecutive starts
    base     = splitmix64(seed mod 2**32) mod 2**width, replaced by 1 if it is 0
    seed_n   = base advanced by n * D * steps single steps (GF(2) jump-ahead: the step map to that power)

so over any D consecutive leaps every line reads a window of the sequence that no other line reads in
those leaps: within a train (at most D slots, checked by ControllerConfig) the lines' numbers are
disjoint pieces of one m-sequence, and line n + 1 replays line n only D slots later (in another update,
against other magnitudes and another gate draw). D falls with the width: the narrower the LFSR (fewer
flip-flops per line) the fewer slots per train it allows, which is how ControllerConfig picks the
default width (the smallest of TAPS that gives D >= 2**bl_width - 1).
splitmix64 (Steele et al.): z += 0x9E3779B97F4A7C15; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
z = (z ^ z>>27) * 0x94D049BB133111EB; z ^= z>>31, all modulo 2**64.
"""
from __future__ import annotations

from functools import lru_cache

#: width -> feedback taps (1-based: a[n] = a[n - t1] ^ a[n - t2]); every entry is maximal-length.
TAPS = {
    17: (17, 14),
    23: (23, 18),
    31: (31, 28),
}
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


def leap_steps(width: int, bits: int) -> int:
    """Single steps per pulse slot for `bits`-bit numbers: max(bits, the low tap) (module docstring)."""
    return max(bits, min(TAPS[check_width(width)]))


def spacing(width: int, steps: int, n_lines: int) -> int:
    """D: leaps (slots) between the starts of consecutive lines (see the module docstring)."""
    check_width(width)
    return ((1 << width) - 1) // (steps * n_lines)


def _step_matrix(width: int) -> list[int]:
    """The single step as a GF(2) matrix: new bit i = parity(row[i] & state)."""
    fb = sum(1 << (t - 1) for t in TAPS[width])
    return [fb] + [1 << (i - 1) for i in range(1, width)]


def _mat_mul(x: list[int], y: list[int]) -> list[int]:
    """Rows of x*y (apply y first, then x)."""
    out = []
    for row in x:
        acc, k = 0, 0
        while row:
            if row & 1:
                acc ^= y[k]
            row >>= 1
            k += 1
        out.append(acc)
    return out


def _mat_pow(x: list[int], k: int) -> list[int]:
    width = len(x)
    r = [1 << i for i in range(width)]
    while k:
        if k & 1:
            r = _mat_mul(x, r)
        x = _mat_mul(x, x)
        k >>= 1
    return r


def _apply(mat: list[int], state: int) -> int:
    return sum((bin(row & state).count("1") & 1) << i for i, row in enumerate(mat))


def jump(state: int, width: int, steps: int) -> int:
    """`state` after `steps` single steps (any number of them: by the step map's power)."""
    return _apply(_mat_pow(_step_matrix(check_width(width)), steps), state)


def line_seeds(seed: int, n_lines: int, width: int, steps: int) -> tuple[int, ...]:
    """Reset states of lines 0 .. n_lines-1 (the module docstring's rule); never 0."""
    check_width(width)
    if not 1 <= n_lines <= (1 << width) - 1:
        raise ValueError(f"n_lines must be between 1 and 2**{width} - 1, not {n_lines!r}")
    if not 1 <= steps <= width:
        raise ValueError(f"steps must be between 1 and {width}, not {steps!r}")
    return _line_seeds(int(seed) & 0xFFFFFFFF, n_lines, width, steps)


@lru_cache(maxsize=64)
def _line_seeds(seed: int, n_lines: int, width: int, steps: int) -> tuple[int, ...]:
    s = splitmix64(seed) & ((1 << width) - 1) or 1
    hop = _mat_pow(_step_matrix(width), spacing(width, steps, n_lines) * steps)
    out = []
    for _ in range(n_lines):
        out.append(s)
        s = _apply(hop, s)
    return tuple(out)
