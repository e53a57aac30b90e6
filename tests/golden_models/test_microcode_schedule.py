"""contract/microcode_schedule.py: the scheduled microcode gives the sequential program's results bit for bit
at every supported ALU latency (golden/rtl/scalar_unit.py runs it with a write-back queue that asserts on
any read-before-write hazard), on random register states and on real engine runs."""
import dataclasses

import numpy as np
import pytest

from contract import microcode as P
from contract import microcode_schedule as S
from contract.engine_config import EngineConfig
from golden.rtl.sbe_engine import SBEFixedEngine
from golden.rtl.scalar_unit import ScalarUnit

LATS = range(S.MIN_LATENCY, S.MAX_LATENCY + 1)


def _arch_state(su: ScalarUnit) -> dict:
    return {"regs": {n: su.regs[P.REGS[n]] for n in sorted(S.ARCH)}, "k": dict(su.k), "coef": dict(su.coef),
            "outscale": dict(su.outscale), "s_out": su.s_out, "flag": su.flags.saturated}


def _random_float(ff, rng):
    kind = rng.integers(0, 8)
    if kind == 0:
        return (0, 0)
    if kind == 1:    # near the exponent limits: saturation and underflow paths (flags)
        return ff.fnorm(int(rng.integers(-2 ** 30, 2 ** 30)) | 1, int(rng.choice([ff.emax - 35, ff.emin + 3])))
    return ff.fnorm(int(rng.integers(-2 ** 40, 2 ** 40)) | 1, int(rng.integers(-70, 30)))


@pytest.mark.parametrize("lat", LATS)
def test_schedule_is_legal(lat):
    """Every segment: the same multiset of operations (renamed), DONE last, one slot per cycle, only
    registers of the file, and the dependence distances the queue model needs (checked by running)."""
    for name, seg in P.SEGMENTS.items():
        sched = S.scheduled_segments(lat)[name]
        ops = sorted(ins[0] for ins in sched if ins[0] != "NOP")
        assert ops == sorted(ins[0] for ins in seg)
        assert sched[-1][0] == "DONE" and sum(ins[0] == "DONE" for ins in sched) == 1
        for ins in sched:
            d, srcs = S.reg_fields(ins)
            assert all(r in P.REGS for r in srcs + ((d,) if d else ()))
            P.encode(ins)
        assert [i[1] for i in sched if i[0] == "RDY"] == [i[1] for i in seg if i[0] == "RDY"]


@pytest.mark.parametrize("lat", LATS)
def test_scheduled_equals_sequential_on_random_states(lat):
    rng = np.random.default_rng(lat)
    base = EngineConfig(a=7, b=5)
    cfg = dataclasses.replace(base, alu_latency=lat)
    for trial in range(25):
        seq, sch = ScalarUnit(cfg, sequential=True), ScalarUnit(cfg)
        regs = [_random_float(seq.ff, rng) for _ in range(P.NREGS)]
        regs[P.REGS["ZERO"]], regs[P.REGS["C15"]] = (0, 0), seq.ff.const(1.5)
        for su in (seq, sch):
            su.regs[:] = list(regs)
            su.k = {0: int(rng.integers(-8, 26)), 1: int(rng.integers(-8, 26))} if su is seq else dict(seq.k)
        dots = {n: int(rng.integers(-2 ** 45, 2 ** 45)) >> int(rng.integers(0, 45)) for n in P.SOURCES[:6]}
        ex, ed = int(rng.integers(-3, 4)), int(rng.integers(-3, 4))
        for name in ("CHAIN", "FINAL", "RESCALE", "INIT"):
            jc = int(rng.integers(1, 40)) if name in ("CHAIN", "FINAL") else 0
            for su in (seq, sch):
                if name == "CHAIN":
                    su.chain(jc, dots, ex, ed)
                else:
                    su.run(name, jc)
            assert _arch_state(sch) == _arch_state(seq), (lat, trial, name)


@pytest.mark.parametrize("lat", [1, 3, 4, 6, 8])
def test_scheduled_equals_sequential_on_engine_runs(lat):
    """Real batches (random inputs with block exponents, two batches, warm start): same updates, same
    architectural registers and flags as the sequential specification."""
    cfg = EngineConfig(a=12, b=9, lanes=2, alu_latency=lat)
    ref = SBEFixedEngine(cfg)
    ref.scalar = ScalarUnit(cfg, sequential=True)
    ref.reset()
    eng = SBEFixedEngine(cfg)
    rng = np.random.default_rng(100 + lat)
    for n in (5, 3):
        for _ in range(n):
            x = rng.integers(-2 ** 15, 2 ** 15, cfg.b).tolist()
            d = rng.integers(-2 ** 15, 2 ** 15, cfg.a).tolist()
            ex, ed = int(rng.integers(-2, 3)), int(rng.integers(-3, 3))
            ref.sample(x, d, ex, ed)
            eng.sample(x, d, ex, ed)
        assert eng.end_batch() == ref.end_batch()
        assert _arch_state(eng.scalar) == _arch_state(ref.scalar)
        assert eng.M == ref.M


def test_hazard_is_detected(monkeypatch):
    """The write-back queue catches a schedule that reads a result before it is visible: the
    latency-1 schedule run on a latency-4 queue."""
    su = ScalarUnit(EngineConfig(a=3, b=3, alu_latency=4))
    real = S.scheduled_segments
    monkeypatch.setattr(S, "scheduled_segments", lambda lat: real(1))
    with pytest.raises(AssertionError, match="hazard"):
        su.run("INIT", 0)


def test_temporaries_are_not_architectural():
    """ARCH holds exactly what a segment reads before writing it; the renamed values live in TEMPS."""
    assert {"ZERO", "C15", "T", "s", "rCur", "yD", "yX", "pq", "tX1", "tD1"} <= S.ARCH
    assert {"t0", "t1", "t2", "ah", "y", "xM", "px", "pd"} <= set(S.TEMPS)
    assert not S.ARCH & set(S.TEMPS)


@pytest.mark.parametrize("lat", [0, S.MAX_LATENCY + 1, 2.0])
def test_latency_is_validated(lat):
    with pytest.raises((ValueError, TypeError), match="latency"):
        EngineConfig(a=3, b=3, alu_latency=lat)
    with pytest.raises(ValueError, match="latency"):
        S.schedule_segment(P.INIT, lat)


def test_schedule_hides_chain_latency():
    """The CHAIN is bound by its dependence chain, not by issue slots: its scheduled length grows less
    than LAT times the sequential length, and interleaving makes it shorter than the unscheduled program
    with LAT-1 bubbles after every dependent op."""
    seq = len(P.CHAIN)
    for lat in LATS:
        n = S.segment_lengths(lat)["CHAIN"]
        assert n <= max(seq, 0.5 * lat * seq), (lat, n)


@pytest.mark.parametrize("lat", LATS)
def test_fused_last_equals_chain_then_final(lat):
    """LAST (the RTL's segment for a batch's last sample), scheduled, = CHAIN then FINAL sequentially; its
    RDY comes no later than CHAIN + FINAL's."""
    rng = np.random.default_rng(50 + lat)
    cfg = EngineConfig(a=7, b=5, alu_latency=lat)
    for trial in range(15):
        seq, sch = ScalarUnit(cfg, sequential=True), ScalarUnit(cfg)
        regs = [_random_float(seq.ff, rng) for _ in range(P.NREGS)]
        regs[P.REGS["ZERO"]], regs[P.REGS["C15"]] = (0, 0), seq.ff.const(1.5)
        seq.regs[:], sch.regs[:] = list(regs), list(regs)
        dots = {n: int(rng.integers(-2 ** 45, 2 ** 45)) >> int(rng.integers(0, 45)) for n in P.SOURCES[:6]}
        jc, ex, ed = int(rng.integers(1, 40)), int(rng.integers(-3, 4)), int(rng.integers(-3, 4))
        seq.chain(jc, dots, ex, ed)
        seq.run("FINAL", jc)
        sch.last(jc, dots, ex, ed)
        assert _arch_state(sch) == _arch_state(seq), (lat, trial)
    lengths = S.segment_lengths(lat)
    assert S.rdy_index(0, lat, "LAST") <= lengths["CHAIN"] + S.rdy_index(0, lat, "FINAL")


def test_squaring_jc_plus_one_equals_rounding_its_square():
    """FINAL's LDI NJ; MUL t0 t0 t0 gives fnorm((n+1)**2) (what an LDI of the square gave) for every
    batch with n + 1 < 2**(mw-1) (n+1 exact in the mantissa; every batch at mw >= 18): fnorm depends on
    the value only. Beyond that (mw < 18 and huge batches) n + 1 itself rounds first."""
    from contract.fixed_point import Flags
    for mw in (16, 24):
        ff = EngineConfig(a=3, b=3, mant_width=mw, coef_width=16, s_mant_width=16).float_format()
        for n in [n for n in list(range(0, 4200)) + list(range(65_000, 65_535)) if n + 1 < 1 << (mw - 1)]:
            fl = Flags()
            v = ff.fnorm(n + 1, 0, fl)
            assert ff.mul(v, v, fl) == ff.fnorm((n + 1) ** 2, 0), (mw, n)
            assert not fl.saturated


@pytest.mark.parametrize("lat", range(S.MIN_LATENCY, S.MAX_LATENCY + 1))
def test_latches_are_released_early(lat):
    """REL follows the six LDIs within a few slots at every latency: the next sample's pass cannot end
    while its latches are held (a REL the list scheduler left at slot 82 of an 87-slot CHAIN at latency 3
    stalled every sample of a small layer by ~24 cycles)."""
    n_ldi = sum(ins[0] == "LDI" for ins in P.CHAIN)
    for seg in ("CHAIN", "LAST"):
        rel = next(i for i, ins in enumerate(S.scheduled_segments(lat)[seg]) if ins[0] == "REL")
        assert rel <= n_ldi + 5, f"{seg} at latency {lat}: REL at slot {rel}"
