"""Crossbar update controller: one rank-1 update W <- W - eta*s*outer(Dhat, Xhat) as row/column pulse slots.

The pulse scheme (stochastic coincidence with update and BL management, a deterministic scheme, polarity
and two-phase handling, register checks) is specified in golden/rtl/update_controller.py, the bit-exact twin:
for the same parameters, seed, registers and stream, this block emits the same slots in the same order.

Ports
-----
i        : In(stream)  the update stream of contract/layouts.py (s_mant, s_exp, lanes x Q1.F elems, vec,
                       last): ceil(a/lanes) Dhat beats then ceil(b/lanes) Xhat beats per update.
lr_mant  : In(lr_width)            learning rate in device steps, lr = eta/dw_min = lr_mant * 2**lr_exp
lr_exp   : In(signed(lr_exp_width))
bl       : In(bl_width)            pulse-train length BL, or its cap with BL management (0 is flagged)
mode     : In(MODE_LAYOUT)         {det, bl_mgmt, two_phase}, see golden/rtl/update_controller.py
           lr_mant, lr_exp, bl and mode are registers: sampled on the first beat of each update and held
           for the whole update, so they may change freely while the controller is busy.
parallel outputs (serial_width = 0):
row_fire, row_pol : Out(a)   per row line: fires in this slot / polarity (1 = negative)
col_fire, col_pol : Out(b)   per column line
slot              : Out(1)   a slot is presented; it is taken (applied by the line drivers) on a cycle
                             where slot & slot_ready. Fire/pol are stable while slot waits.
slot_ready        : In(1)    the drivers accept the slot (tie high for one slot per cycle)
serial output (serial_width = S > 0, for off-chip line drivers; replaces the parallel outputs):
o        : Out(stream)  {fire: S, pol: S, last: 1}: each slot is ceil((a+b)/S) beats of the line vector
                        (rows 0..a-1, then columns 0..b-1, zero padded), lowest line first; the slot is
                        taken with the beat flagged `last`.
done     : Out(1)    one-cycle strobe when an update is finished (written, skipped or rejected)
status   : Out(4)    flags of the last finished update (held until the next done): bit 0 bl == 0,
                     bit 1 det with bl not a power of two, bit 2 scale overflow (needs more than BL
                     slots), bit 3 protocol (beat counts or order differ from the stream contract).
                     A flagged update emits no slot.
busy     : Out(1)    high from the end of loading to done (the input is not ready then)

Cost of one update, with an input that never pauses and slot_ready tied high (tested):
    ceil(a/lanes) + ceil(b/lanes)  load cycles (one beat per cycle)
  + P + 4                          set-up: 2 scalar cycles, P+1 divider cycles (gate threshold), done
  + BL * phases                    slots (times ceil((a+b)/S) + 1 cycles per slot when serialised)
independent of a*b: every line has its own magnitude/sign register, LFSR and P-bit comparator.
After reset the controller idles one cycle (state INIT) before it accepts input.

Resources (Yosys synth_ice40, defaults, lanes=1; a+b = 32 vs 64 lines): about 66 LUT4 + 48 FF + 17
carry cells per line (31-bit LFSR with a 16-XOR2 leap, 16-bit magnitude, sign, masked compare, the
deterministic-mode mux, the load chain) on top of ~1.9k LUT4 / ~0.4k FF of shared set-up logic and one
DSP. The 784x100 layer (884 lines) is therefore ~60k LUT4 / ~43k FF in the parallel form.

Storage: each vector is shifted in `lanes` elements per beat through a chain of registers, so element i
of the vector lands at a fixed position (no address decoder over a or b lines).
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from contract.controller_config import ControllerConfig
from contract.layouts import MODE_LAYOUT, STATUS_LAYOUT, serial_layout, update_layout
from contract.lfsr import COL_BASE, GATE_INDEX, line_seed

from hdl.lfsr import leap_value


def _bit_length(m, x, name):
    """A comb signal holding the bit length of unsigned `x` (0 for 0)."""
    n = Signal(range(len(x) + 1), name=name)
    for k in range(len(x)):
        with m.If(x[k]):
            m.d.comb += n.eq(k + 1)
    return n


def update_cycles(*, a: int, b: int, lanes: int = 1, elem_width: int = 16, bl: int, phases: int = 1,
                  serial_width: int = 0) -> int:
    """Cycles from the first input beat to the done strobe (both inclusive) of one written update,
    with an input that never pauses and drivers that never stall (measured in the tests)."""
    load = -(-a // lanes) + -(-b // lanes)
    per_slot = 1 if not serial_width else -(-(a + b) // serial_width) + 1
    return load + (elem_width + 3) + bl * phases * per_slot + 1


class UpdateController(wiring.Component):
    """Rank-1 crossbar write from the SBE update stream (see the module docstring).

    Parameters
    ----------
    cfg : ControllerConfig, or its fields as keywords (contract/controller_config.py: a, b, lanes,
        elem_width, mant_width, exp_width, lr_width, lr_exp_width, bl_width, lfsr_width, seed,
        serial_width; the same bounds as the golden twin).

    Raises
    ------
    TypeError, ValueError
        On an invalid parameter, naming it.
    """

    def __init__(self, cfg: ControllerConfig | None = None, **params):
        self.cfg = c = cfg if cfg is not None else ControllerConfig(**params)
        self.in_layout = update_layout(lanes=c.lanes, elem_width=c.elem_width, mant_width=c.mant_width,
                                       exp_width=c.exp_width)
        sig = {
            "i": In(stream.Signature(self.in_layout)),
            "lr_mant": In(c.lr_width),
            "lr_exp": In(signed(c.lr_exp_width)),
            "bl": In(c.bl_width),
            "mode": In(MODE_LAYOUT),
            "done": Out(1),
            "status": Out(STATUS_LAYOUT.size),
            "busy": Out(1),
        }
        if c.serial_width:
            self.serial_layout = serial_layout(c.serial_width)
            sig["o"] = Out(stream.Signature(self.serial_layout))
        else:
            sig.update(row_fire=Out(c.a), row_pol=Out(c.a), col_fire=Out(c.b), col_pol=Out(c.b),
                       slot=Out(1), slot_ready=In(1))
        super().__init__(sig)

    a = property(lambda self: self.cfg.a, doc="Row lines.")
    b = property(lambda self: self.cfg.b, doc="Column lines.")
    lanes = property(lambda self: self.cfg.lanes, doc="Elements per input beat.")
    elem_width = property(lambda self: self.cfg.elem_width, doc="Bits per element (= P).")
    mant_width = property(lambda self: self.cfg.mant_width, doc="Bits of s_mant.")
    exp_width = property(lambda self: self.cfg.exp_width, doc="Bits of s_exp.")
    lr_width = property(lambda self: self.cfg.lr_width, doc="Bits of lr_mant.")
    lr_exp_width = property(lambda self: self.cfg.lr_exp_width, doc="Bits of lr_exp.")
    bl_width = property(lambda self: self.cfg.bl_width, doc="Bits of bl.")
    lfsr_width = property(lambda self: self.cfg.lfsr_width, doc="LFSR state bits.")
    seed = property(lambda self: self.cfg.seed, doc="Global LFSR seed.")
    serial_width = property(lambda self: self.cfg.serial_width, doc="Lines per serial beat (0: parallel).")

    @property
    def setup_cycles(self) -> int:
        """Cycles between the last input beat and the first slot (2 scalar + P+1 divider cycles)."""
        return self.cfg.elem_width + 3

    def cycles_per_update(self, bl: int, phases: int = 1) -> int:
        """Cycles of one written update with a never-pausing input and drivers (see the docstring)."""
        return update_cycles(a=self.cfg.a, b=self.cfg.b, lanes=self.cfg.lanes, elem_width=self.cfg.elem_width, bl=bl,
                             phases=phases, serial_width=self.cfg.serial_width)

    def elaborate(self, platform):
        m = Module()
        a, b, L = self.cfg.a, self.cfg.b, self.cfg.lanes
        P = self.cfg.elem_width
        F = P - 1
        W = self.cfg.lfsr_width
        BLW = self.cfg.bl_width
        M = BLW - 1                                 # largest log2(BL) of a power-of-two BL
        WPROD = self.cfg.lr_width + self.cfg.mant_width - 1
        nbr, nbc = -(-a // L), -(-b // L)

        # -- per-update registers ------------------------------------------------------------------
        s_mant = Signal(signed(self.cfg.mant_width))
        s_exp = Signal(signed(self.cfg.exp_width))
        lr_mant = Signal(self.cfg.lr_width)
        lr_exp = Signal(signed(self.cfg.lr_exp_width))
        bl = Signal(BLW)
        det, mgmt, two_phase = Signal(), Signal(), Signal()
        fresh = Signal(init=1)                      # the next beat is the first of an update
        mu = Signal(F + 1)
        mv = Signal(F + 1)
        rcount = Signal(range(nbr + 2))
        ccount = Signal(range(nbc + 2))
        bad_order = Signal()
        seen_col = Signal()
        proto = Signal()

        # -- line storage: shift chains, element i at position (n-1 - i//L)*L + i%L ------------------
        def chain(n_beats, name):
            mags = [Signal(F + 1, name=f"{name}_mag{p}") for p in range(n_beats * L)]
            sgns = [Signal(name=f"{name}_sgn{p}") for p in range(n_beats * L)]
            return mags, sgns

        rmag_c, rsgn_c = chain(nbr, "r")
        cmag_c, csgn_c = chain(nbc, "c")
        pos = lambda i, n: (n - 1 - i // L) * L + i % L
        umag = [rmag_c[pos(i, nbr)] for i in range(a)]
        usgn = [rsgn_c[pos(i, nbr)] for i in range(a)]
        vmag = [cmag_c[pos(j, nbc)] for j in range(b)]
        vsgn = [csgn_c[pos(j, nbc)] for j in range(b)]

        beat = self.i.payload
        lane_mag = []
        for k in range(L):
            e = beat.elems[k]
            mg = Signal(F + 1, name=f"lane_mag{k}")
            m.d.comb += mg.eq(Mux(e < 0, -e, e))
            lane_mag.append(mg)
        beat_max = lane_mag[0]
        for k in range(1, L):
            nm = Signal(F + 1, name=f"beat_max{k}")
            m.d.comb += nm.eq(Mux(lane_mag[k] > beat_max, lane_mag[k], beat_max))
            beat_max = nm

        # -- scalar set-up signals -----------------------------------------------------------------
        ku_r, kv_r = Signal(range(F + 2)), Signal(range(F + 2))
        prod_r = Signal(WPROD)
        zero_r = Signal()
        n_bl = Signal(BLW)                  # BL actually used
        m_log = Signal(range(BLW + 1))
        status_new = Signal(STATUS_LAYOUT)
        skip = Signal()
        WN = WPROD + BLW + P + 2
        WD = WPROD + BLW + P + 1
        num = Signal(WN)
        dsh = Signal(WD)
        q = Signal(P + 1)                   # gate threshold G
        cnt = Signal(range(P + 1))

        # -- slot state ----------------------------------------------------------------------------
        t = Signal(BLW)
        phase = Signal()
        acc = Signal(P)
        in_slots = Signal()
        slot_taken = Signal()

        # LFSR banks
        def lfsrs(indices, name):
            regs, nxts = [], []
            for n_, idx in enumerate(indices):
                r = Signal(W, init=line_seed(self.cfg.seed, idx, W), name=f"{name}_lfsr{n_}")
                nx = Signal(W, name=f"{name}_next{n_}")
                m.d.comb += nx.eq(leap_value(r, W, P))
                regs.append(r)
                nxts.append(nx)
            return regs, nxts

        rl, rl_next = lfsrs(range(a), "row")
        cl, cl_next = lfsrs([COL_BASE + j for j in range(b)], "col")
        (gl,), (gl_next,) = lfsrs([GATE_INDEX], "gate")

        # Shared comparison values.
        mask_u = Signal(P)
        mask_v = Signal(P)
        m.d.comb += [mask_u.eq((Const(1, P + 1) << ku_r) - 1), mask_v.eq((Const(1, P + 1) << kv_r) - 1)]
        rev = Signal(max(M, 1))
        if M:
            m.d.comb += rev.eq(Cat(*[t[M - 1 - k] for k in range(M)]))
        det_row = Signal(P + 1)
        det_col = Signal(P + 1)
        rev_sh = Signal(range(M + 1))
        m.d.comb += rev_sh.eq(M - m_log)
        m.d.comb += [
            det_row.eq((((t << 1) | 1) << ku_r) >> (m_log + 1)),
            det_col.eq((((rev << 1) + (Const(1, M + 1) << rev_sh)) << kv_r) >> (M + 1)),
        ]
        acc_next = Signal(P + 1)
        m.d.comb += acc_next.eq(acc + q)
        gate = Signal()
        m.d.comb += gate.eq(in_slots & Mux(det, acc_next[P], gl_next[:P] < q))
        ssgn = Signal()
        m.d.comb += ssgn.eq(s_mant[-1])

        row_fire = Signal(a)
        row_pol = Signal(a)
        col_fire = Signal(b)
        col_pol = Signal(b)
        for i in range(a):
            val = Mux(det, det_row, rl_next[i][:P] & mask_u)
            m.d.comb += [row_fire[i].eq(gate & (val < umag[i])), row_pol[i].eq(usgn[i] ^ ~ssgn)]
        for j in range(b):
            val = Mux(det, det_col, cl_next[j][:P] & mask_v)
            phase_ok = ~two_phase | (phase ^ ~vsgn[j])
            m.d.comb += [col_fire[j].eq(gate & phase_ok & (val < vmag[j])), col_pol[j].eq(vsgn[j])]

        m.d.comb += self.busy.eq(~fresh & ~self.i.ready)

        # -- serial or parallel presentation -------------------------------------------------------
        if self.cfg.serial_width:
            S = self.cfg.serial_width
            nch = -(-(a + b) // S)
            sr_fire = Signal(nch * S)
            sr_pol = Signal(nch * S)
            sbusy = Signal()
            scnt = Signal(range(nch))
            last = Signal()
            m.d.comb += [
                last.eq(scnt == nch - 1),
                self.o.valid.eq(sbusy),
                self.o.payload.fire.eq(sr_fire[:S]),
                self.o.payload.pol.eq(sr_pol[:S]),
                self.o.payload.last.eq(last),
                slot_taken.eq(self.o.valid & self.o.ready & last),
            ]
            with m.If(in_slots & ~sbusy):
                m.d.sync += [sr_fire.eq(Cat(row_fire, col_fire)), sr_pol.eq(Cat(row_pol, col_pol)),
                             sbusy.eq(1), scnt.eq(0)]
            with m.If(self.o.valid & self.o.ready):
                m.d.sync += [sr_fire.eq(sr_fire >> S), sr_pol.eq(sr_pol >> S), scnt.eq(scnt + 1)]
                with m.If(last):
                    m.d.sync += sbusy.eq(0)
        else:
            m.d.comb += [
                self.row_fire.eq(row_fire), self.row_pol.eq(row_pol),
                self.col_fire.eq(col_fire), self.col_pol.eq(col_pol),
                self.slot.eq(in_slots),
                slot_taken.eq(in_slots & self.slot_ready),
            ]

        # -- control -------------------------------------------------------------------------------
        ku = _bit_length(m, mu, "ku")
        kv = _bit_length(m, mv, "kv")
        s_abs = Signal(self.cfg.mant_width)
        m.d.comb += s_abs.eq(Mux(s_mant < 0, -s_mant, s_mant))

        # Set-up stage 2 (combinational from the stage-1 registers).
        exp_w = max(self.cfg.lr_exp_width, self.cfg.exp_width) + 8
        e_raw = Signal(signed(exp_w))
        m.d.comb += e_raw.eq(lr_exp + s_exp + ku_r + kv_r - 2 * F)
        e_lo, e_hi = -(WPROD + P), BLW + 1
        e_c = Signal(signed(exp_w))
        with m.If(e_raw < e_lo):
            m.d.comb += e_c.eq(e_lo)
        with m.Elif(e_raw > e_hi):
            m.d.comb += e_c.eq(e_hi)
        with m.Else():
            m.d.comb += e_c.eq(e_raw)
        shl = Signal(range(e_hi + 1))
        shr = Signal(range(-e_lo + 1))
        m.d.comb += [shl.eq(Mux(e_c >= 0, e_c, 0)), shr.eq(Mux(e_c < 0, -e_c, 0))]
        ceil_g = Signal(WPROD + BLW + 2)
        with m.If(e_c >= 0):
            m.d.comb += ceil_g.eq(prod_r << shl)
        with m.Else():
            m.d.comb += ceil_g.eq((prod_r + (Const(1, 1) << shr) - 1) >> shr)
        cap_c = Signal(BLW + 1)
        m.d.comb += cap_c.eq(Mux(ceil_g > (1 << BLW), 1 << BLW, ceil_g))
        c1 = Signal(BLW + 1)
        m.d.comb += c1.eq(Mux(cap_c == 0, 1, cap_c))
        c1m = Signal(BLW + 1)
        m.d.comb += c1m.eq(c1 - 1)
        c1_len = _bit_length(m, c1m, "c1_len")
        c2 = Signal(BLW + 1)
        m.d.comb += c2.eq(Mux(det, Const(1, 1) << c1_len, c1))
        n_new = Signal(BLW)
        m.d.comb += n_new.eq(Mux(mgmt, Mux(c2 < bl, c2, bl), bl))
        err_bl0 = Signal()
        err_pow2 = Signal()
        err_ovf = Signal()
        m.d.comb += [
            err_bl0.eq(~bl.any()),
            err_pow2.eq(det & (bl != 0) & ((bl & (bl - 1)) != 0)),
        ]
        m.d.comb += err_ovf.eq(~err_bl0 & ~err_pow2 & ~zero_r & (cap_c > n_new))
        n_len = _bit_length(m, n_new, "n_len")
        sh = Signal(signed(exp_w + 1))
        m.d.comb += sh.eq(e_c + Const(P, signed(exp_w)))
        sh_pos = Signal(range(e_hi + P + 1))
        sh_neg = Signal(range(WPROD + 1))
        m.d.comb += [sh_pos.eq(Mux(sh >= 0, sh, 0)), sh_neg.eq(Mux(sh < 0, -sh, 0))]

        def clear_update():
            return [mu.eq(0), mv.eq(0), rcount.eq(0), ccount.eq(0), bad_order.eq(0), seen_col.eq(0),
                    fresh.eq(1)]

        with m.FSM():
            # One idle cycle after reset: the state then changes once, which makes event-driven
            # simulators (Icarus) evaluate every combinational output of the state at least once.
            with m.State("INIT"):
                m.next = "LOAD"
            with m.State("LOAD"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    m.d.sync += [s_mant.eq(beat.s_mant), s_exp.eq(beat.s_exp), fresh.eq(0)]
                    with m.If(fresh):
                        m.d.sync += [lr_mant.eq(self.lr_mant), lr_exp.eq(self.lr_exp), bl.eq(self.bl),
                                     det.eq(self.mode.det), mgmt.eq(self.mode.bl_mgmt),
                                     two_phase.eq(self.mode.two_phase)]
                    with m.If(beat.vec == 0):
                        for p in range(L, nbr * L):
                            m.d.sync += [rmag_c[p].eq(rmag_c[p - L]), rsgn_c[p].eq(rsgn_c[p - L])]
                        for k in range(L):
                            m.d.sync += [rmag_c[k].eq(lane_mag[k]), rsgn_c[k].eq(beat.elems[k] < 0)]
                        m.d.sync += [mu.eq(Mux(beat_max > mu, beat_max, mu)), rcount.eq(rcount + 1)]
                        with m.If(seen_col | (beat.last & (rcount != nbr - 1))):
                            m.d.sync += bad_order.eq(1)
                    with m.Else():
                        for p in range(L, nbc * L):
                            m.d.sync += [cmag_c[p].eq(cmag_c[p - L]), csgn_c[p].eq(csgn_c[p - L])]
                        for k in range(L):
                            m.d.sync += [cmag_c[k].eq(lane_mag[k]), csgn_c[k].eq(beat.elems[k] < 0)]
                        m.d.sync += [mv.eq(Mux(beat_max > mv, beat_max, mv)), ccount.eq(ccount + 1),
                                     seen_col.eq(1)]
                        with m.If(beat.last):
                            m.d.sync += proto.eq(bad_order | (rcount != nbr) | (ccount != nbc - 1))
                            m.next = "SCALE"
            with m.State("SCALE"):
                m.d.sync += [ku_r.eq(ku), kv_r.eq(kv), prod_r.eq(lr_mant * s_abs),
                             zero_r.eq((lr_mant == 0) | (s_mant == 0) | (mu == 0) | (mv == 0))]
                m.next = "PLAN"
            with m.State("PLAN"):
                m.d.sync += [
                    n_bl.eq(n_new), m_log.eq(n_len - 1),
                    status_new.bl_zero.eq(err_bl0), status_new.bl_pow2.eq(err_pow2),
                    status_new.overflow.eq(err_ovf), status_new.protocol.eq(proto),
                    skip.eq(err_bl0 | err_pow2 | err_ovf | proto | zero_r),
                    num.eq(Mux(sh >= 0, prod_r << sh_pos, prod_r)),
                    dsh.eq(Mux(sh >= 0, n_new, n_new << sh_neg) << P),
                    q.eq(0), cnt.eq(P),
                ]
                m.next = "DIV"
            with m.State("DIV"):
                ge = num >= dsh
                m.d.sync += [q.eq(Cat(ge, q[:-1])), dsh.eq(dsh >> 1), cnt.eq(cnt - 1)]
                with m.If(ge):
                    m.d.sync += num.eq(num - dsh)
                with m.If(skip):
                    m.next = "DONE"
                with m.Elif(cnt == 0):
                    m.d.sync += [t.eq(0), phase.eq(0), acc.eq(1 << (P - 1))]
                    m.next = "SLOTS"
            with m.State("SLOTS"):
                m.d.comb += in_slots.eq(1)
                with m.If(slot_taken):
                    with m.If(two_phase & ~phase):
                        m.d.sync += phase.eq(1)
                    with m.Else():
                        m.d.sync += [phase.eq(0), t.eq(t + 1), acc.eq(acc_next[:P])]
                        with m.If(~det):
                            m.d.sync += [r.eq(nx) for r, nx in zip(rl, rl_next)]
                            m.d.sync += [r.eq(nx) for r, nx in zip(cl, cl_next)]
                            m.d.sync += gl.eq(gl_next)
                        with m.If(t == n_bl - 1):
                            m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.done.eq(1)
                m.d.sync += [self.status.eq(status_new.as_value())] + clear_update()
                m.next = "LOAD"
        return m
