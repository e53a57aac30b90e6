"""Slot sequencer of the crossbar update controller (hdl/controller/update_controller.py): the line-independent part
of the slot train.

It counts the slots t = 0 .. BL-1 and, in two-phase mode, the two phases of each slot; it holds the slot
gate (stochastic: the gate LFSR's P-bit number < G; deterministic: the carry of a first-order
sigma-delta accumulator, acc += G from 2**(P-1)); and it forms the values every row or every column line
compares against: the masks 2**ku - 1 and 2**kv - 1 and the deterministic ramps
((2t+1) << ku) >> (m+1) and ((2 rev_m(t) + 1) << kv) >> (m+1) (rev_m: m-bit reversal). The scheme is
specified in golden/rtl/update_controller.py.
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract.controller_config import ControllerConfig
from contract.lfsr import GATE_INDEX, line_seed

from hdl.controller.lfsr import leap_value


class SlotSequencer(wiring.Component):
    """Slot counter, phase, slot gate and the shared compare values of the lines.

    Parameters
    ----------
    cfg : ControllerConfig
        The controller's parameters (P = elem_width, bl_width, lfsr_width, seed).

    Ports
    -----
    start : In(1)
        Begin a train at the next clock edge: t = 0, phase 0, acc = 2**(P-1).
    active : In(1)
        A slot is presented (the controller's slot phase); `gate` is low otherwise.
    take : In(1)
        The presented slot (or phase) is taken: advance at the next clock edge (`start` wins; the
        controller never raises both).
    det, two_phase : In(1)
        The mode bits of the update (contract/layouts.py MODE_LAYOUT).
    g : In(P + 1)
        The gate threshold G (0 .. 2**P).
    ku, kv : In(range(P + 1))
        Bit lengths of max |u_i| and max |v_j|.
    m_log : In(range(bl_width + 1))
        log2(BL) (deterministic mode).
    n_bl : In(bl_width)
        BL, the slots of the train.
    gate : Out(1)
        The presented slot passes (active & (det ? carry of acc + G : gate LFSR number < G)).
    phase : Out(1)
        The phase of the presented slot (0: positive columns, 1: negative columns; 0 in one-phase mode).
    mask_u, mask_v : Out(P)
        2**ku - 1 and 2**kv - 1.
    det_row, det_col : Out(P + 1)
        The deterministic ramp values of the row lines and of the column lines in slot t.
    advance : Out(1)
        The line LFSRs leap at the next clock edge: a stochastic slot is complete (combinational).
    last : Out(1)
        This `take` completes the train (slot BL-1, its last phase; combinational).

    All outputs are combinational from the sequencer's registers and its inputs (no latency); the
    gate LFSR leaps with `advance`.
    """

    def __init__(self, cfg: ControllerConfig):
        self.cfg = c = cfg
        P, BLW = c.elem_width, c.bl_width
        super().__init__({
            "start": In(1), "active": In(1), "take": In(1), "det": In(1), "two_phase": In(1),
            "g": In(P + 1), "ku": In(range(P + 1)), "kv": In(range(P + 1)),
            "m_log": In(range(BLW + 1)), "n_bl": In(BLW),
            "gate": Out(1), "phase": Out(1), "mask_u": Out(P), "mask_v": Out(P),
            "det_row": Out(P + 1), "det_col": Out(P + 1), "advance": Out(1), "last": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        c = self.cfg
        P, W = c.elem_width, c.lfsr_width
        M = c.bl_width - 1                              # largest log2(BL) of a power-of-two BL
        t = Signal(c.bl_width)
        phase = self.phase
        acc = Signal(P)
        gate_lfsr = Signal(W, init=line_seed(c.seed, GATE_INDEX, W))
        gate_next = Signal(W)
        m.d.comb += gate_next.eq(leap_value(gate_lfsr, W, P))
        with m.If(self.advance):
            m.d.sync += gate_lfsr.eq(gate_next)

        m.d.comb += [self.mask_u.eq((Const(1, P + 1) << self.ku) - 1),
                     self.mask_v.eq((Const(1, P + 1) << self.kv) - 1)]
        rev = Signal(max(M, 1))
        if M:
            m.d.comb += rev.eq(Cat(*[t[M - 1 - k] for k in range(M)]))
        rev_sh = Signal(range(M + 1))
        m.d.comb += rev_sh.eq(M - self.m_log)
        m.d.comb += [
            self.det_row.eq((((t << 1) | 1) << self.ku) >> (self.m_log + 1)),
            self.det_col.eq((((rev << 1) + (Const(1, M + 1) << rev_sh)) << self.kv) >> (M + 1)),
        ]
        acc_next = Signal(P + 1)
        m.d.comb += acc_next.eq(acc + self.g)
        m.d.comb += self.gate.eq(self.active & Mux(self.det, acc_next[P], gate_next[:P] < self.g))

        slot_end = Signal()                             # the taken strobe ends a slot (not phase 0 of two)
        m.d.comb += [
            slot_end.eq(self.take & ~(self.two_phase & ~phase)),
            self.advance.eq(slot_end & ~self.det),
            self.last.eq(slot_end & (t == self.n_bl - 1)),
        ]
        with m.If(self.start):
            m.d.sync += [t.eq(0), phase.eq(0), acc.eq(1 << (P - 1))]
        with m.Elif(self.take):
            with m.If(self.two_phase & ~phase):
                m.d.sync += phase.eq(1)
            with m.Else():
                m.d.sync += [phase.eq(0), t.eq(t + 1), acc.eq(acc_next[:P])]
        return m
