"""LFSR: maximal-length polynomials, seed rule, and hdl/controller/lfsr.py bit-exact against golden/rtl/lfsr.py."""
import numpy as np
import pytest
from amaranth.sim import Simulator

from contract.lfsr import TAPS, jump, line_seeds, spacing, splitmix64
from golden.rtl.lfsr import LineLFSRs, leap, step
from hdl.controller.lfsr import LFSR, leap_matrix

# Distinct prime factors of 2**w - 1 (for the primitivity test), from the factor tables of Mersenne-like numbers.
FACTORS = {17: (131071,), 23: (47, 178481), 31: (2147483647,)}


def _polymulmod(x, y, mod, deg):
    r = 0
    while y:
        if y & 1:
            r ^= x
        y >>= 1
        x <<= 1
        if (x >> deg) & 1:
            x ^= mod
    return r


def _x_pow(e, mod, deg):
    result, base = 1, 2          # polynomials as ints over GF(2); 2 is "x"
    while e:
        if e & 1:
            result = _polymulmod(result, base, mod, deg)
        base = _polymulmod(base, base, mod, deg)
        e >>= 1
    return result


@pytest.mark.parametrize("width", sorted(TAPS))
def test_characteristic_polynomial_is_primitive(width):
    """a[n] = XOR_t a[n-t]: c(x) = x^w + sum_{t<w} x^(w-t) + 1 must have order exactly 2^w - 1."""
    assert width in TAPS[width]
    mod = (1 << width) | 1
    for t in TAPS[width]:
        if t < width:
            mod |= 1 << (width - t)
    order = (1 << width) - 1
    rest = order
    for f in FACTORS[width]:
        while rest % f == 0:
            rest //= f
    assert rest == 1                             # the table holds every distinct prime factor
    assert _x_pow(order, mod, width) == 1
    for f in FACTORS[width]:
        assert _x_pow(order // f, mod, width) != 1


def test_width17_period_is_maximal_by_enumeration():
    s0 = s = 0xACE1
    for n in range(1, 1 << 17):
        s = step(s, 17)
        if s == s0:
            break
    assert n == (1 << 17) - 1


def test_leap_costs_one_xor2_per_bit_when_steps_within_the_low_tap():
    for width, taps in TAPS.items():
        steps = min(taps)
        assert max(len(srcs) for srcs in leap_matrix(width, steps)) <= 2


@pytest.mark.parametrize("width,steps", [(17, 16), (31, 16), (23, 12), (31, 1), (17, 17)])
def test_leap_is_repeated_step_and_matches_rtl_matrix(width, steps):
    rng = np.random.default_rng(width)
    states = rng.integers(1, 1 << width, 20, dtype=np.uint64)
    want = []
    for s in states.tolist():
        for _ in range(steps):
            s = step(s, width)
        want.append(s)
    assert leap(states, width, steps).tolist() == want
    mat = leap_matrix(width, steps)
    got = []
    for s in states.tolist():
        got.append(sum((sum((s >> k) & 1 for k in srcs) & 1) << bit for bit, srcs in enumerate(mat)))
    assert got == want


def test_splitmix64_known_answer_and_seed_rule():
    # First output of splitmix64 from state 0 (Vigna's reference implementation).
    assert splitmix64(0) == 0xE220A8397B1DCDAF
    seeds = line_seeds(7, 201, 31, 16)
    assert all(0 < s < 1 << 31 for s in seeds) and len(set(seeds)) == len(seeds)
    assert seeds[0] == (splitmix64(7) & ((1 << 31) - 1))
    assert line_seeds(7, 201, 31, 16)[3] != line_seeds(8, 201, 31, 16)[3]


@pytest.mark.parametrize("width,steps,n", [(17, 12, 16), (17, 5, 3)])
def test_line_seeds_are_evenly_spaced_single_steps_apart(width, steps, n):
    """Line k + 1 starts where line k is after D leaps (D = spacing), checked with single steps (not the
    jump-ahead that line_seeds uses), and D leaps of every line stay clear of the next line's start."""
    seeds = line_seeds(5, n, width, steps)
    d = spacing(width, steps, n)
    assert d == ((1 << width) - 1) // (steps * n) and d * steps * n <= (1 << width) - 1
    x = seeds[0]
    for k in range(1, n):
        seen = set()
        for _ in range(d * steps):
            seen.add(x)
            x = step(x, width)
        assert x == seeds[k] and seeds[k] not in seen
    assert jump(seeds[0], width, (1 << width) - 1) == seeds[0]       # the period divides 2**width - 1


def test_random_numbers_are_uniform():
    bank = LineLFSRs(line_seeds(1, 64, 31, 8), width=31, steps=8)
    vals = np.concatenate([bank.next_values() for _ in range(200)])
    hist = np.bincount(vals, minlength=256)
    expect = len(vals) / 256
    chi2 = ((hist - expect) ** 2 / expect).sum()
    assert 180 < chi2 < 340                       # 255 degrees of freedom, about +-4.5 sigma


@pytest.mark.parametrize("width,steps", [(31, 16), (17, 5)])
def test_rtl_lfsr_matches_golden(width, steps):
    seed = line_seeds(3, 20, width, steps)[17]
    dut = LFSR(width=width, steps=steps, seed=seed)
    bank = LineLFSRs([seed], width=width, steps=steps)
    enables = np.random.default_rng(2).integers(0, 2, 60).tolist()
    got, want = [], []

    async def bench(ctx):
        for en in enables:
            value = ctx.get(dut.value)
            if en:
                want.append(int(bank.next_values()[0]))
                got.append(value)
            ctx.set(dut.en, en)
            await ctx.tick()
            assert ctx.get(dut.state) == int(bank.state[0])

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == want and len(got) > 20


@pytest.mark.parametrize("kwargs,text", [
    ({"width": 16}, "lfsr_width must be one of"),
    ({"steps": 0}, "steps must be between 1 and 31, not 0"),
    ({"seed": 0}, "seed must be between 1 and"),
])
def test_rejects_bad_parameters(kwargs, text):
    with pytest.raises(ValueError, match=text):
        LFSR(**kwargs)


@pytest.mark.parametrize("width", [17, 23, 31])
@pytest.mark.parametrize("steps", [1, 5, 16, 23, 31])
def test_block_leap_equals_single_steps(width, steps):
    """The vectorised block leap of golden/rtl/lfsr.py equals `steps` scalar single steps."""
    s = np.array(line_seeds(3, 40, width, 1), dtype=np.uint64)
    ref = [int(x) for x in s]
    for _ in range(steps):
        ref = [step(x, width) for x in ref]
    assert leap(s, width, steps).tolist() == ref
