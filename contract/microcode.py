"""Microcode of the SBE scalar unit: the ONE definition (sequential semantics), statically scheduled for the
pipelined ALU by contract/microcode_schedule.py; the schedule is run by golden/rtl/scalar_unit.py (write-back
queue) and stored as the ROM of hdl/engine/scalar_unit.py (`encode()`), one slot per cycle.

Vector passes produce exact integer dot products; everything scalar runs here, in the sfloat format of
contract/fixed_point.py. Notation for sample j of a batch (docs/sbe-algorithm.md section 2.1, sums form):

    true vectors X = M_X * rho_X (M_X the stored integers, rho the per-version scale, tau = 1/rho),
    X_j = X_{j-1} + p_d x_j, D_j = D_{j-1} + p_x delta_j, T_j = T_{j-1} + p_x q_d, s_j = T_j / (j+1).

The vector update of sample j is applied two passes later (skew), in the pass of sample j+2, so the
pass of sample j reads M_{j-3}, writes M_{j-2} and returns x_j.M_{j-2}, x_j.x_{j-1}, x_j.x_j. The chain
recovers the dot products with X_{j-1}, X_j from those by scalar recurrences. The skew runs on across
batches: the read-out computes M_n on its way out and writes nothing, and the next batch's first two
passes apply the updates of samples n-1 and n (RESCALE makes its recurrences start from the warm state).

Segments (enums.Segment): CHAIN per sample; after the last sample FINAL (s = T/(n+1), the read-out
scales, RDY) then RESCALE (warm start); INIT after a state reset. LDI of a dot product carries the
sample's input block exponents (engine_config.py), and COEF scales by the exponent of its vector.

Instructions are tuples (op, d, a, b). Registers are named; `REGS` maps names to indices.
Ops:
    MUL d a b   d = a*b            ADD d a b   d = a+b          SUB d a b  d = a-b
    SCL d a k   d = a * 2**k (k an immediate)                   MOV d a    d = a
    SEED d a    rsqrt seed         LDI d src   d = sfloat(source `src` * 2**(its block exponent), SOURCES)
    KSEL v a    k_v = rescale shift chosen from the predicted squared norm a of vector v (0: D, 1: X)
    SCLK d a v sgn   d = a * 2**(sgn*k_v)
    COEF v a    AXPY coefficient of vector v for this sample := (k_v, round(a) to coef_width bits)
    OUTC v a    read-out scale of vector v := round(a) to coef_width bits
    SOUT a      s of the update := a (converted to the output format by the engine)
    REL         the dot-product latches have been read (the passes may overwrite them)
    RDY v       (FINAL only) the read-out pass of vector v may start
    DONE        end of the segment
"""
from __future__ import annotations

from .enums import Segment, Vec

OPS = ("MUL", "ADD", "SUB", "SCL", "MOV", "SEED", "LDI", "KSEL", "SCLK", "COEF", "OUTC", "SOUT",
       "REL", "RDY", "DONE", "NOP")
OPCODE = {name: i for i, name in enumerate(OPS)}

#: LDI sources: the six dot-product latches, and jc+1 with jc the 1-based index of the sample of the
#: running CHAIN or FINAL (0 otherwise), for 1/(n+1) of a batch of n samples: squared by a MUL, which
#: rounds the exact (n+1)**2 once, as an LDI of it would (fnorm depends on the value only) while n+1 fits
#: the mantissa (n + 1 < 2**(mant_width-1): every batch at mant_width >= 18), and needs no multiplier
#: of its own in the RTL.
SOURCES = ("XM", "XX1", "XX", "DM", "DD1", "DD", "NJ")
SRC = {name: i for i, name in enumerate(SOURCES)}

VEC_D, VEC_X = Vec.D, Vec.X

_REG_NAMES = [
    "ZERO", "C15",                         # constants 0 and 1.5
    "nX1", "nD1",                          # ||X_{j-1}||^2, ||D_{j-1}||^2 (true units)
    "pdp", "pxp",                          # p_d, p_x of the previous sample
    "rX1", "rX2", "rD1", "rD2",            # rho of the latest and the previous version of M_X, M_D
    "tX1", "tD1",                          # tau of the latest version
    "T", "s", "rCur", "yD",                # sum of p_x q_d; s; 1/(n+1) of the batch; rsqrt(nD1)
    "yX", "pq",                            # rsqrt(nX) of the last chain; its p_x * (delta_j . D_j)
    "xM", "xx1", "xx", "dM", "dd1", "dd",  # dot products of this sample
    "dD1", "pd", "xX1", "xX", "nX", "px", "dD", "nD", "qd",
    "y", "ah", "t0", "t1", "t2", "rDy", "pxy", "xX12",
]
REGS = {name: i for i, name in enumerate(_REG_NAMES)}
NREGS = len(_REG_NAMES)


def _rsqrt(d: str, a: str) -> list[tuple]:
    """d = 1/sqrt(a): table seed, then two Newton steps y <- 1.5*y - ((a/2)*y)*(y*y): the step
    y*(1.5 - (a/2)*y*y) with its three products side by side, so a step is three dependent operations,
    not four (the per-sample CHAIN runs two of these in series). 0 for a <= 0 (the seed is 0)."""
    prog = [("SCL", "ah", a, -1), ("SEED", d, a, None)]
    for _ in range(2):
        prog += [("MUL", "t0", "ah", d), ("MUL", "t1", d, d), ("MUL", "t2", "C15", d),
                 ("MUL", "t0", "t0", "t1"), ("SUB", d, "t2", "t0")]
    return prog


def _norm_update(n_new: str, n_old: str, p: str, dot_old: str, sq: str, doubled: bool = False) -> list[tuple]:
    """||V + p v||^2 = (||V||^2 + p (2 v.V)) + (p p) ||v||^2, three dependent operations after p when
    2 v.V is ready (`doubled`: `dot_old` holds 2 v.V already). Scaling by 2 is exact, so the doubling's
    place does not change the bits."""
    twice = [] if doubled else [("SCL", "t2", dot_old, 1)]
    return twice + [("MUL", "t0", p, dot_old if doubled else "t2"), ("ADD", "t1", n_old, "t0"),
                    ("MUL", "t0", p, p), ("MUL", "t0", "t0", sq), ("ADD", n_new, "t1", "t0")]


def _coef(v: int, tau: str, rho_new: str, rho_old: str, norm: str, p: str) -> list[tuple]:
    """Rescale shift from the predicted norm of the new M, new tau/rho, AXPY coefficient tau_j * p."""
    return [("MUL", "t0", tau, tau), ("MUL", "t0", "t0", norm), ("KSEL", v, "t0", None),
            ("SCLK", tau, tau, (v, -1)), ("MOV", rho_old, rho_new, None), ("SCLK", rho_new, rho_new, (v, 1)),
            ("MUL", "t0", tau, p), ("COEF", v, "t0", None)]


def _outscale(v: int, rho: str, y: str) -> list[tuple]:
    """Read-out scale 1/||M_v|| = rho_v / ||V|| (M_v = V / rho_v), from the chain's y = 1/||V||: one
    multiply after the chain, where a fresh rsqrt of tau^2 ||V||^2 would take a whole rsqrt."""
    return [("MUL", "t0", rho, y), ("OUTC", v, "t0", None)]


#: Per-sample chain, started when the dot products of sample j (x pass, then delta pass) are latched.
#: Only what the next sample needs: s and the read-out scales are left to FINAL (last sample only), so a
#: sample's scalar work is the scheduled CHAIN's cycles, hidden behind any pass of at least that many beats.
#: Its dependence chain, loop-carried from one sample to the next, is yD(j-1) -> p_d -> ||X_j||^2 -> rsqrt
#: -> p_x -> ||D_j||^2 -> rsqrt -> yD(j): 3 + 3 + 7 + 1 + 3 + 7 = 24 operations; what is not on it (the
#: previous sample's term of T, delta_j . D_{j-1} itself, the AXPY coefficients) runs beside it.
CHAIN = (
    # products of the previous chain's results, at this chain's start: rho_D(j-2)/||D_{j-1}||,
    # p_x(j-1)/||D_{j-1}||, and the previous sample's term of T, p_x q_d = pq * yD (deferred to here so
    # that nothing follows the rsqrt of ||D_j||^2)
    [("MUL", "rDy", "rD2", "yD"), ("MUL", "pxy", "pxp", "yD"), ("MUL", "t0", "pq", "yD"), ("ADD", "T", "T", "t0")]
    + [("LDI", "xM", "XM", None), ("LDI", "xx1", "XX1", None), ("LDI", "xx", "XX", None),
       ("LDI", "dM", "DM", None), ("LDI", "dd1", "DD1", None), ("LDI", "dd", "DD", None), ("REL", None, None, None)]
    # p_d = delta_j . D_{j-1} / ||D_{j-1}|| = dM * rho_D(j-2)/||D_{j-1}|| + dd1 * p_x(j-1)/||D_{j-1}||,
    # and delta_j . D_{j-1} = dM * rho_D(j-2) + p_x(j-1) * dd1 itself (for ||D_j||^2 and delta_j . D_j)
    + [("MUL", "t0", "dM", "rDy"), ("MUL", "t1", "dd1", "pxy"), ("ADD", "pd", "t0", "t1"),
       ("MUL", "t0", "dM", "rD2"), ("MUL", "t1", "pxp", "dd1"), ("ADD", "dD1", "t0", "t1")]
    # 2 x_j . X_{j-1} = xM * 2 rho_X(j-2) + xx1 * 2 p_d(j-1) (doubled operands: the same bits as doubling
    # the sum, and ready as soon as p_d, so ||X_j||^2 is three operations after p_d), x_j . X_{j-1},
    # x_j . X_j, ||X_j||^2, p_x
    + [("SCL", "t0", "rX2", 1), ("SCL", "t1", "pdp", 1), ("MUL", "t0", "xM", "t0"), ("MUL", "t1", "xx1", "t1"),
       ("ADD", "xX12", "t0", "t1"), ("SCL", "xX1", "xX12", -1),
       ("MUL", "t0", "pd", "xx"), ("ADD", "xX", "xX1", "t0")]
    + _norm_update("nX", "nX1", "pd", "xX12", "xx", doubled=True)
    + _rsqrt("yX", "nX") + [("MUL", "px", "xX", "yX")]
    # delta_j . D_j, ||D_j||^2, its rsqrt yD (the next chain's 1/||D_{j-1}||); q_d = dD * yD, and this
    # sample's term of T, p_x q_d = (p_x dD) yD, is added by the next chain (or FINAL): pq = p_x dD
    + [("MUL", "t0", "px", "dd"), ("ADD", "dD", "dD1", "t0")]
    + _norm_update("nD", "nD1", "px", "dD1", "dd")
    + _rsqrt("yD", "nD") + [("MUL", "pq", "px", "dD")]
    + _coef(VEC_D, "tD1", "rD1", "rD2", "nD", "px")
    + _coef(VEC_X, "tX1", "rX1", "rX2", "nX", "pd")
    + [("MOV", "nX1", "nX", None), ("MOV", "nD1", "nD", None), ("MOV", "pdp", "pd", None),
       ("MOV", "pxp", "px", None)]
    + [("DONE", None, None, None)]
)

#: After the chain of the last sample n of a batch (jc = n): s = T_n / (n+1) for the output, where T
#: holds the terms of samples 1..n-1 and the last one is pq * yD; the read-out scales rho_v / ||V|| (the
#: chain's yD, yX; rho_v after the chain's rescale); each vector's RDY as soon as its scale is ready.
FINAL = (
    [("LDI", "t0", "NJ", None), ("MUL", "t0", "t0", "t0")] + _rsqrt("rCur", "t0")
    + [("MUL", "t0", "T", "rCur"), ("MUL", "t1", "pq", "rCur"), ("MUL", "t1", "t1", "yD"),
       ("ADD", "s", "t0", "t1"), ("SOUT", None, "s", None)]
    + _outscale(VEC_D, "rD1", "yD") + [("RDY", VEC_D, None, None)]
    + _outscale(VEC_X, "rX1", "yX") + [("RDY", VEC_X, None, None)]
    + [("DONE", None, None, None)]
)

#: After FINAL (runs while the update is read out): the state becomes the warm start (weight 1) of the
#: next batch: vectors and norms divided by n+1 through the scales. The read-out writes nothing back, so
#: the updates of samples n-1 and n are still pending in the state (the next batch's first two passes
#: apply them, like any pass of a batch): X_n = rho(M_{n-1}) M_{n-1} + p_d(n) x_n keeps its form with
#: both scales and p_d(n), p_x(n) divided by n+1. T := s, and the last sample's term of T (in s already)
#: is not added again by the next batch's first chain (pq := 0).
RESCALE = (
    [("MUL", "rX1", "rX1", "rCur"), ("MUL", "rX2", "rX2", "rCur"), ("MUL", "t0", "rX1", "rX1")] + _rsqrt("tX1", "t0")
    + [("MUL", "rD1", "rD1", "rCur"), ("MUL", "rD2", "rD2", "rCur"), ("MUL", "t0", "rD1", "rD1")] + _rsqrt("tD1", "t0")
    + [("MUL", "t0", "rCur", "rCur"), ("MUL", "nX1", "nX1", "t0"), ("MUL", "nD1", "nD1", "t0")]
    + _rsqrt("yD", "nD1")
    + [("MOV", "T", "s", None), ("MOV", "pq", "ZERO", None), ("MUL", "pdp", "pdp", "rCur"),
       ("MUL", "pxp", "pxp", "rCur")]
    + [("DONE", None, None, None)]
)

#: After a state reset (registers at their reset values): the derived reciprocal 1/||D_0||.
INIT = _rsqrt("yD", "nD1") + [("DONE", None, None, None)]

#: The CHAIN of a batch's last sample fused with FINAL (one segment, no DONE in between): the same
#: operations in the same order, so the same results as CHAIN then FINAL; scheduled as one, FINAL's work
#: (1/(n+1), the read-out scales) overlaps the chain's dependence chain, and RDY comes that much earlier.
#: The RTL runs it for the last sample (hdl/engine/segment_scheduler.py); RDY v needs COEF v's word.
LAST = CHAIN[:-1] + FINAL

#: Segment name -> instructions, in ROM order (enums.Segment).
SEGMENTS = {seg.name: {"CHAIN": CHAIN, "RESCALE": RESCALE, "INIT": INIT, "FINAL": FINAL}[seg.name]
            for seg in sorted(Segment, key=int)}

#: ROM fields: opcode, destination, operands a and b (register indices or small tags), signed immediate.
OP_BITS, REG_BITS, IMM_BITS = 4, 6, 4


def rom() -> tuple[list[tuple], dict[str, int]]:
    """All segments in one list (enums.Segment order) and the start address of each (by name)."""
    out, start = [], {}
    for name, seg in SEGMENTS.items():
        start[name] = len(out)
        out += seg
    return out, start


def encode(ins: tuple) -> tuple[int, int, int, int, int]:
    """ROM fields (op, d, a, b, imm) of one instruction; an immediate or index that does not fit its
    field raises ValueError (so a bad program fails at elaboration instead of truncating)."""
    op, d, a, b = ins
    R = REGS
    reg = lambda n: R[n] if isinstance(n, str) else 0   # noqa: E731
    if op in ("MUL", "ADD", "SUB"):
        fields = OPCODE[op], R[d], R[a], R[b], 0
    elif op == "SCL":
        fields = OPCODE[op], R[d], R[a], 0, b
    elif op in ("MOV", "SEED"):
        fields = OPCODE[op], R[d], R[a], 0, 0
    elif op == "LDI":
        fields = OPCODE[op], R[d], SRC[a], 0, 0
    elif op == "SCLK":
        fields = OPCODE[op], R[d], R[a], int(b[0]), b[1]
    elif op in ("KSEL", "COEF", "OUTC"):
        fields = OPCODE[op], int(d), R[a], 0, 0
    elif op == "SOUT":
        fields = OPCODE[op], 0, R[a], 0, 0
    elif op == "RDY":
        fields = OPCODE[op], int(d), 0, 0, 0
    else:
        fields = OPCODE[op], 0, reg(a), 0, 0
    imm = fields[4]
    lo, hi = -(1 << (IMM_BITS - 1)), (1 << (IMM_BITS - 1)) - 1
    if not lo <= imm <= hi:
        raise ValueError(f"immediate {imm} of {ins!r} does not fit the signed {IMM_BITS}-bit field [{lo}, {hi}]")
    if max(fields[1:4]) >= 1 << REG_BITS or fields[0] >= 1 << OP_BITS:
        raise ValueError(f"{ins!r} does not fit the ROM fields ({OP_BITS}-bit op, {REG_BITS}-bit operands)")
    return fields


def rdy_index(vec: int) -> int:
    """Offset of `RDY vec` inside FINAL: its latency from the FINAL start (used by the bench)."""
    return next(i for i, ins in enumerate(FINAL) if ins[0] == "RDY" and ins[1] == vec)
