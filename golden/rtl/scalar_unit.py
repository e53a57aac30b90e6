"""Bit-exact golden twin of hdl/engine/scalar_unit.py: the SBE engine's microcoded scalar unit.

It runs the segments of contract/microcode.py (CHAIN per sample, FINAL and RESCALE per batch, INIT after a
state reset) as scheduled for the RTL's pipelined ALU (contract/microcode_schedule.py, latency
cfg.alu_latency; a write-back queue, asserting on any read-before-write hazard), or sequentially (the
specification; same results), on the register file of sfloats (contract/fixed_point.py FloatFormat, one
ALU operation per instruction), and converts the values it hands to the vector datapath:

    coef[(v, g)] = (k, cm, sh)   AXPY word of vector v made by the CHAIN of sample g (COEF; g counts the
                                 samples since the reset, across batches: the words of a batch's last
                                 two samples are applied by the next batch's first two passes): rescale
                                 shift k (KSEL), coef_width-bit mantissa cm and right shift sh, the
                                 coefficient scaled by 2**e_v(g), the block exponent of sample g's vector v
    outscale[v] = (om, osh)      read-out scale of vector v (OUTC): coef_width-bit mantissa and right
                                 shift that give Q1.(elem_width-1) elements
    s_out = (s_mant, s_exp)      s in the update-stream format (SOUT): s_mant_width-bit mantissa, signed
                                 s_exp_width-bit exponent in real units

Input block exponents: `chain` latches the sample's (e_x, e_delta) as the current exponents and the
previous sample's as the previous ones (the RTL's ex_cur / ex_prev registers); LDI adds them to the dot
products' exponents (XM: e_x, XX1: e_x + e_x(j-1), XX: 2 e_x; likewise for delta).

Every saturation (float exponent, coefficient shift clamp, s overflow) is ORed into the shared sticky
`flags`. The state (registers, k, hand-over words, exponents) is what the RTL holds between segments.
"""
from __future__ import annotations

from contract import microcode as P
from contract import microcode_schedule as S
from contract.engine_config import KMIN, LMAX, EngineConfig
from contract.fixed_point import Flags, rshift_round


class ScalarUnit:
    """The scalar unit's registers and microcode interpreter (see the module docstring).

    Parameters
    ----------
    cfg : EngineConfig
        The engine's parameters (float format, widths, clamps, ALU latency `alu_latency`).
    flags : Flags, optional
        Sticky saturation flag shared with the vector datapath (default: a fresh one).
    sequential : bool
        Run the sequential microcode (the specification) instead of its schedule; the results are the
        same (architectural registers, k, hand-over words, flags), the temporaries differ.
    """

    def __init__(self, cfg: EngineConfig, flags: Flags | None = None, *, sequential: bool = False):
        self.cfg = cfg
        self.sequential = bool(sequential)
        self.latency = cfg.alu_latency
        self.ff = cfg.float_format()
        self.reset(flags)

    def reset(self, flags: Flags | None = None) -> None:
        """Registers to their reset values (before INIT runs); hand-over words and exponents to 0.
        `flags` replaces the sticky flag object (default: a fresh one)."""
        self.flags = flags if flags is not None else Flags()
        self.regs = self.cfg.reset_registers(self.ff)
        self.k = {P.VEC_D: 0, P.VEC_X: 0}
        self.coef: dict[tuple[int, int], tuple[int, int, int]] = {}
        self.g = 0                         # sample (since the reset) of the running CHAIN: coef's key
        self.outscale = {P.VEC_D: (0, 0), P.VEC_X: (0, 0)}
        self.s_out = (0, 0)
        self.exp_cur = {P.VEC_D: 0, P.VEC_X: 0}
        self.exp_prev = {P.VEC_D: 0, P.VEC_X: 0}

    # -- segments ----------------------------------------------------------------------------------
    def chain(self, jc: int, dots: dict, x_exp: int, delta_exp: int, g: int | None = None) -> None:
        """CHAIN of sample jc (1-based in the batch; g: 1-based since the reset, default jc): latch its
        block exponents, then run the segment on its dot products `dots` {"XM", "XX1", "XX", "DM", "DD1",
        "DD"} (exact integers). Its AXPY words are kept as coef[(v, g)]."""
        self._sample_segment("CHAIN", jc, dots, x_exp, delta_exp, g)

    def last(self, jc: int, dots: dict, x_exp: int, delta_exp: int, g: int | None = None) -> None:
        """The fused CHAIN + FINAL of a batch's last sample jc (microcode.LAST), as the RTL runs it: the
        same results as chain() then run("FINAL", jc)."""
        self._sample_segment("LAST", jc, dots, x_exp, delta_exp, g)

    def _sample_segment(self, segment: str, jc: int, dots: dict, x_exp: int, delta_exp: int,
                        g: int | None) -> None:
        for vec, e in ((P.VEC_X, int(x_exp)), (P.VEC_D, int(delta_exp))):
            self.exp_prev[vec], self.exp_cur[vec] = self.exp_cur[vec], e
        self.g = jc if g is None else int(g)
        self.run(segment, jc, dots)
        for vec in (P.VEC_D, P.VEC_X):     # the RTL holds two words per vector (by the parity of g)
            self.coef.pop((vec, self.g - 2), None)

    def coef_for(self, vec: int, g: int) -> tuple[int, int, int]:
        """AXPY word of vector `vec` made by the CHAIN of sample g (counted from 1 since the reset, across
        batches); (0, 0, 0) (no update) for g < 1."""
        return self.coef[(vec, g)] if g >= 1 else (0, 0, 0)

    def source(self, name: str, jc: int, dots: dict | None) -> tuple[int, int]:
        """LDI source `name` as an exact (integer, exponent): a dot product with its block exponents, or
        NJ = jc + 1."""
        if name == "NJ":
            return jc + 1, 0
        X, D = P.VEC_X, P.VEC_D
        exp = {"XM": self.exp_cur[X], "XX1": self.exp_cur[X] + self.exp_prev[X], "XX": 2 * self.exp_cur[X],
               "DM": self.exp_cur[D], "DD1": self.exp_cur[D] + self.exp_prev[D], "DD": 2 * self.exp_cur[D]}
        return dots[name], exp[name]

    def run(self, segment: str, jc: int, dots: dict | None = None) -> None:
        """Run one segment; `jc` is the 1-based sample index of a CHAIN or FINAL (0 otherwise), `dots` the
        dot-product latches a CHAIN reads.

        Scheduled (default): the segment of contract/microcode_schedule.py for the ALU latency LAT =
        cfg.alu_latency, one slot per cycle; operands are read at issue, every result (register, k_v,
        hand-over word) joins a write-back queue and becomes visible LAT cycles later (a hand-over word
        microcode_schedule.HANDOVER_EXTRA cycles more). An operand read
        while a write to it is pending (a read-before-write hazard of the schedule) raises AssertionError,
        as does a DONE with a result still in flight past the segment's end. Sequential
        (`sequential=True` at construction): the specification, contract/microcode.py one op at a time."""
        if self.sequential:
            for ins in {**P.SEGMENTS, "LAST": P.LAST}[segment]:
                if ins[0] == "DONE":
                    break
                for target, value in self._exec(ins, jc, dots):
                    self._write(target, value)
            return
        lat = self.latency
        queue: list[tuple[int, tuple, object]] = []          # (due cycle, target, value)
        for t, ins in enumerate(S.scheduled_segments(lat)[segment]):
            for item in [q for q in queue if q[0] <= t]:
                self._write(item[1], item[2])
                queue.remove(item)
            if ins[0] == "DONE":
                late = [q for q in queue if q[0] > t + 1]
                assert not late, f"{segment}: DONE at cycle {t} with results due later: {late}"
                for item in queue:
                    self._write(item[1], item[2])
                return
            pending = {q[1] for q in queue}
            for target in self._reads(ins):
                assert target not in pending, (f"{segment}: hazard at cycle {t}: {ins!r} reads {target} "
                                               f"before its pending write (latency {lat})")
            due = t + S.result_latency(ins[0], lat)
            queue += [(due, target, value) for target, value in self._exec(ins, jc, dots)]
        raise AssertionError(f"{segment} has no DONE")  # pragma: no cover

    @staticmethod
    def _reads(ins: tuple) -> list[tuple]:
        """State an instruction reads at issue (write-back queue targets)."""
        op, d, a, b = ins
        _, srcs = S.reg_fields(ins)
        out = [("r", P.REGS[r]) for r in srcs]
        if op == "SCLK":
            out.append(("k", b[0]))
        elif op == "COEF":
            out.append(("k", d))
        return out

    def _write(self, target: tuple, value) -> None:
        kind, key = target
        if kind == "r":
            self.regs[key] = value
        elif kind == "k":
            self.k[key] = value
        elif kind == "coef":
            self.coef[key] = value
        elif kind == "outc":
            self.outscale[key] = value
        else:
            self.s_out = value

    def _exec(self, ins: tuple, jc: int, dots: dict | None) -> list[tuple]:
        """The results [(target, value)] of one instruction on the visible state."""
        ff, R, fl, regs = self.ff, P.REGS, self.flags, self.regs
        op, d, a, b = ins
        if op == "MUL":
            return [(("r", R[d]), ff.mul(regs[R[a]], regs[R[b]], fl))]
        if op == "ADD":
            return [(("r", R[d]), ff.add(regs[R[a]], regs[R[b]], fl))]
        if op == "SUB":
            return [(("r", R[d]), ff.sub(regs[R[a]], regs[R[b]], fl))]
        if op == "SCL":
            return [(("r", R[d]), ff.scale(regs[R[a]], b, fl))]
        if op == "MOV":
            return [(("r", R[d]), regs[R[a]])]
        if op == "SEED":
            return [(("r", R[d]), ff.rsqrt_seed(regs[R[a]]))]
        if op == "LDI":
            return [(("r", R[d]), ff.fnorm(*self.source(a, jc, dots), fl))]
        if op == "KSEL":
            return [(("k", d), self.ksel(regs[R[a]]))]
        if op == "SCLK":
            vec, sgn = b
            return [(("r", R[d]), ff.scale(regs[R[a]], sgn * self.k[vec], fl))]
        if op == "COEF":
            f = regs[R[a]]       # applied to sample j's integers: carries its block exponent
            return [(("coef", (d, self.g)), self.coef_word(self.k[d], (f[0], f[1] + self.exp_cur[d])))]
        if op == "OUTC":
            return [(("outc", d), self.outscale_word(regs[R[a]]))]
        if op == "SOUT":
            return [(("sout", None), self.s_word(regs[R[a]]))]
        if op in ("REL", "RDY", "NOP"):
            return []
        raise AssertionError(op)  # pragma: no cover

    # -- conversions for the vector datapath -------------------------------------------------------
    def ksel(self, n) -> int:
        """Rescale shift k: ||M|| * 2**-k in [2**(SW-3), 2**(SW-2)) for the predicted n = ||M||^2; 0 for
        n = 0; clamped to [KMIN, kmax]."""
        c = self.cfg
        if n[0] == 0:
            return 0
        k = (n[1] + c.mant_width - 2 - (2 * c.state_width - 6)) >> 1
        return max(KMIN, min(c.kmax, k))

    def coef_word(self, k: int, f) -> tuple[int, int, int]:
        """AXPY word (k, cm, sh) of the sfloat coefficient f: cm rounded to coef_width bits, f = cm * 2**-sh;
        sh clamped to [-LMAX, rmax] (clamping a nonzero cm at -LMAX is flagged)."""
        c = self.cfg
        cm, ce = self.ff.fnorm(f[0], f[1], self.flags, width=c.coef_width)
        sh = -ce
        if sh < -LMAX:
            self.flags.note(cm != 0)
            sh = -LMAX
        sh = min(sh, c.rmax)
        return (k, cm, sh)

    def outscale_word(self, f) -> tuple[int, int]:
        """Read-out scale (om, osh): element = rnd(M * om, osh) in Q1.(elem_width-1); osh clamped to
        [-LMAX, rmax_out] (clamping a nonzero om at -LMAX is flagged)."""
        c = self.cfg
        om, oe = self.ff.fnorm(f[0], f[1], self.flags, width=c.coef_width)
        sh = -(oe + c.elem_width - 1)
        if sh < -LMAX:
            self.flags.note(om != 0)
            sh = -LMAX
        return (om, min(sh, c.rmax_out))

    def s_word(self, f) -> tuple[int, int]:
        """s in the update-stream format (s_mant, s_exp), real units: rounded to s_mant_width bits; above
        the s_exp range it saturates (flagged), below it the mantissa loses bits (down to a zero s)."""
        c = self.cfg
        m, e = self.ff.fnorm(f[0], f[1], self.flags, width=c.s_mant_width)
        if m == 0:
            return (0, 0)
        e -= c.x_frac + c.delta_frac
        emax, emin = (1 << (c.s_exp_width - 1)) - 1, -(1 << (c.s_exp_width - 1))
        if e > emax:
            self.flags.note(True)
            return ((1 << (c.s_mant_width - 1)) - 1 if m > 0 else -(1 << (c.s_mant_width - 1)), emax)
        if e < emin:
            return (rshift_round(m, min(emin - e, c.s_mant_width + 1)), emin)
        return (m, e)
