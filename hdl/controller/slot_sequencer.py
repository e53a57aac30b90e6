"""Slot sequencer of the crossbar update controller (hdl/controller/update_controller.py): the line-independent part
of the slot train.

It counts the slots t = 0 .. BL-1 and, in two-phase mode, the two phases of each slot; it holds the slot
gate (stochastic: the gate LFSR's P-bit number < G; deterministic: the carry of a first-order
sigma-delta accumulator, acc += G from 2**(P-1)); and it holds the values every row or every column line
compares against in deterministic mode, the ramps ((2t+1) << ku) >> (m+1) and
((2 rev_m(t) + 1) << kv) >> (m+1) (rev_m: m-bit reversal). The scheme is specified in
golden/rtl/update_controller.py.

Timing: the ramps and the gate are registers, computed one slot ahead (the ramps while idle, the gate
in the `start` cycle for slot 0; at the end of slot t for slot t+1): the ramps by one barrel shifter
each (`ramps="shift"`) or one multiplier each (`ramps="multiply"`, for synth_ice40: an SB_MAC16), the deterministic gate by one adder (acc + G), the stochastic gate by one compare of the gate
LFSR's number with G (adder and compare shared by the start and the slot-end cases), the mode's choice
registered with it (gsel: the gate is active & gsel). The gate LFSR register holds the number of the
slot being prepared: kept one leap ahead of the golden twin's state while idle (its low P bits are
slot 0's number), two from `start` to the last slot (it leaps at a stochastic start and at every
stochastic slot end but the last), so after a train it is one leap ahead again.
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract.checks import check_choice
from contract.controller_config import ControllerConfig

from hdl.controller.lfsr import leap_int, leap_value


#: the implementations of the deterministic ramps' shift by ku (kv)
RAMPS = ("shift", "multiply")


class SlotSequencer(wiring.Component):
    """Slot counter, phase, slot gate and the shared deterministic compare values of the lines.

    Parameters
    ----------
    cfg : ControllerConfig
        The controller's parameters (P = elem_width, bl_width, lfsr_width, seed).
    ramps : str
        How a ramp value x (bl_width bits) is shifted by k = ku or kv, (x << k) >> bl_width:
        "shift" (default), a barrel shifter by k; "multiply", (x * mask + x) >> bl_width with mask =
        2**k - 1 (the controller's OR register): synth_ice40 -dsp maps each to an SB_MAC16's multiplier
        and adder (two of the iCE40UP5K's eight; the set-up's multiplier is a third), its A and D
        registers holding x. iCE40UP5K 8x8 controller: 1,268 -> 1,224 logic cells with the products
        (x * 2**(k-1), the mask's leading one) in front of the ramp registers; 1,211 -> 1,197 with x
        in the DSPs' registers instead; 1,181 -> 1,171 with x * mask + x. The same values for every k
        in 0 .. P (tested).

    Ports
    -----
    start : In(1)
        Begin a train at the next clock edge: t = 0, phase 0, acc = 2**(P-1). The ramps of slot 0 are
        loaded in every cycle without `active`, so `ku`, `kv`, `col_one` must be held from one cycle
        before `start` on (the set-up registers them 8 or more cycles before).
    active : In(1)
        A slot is presented (the controller's slot phase); `gate` is low otherwise.
    take : In(1)
        The presented slot (or phase) is taken: advance at the next clock edge (`start` wins; the
        controller never raises both).
    det, two_phase : In(1)
        The mode bits of the update (contract/layouts.py MODE_LAYOUT).
    g : In(P + 1)
        The gate threshold G (0 .. 2**P), valid from the `start` cycle on (the gate of slot 0 is
        registered from it in the `start` cycle).
    ku, kv : In(range(P + 1))
        Bit lengths of max |u_i| and max |v_j| (read by the "shift" ramps).
    mu, mv : In(P)
        The masks 2**ku - 1 and 2**kv - 1 (read by the "multiply" ramps; held like ku and kv).
    col_one : In(bl_width)
        2**(bl_width - 1 - log2(BL)), the ramp parameter of hdl/controller/controller_setup.py (held from
        `start` to the end).
    n_bl : In(bl_width)
        BL, the slots of the train (held from one cycle before `start` to the end).
    gate : Out(1)
        The presented slot passes (active & (det ? carry of acc + G : gate LFSR number < G)).
    phase : Out(1)
        The phase of the presented slot (0: positive columns, 1: negative columns; 0 in one-phase mode).
    det_row, det_col : Out(P)
        The deterministic ramp values of the row lines and of the column lines in slot t (registers, or
        with ramps="multiply" products of registers and the masks, so mu and mv must be held while
        slots are presented; ((2t+1) << k) >> (m+1) < 2**k <= 2**P: P bits hold them).
    advance : Out(1)
        The line LFSRs leap at the next clock edge: a stochastic slot is complete (combinational).
    last : Out(1)
        This `take` completes the train (slot BL-1, its last phase; combinational).
    """

    def __init__(self, cfg: ControllerConfig, *, ramps: str = "shift"):
        self.cfg = c = cfg
        self.ramps = check_choice("ramps", ramps, RAMPS, "the deterministic ramps' shift: 'multiply' for a "
                                  "multiplier (an SB_MAC16 on the iCE40)")
        P, BLW = c.elem_width, c.bl_width
        super().__init__({
            "start": In(1), "active": In(1), "take": In(1), "det": In(1), "two_phase": In(1),
            "g": In(P + 1), "ku": In(range(P + 1)), "kv": In(range(P + 1)), "mu": In(P), "mv": In(P),
            "col_one": In(BLW), "n_bl": In(BLW),
            "gate": Out(1), "phase": Out(1),
            "det_row": Out(P), "det_col": Out(P), "advance": Out(1), "last": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        c = self.cfg
        P, W, BLW = c.elem_width, c.lfsr_width, c.bl_width
        M = BLW - 1                                     # largest log2(BL) of a power-of-two BL
        t1 = Signal(BLW)                                # t + 1: the index of the next slot
        phase = self.phase
        L = c.lfsr_leap                                 # single steps per slot (contract/lfsr.py)
        seed = c.lfsr_seeds[c.a + c.b]                  # the gate is the last line
        gate_lfsr = Signal(W, init=leap_int(seed, W, L))   # low P bits: the number of the slot being prepared

        # -- the ramps of slot t1, registered: slot 0's while idle (t1 = 0; the set-up's ramp parameters
        # settle long before `start`), slot t + 1's at the end of slot t. `start` itself does not reach
        # the shifters (it comes from the divider's last step).
        # Both ramps are ((2 Z + col_one) << k) >> BLW, col_one = 2**(M - m) (m = log2(BL)), a shifter by
        # k = ku or kv alone: the columns' Z = rev_M(t1) = rev_m(t1) 2**(M - m), so 2 Z + col_one =
        # (2 rev_m(t1) + 1) 2**(M - m); the rows' Z = tr = t1 col_one, a counter that adds col_one per
        # slot (t1 < BL = 2**m: tr < 2**M), so 2 Z + col_one = (2 t1 + 1) 2**(M - m). (The rows' shifter by
        # P + 1 - ku + m over Cat(0**P, 1, t1), its shift computed in the set-up, was 10 logic cells more
        # on the iCE40UP5K 8x8 controller.) The values are below 2**k <= 2**P (x < 2**BLW): P bits.
        # With ramps="multiply", x << k = x * mask + x, mask = 2**k - 1: the SB_MAC16's multiplier and its
        # adder (x on the D input), no logic in front (the mask's leading one as the multiplier, an AND per
        # bit, was 10 logic cells more on the iCE40UP5K 8x8 controller).
        tr = Signal(M)
        rev = Cat(Const(0, 1), *[t1[M - 1 - k] for k in range(M)]) if M else Const(0, 1)   # 2 rev_M(t1)
        x_row, x_col = Signal(BLW), Signal(BLW)                  # 2 Z + col_one of slot t1
        m.d.comb += [x_row.eq(Cat(Const(0, 1), tr) | self.col_one), x_col.eq(rev | self.col_one)]
        # `ramp_load`: what the ramp registers take when a slot's ramps are prepared. "shift": the shifters'
        # outputs (det_row, det_col are those registers). "multiply": x_row and x_col (registers without a
        # reset, which synth_ice40 -dsp packs into the SB_MAC16s' A and D registers, AHOLD and DHOLD as
        # their enable), the products behind them: the 16 flip-flops of det_row and det_col behind the DSPs
        # were each a logic cell of its own (no LUT in front): 14 logic cells on the iCE40UP5K 8x8 controller.
        if self.ramps == "shift":
            ramp_load = [self.det_row.eq(((x_row << self.ku) >> BLW)[:P]),
                         self.det_col.eq(((x_col << self.kv) >> BLW)[:P])]
        else:
            xr_q, xc_q = Signal(BLW, reset_less=True), Signal(BLW, reset_less=True)
            ramp_load = [xr_q.eq(x_row), xc_q.eq(x_col)]
            m.d.comb += [self.det_row.eq(((xr_q * self.mu + xr_q) >> BLW)[:P]),     # x * 2**ku
                         self.det_col.eq(((xc_q * self.mv + xc_q) >> BLW)[:P])]

        # The gate of the presented slot is a register, prepared one slot ahead (no adder or compare
        # between G and the lines): deterministic, accn = acc + G with acc the sigma-delta state (the
        # carry passes the slot); stochastic, the compare of the gate LFSR's number with G.
        # `gsel` is the passing bit of the mode in use, a register of its own: the gate reaches every line
        # through one AND with `active`, no mode mux on the path (det is fixed for the whole update).
        accn = Signal(P + 1)
        gsel = Signal()
        is_last = Signal()                              # t1 == BL: a register, so no compare reaches `last`
        m.d.comb += self.gate.eq(self.active & gsel)
        # One adder and one compare serve the start and the slot ends, with no mux in front of them: the
        # gate LFSR register holds the number of the slot being prepared (slot 0's while idle; from
        # `start` on one leap further, the next slot's: it leaps at a stochastic `start` and at every
        # stochastic slot end but the last, so after the train it holds the state the golden twin's gate
        # LFSR has then), and the sigma-delta register is held at 2**(P-1) while idle and takes
        # 2**(P-1) + G at `start` (a constant while idle: the flip-flops' synchronous set/reset). (The
        # muxes of idle and slot values in front of the compare and the adder cost 32 LUT.)
        gate_next = Signal(W)
        m.d.comb += gate_next.eq(leap_value(gate_lfsr, W, L))
        accs = Signal(P + 1)
        m.d.comb += accs.eq(accn[:P] + self.g)
        num = Signal(P)                                 # the number of the slot being prepared
        m.d.comb += num.eq(gate_lfsr[:P])
        lt = Signal()                                   # num < G: the carry out of G + ~num (P + 2 bits)
        m.d.comb += lt.eq((self.g + Cat(~num, 1))[P + 1])
        with m.If(self.start):                          # slot 0's gate
            m.d.sync += [accn.eq(accs), gsel.eq(Mux(self.det, accs[P], lt))]
            with m.If(~self.det):
                m.d.sync += gate_lfsr.eq(gate_next)
        with m.Elif(~self.active):
            m.d.sync += accn.eq(1 << (P - 1))
        with m.Elif(self.advance):
            m.d.sync += gsel.eq(lt)
            with m.If(~is_last):
                m.d.sync += gate_lfsr.eq(gate_next)

        slot_end = Signal()                             # the taken strobe ends a slot (not phase 0 of two)
        nm1 = Signal(BLW)                               # BL - 1, registered while idle (BL settles long before)
        with m.If(~self.active):
            m.d.sync += nm1.eq(self.n_bl - 1)
        whole = Signal()                                # ~(two_phase & ~phase): a take ends the slot (a
                                                        # register kept with phase, so the enables of the
                                                        # ramps and the counter are one LUT from `take`: the
                                                        # decode of two_phase & ~phase behind it made a 4-LUT
                                                        # path to det_row's enable, 22.0 ns on the iCE40UP5K)
        m.d.comb += [
            slot_end.eq(self.take & whole),
            self.advance.eq(slot_end & ~self.det),
            self.last.eq(slot_end & is_last),
        ]
        with m.If(self.start):
            m.d.sync += [t1.eq(1), tr.eq(self.col_one), phase.eq(0), whole.eq(~self.two_phase), is_last.eq(nm1 == 0)]
        with m.Elif(~self.active):
            m.d.sync += [t1.eq(0), tr.eq(0), *ramp_load]
        with m.Elif(self.take):
            with m.If(~whole):
                m.d.sync += [phase.eq(1), whole.eq(1)]
            with m.Else():
                m.d.sync += [phase.eq(0), whole.eq(~self.two_phase), t1.eq(t1 + 1), tr.eq(tr + self.col_one),
                             is_last.eq(t1 == nm1), accn.eq(accs), *ramp_load]
                with m.If(self.det):                    # the sigma-delta's next carry
                    m.d.sync += gsel.eq(accs[P])
        return m
