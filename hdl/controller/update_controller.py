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
           for the whole update, so they may change freely while an update loads or is written
           (tested: tests/amaranth_sim/test_controller_invariants.py). s_mant and s_exp are latched
           from the first beat too (the stream contract: the same on every beat of an update), lr_exp
           + s_exp in one register, lr_mant and |s_mant| in the set-up multiplier's input registers.
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
  + 10 + H + P                     set-up (hdl/controller/controller_setup.py setup_cycles): 9 registered
                                   plan steps (the 9th also the first step of the radix-2 divider of the
                                   gate threshold), H = shift_cycles cycles of the serial window shift
                                   (16 at the default widths), P more divider steps, one settle cycle:
                                   42 at the default widths
  + BL * phases                    slots (times ceil((a+b)/S) + 1 cycles per slot when serialised)
  + 1                              done
independent of a*b: every line has its own magnitude/sign register, LFSR and P-bit comparator (or,
line_store="ram", every serial beat's S lines are one address of S banks with S comparators). A
flagged or zero update costs the load, 10 + H set-up cycles and done. (Before the set-up was pipelined
it took P + 3 cycles: 2 scalar cycles and P + 1 divider cycles; with a radix-4 divider the pipeline took
9 + ceil((P+1)/2), 18 at P = 16; the radix-2 divider that closes timing on the iCE40UP5K took 7 more,
9 + P; the serial window shift that saves 230 logic cells on the iCE40UP5K (issue 9) H + 1 more.)
After reset the controller idles one cycle (state INIT) before it accepts input.

Structure: one LineCell (hdl/controller/line_cell.py) per row and per column line; the set-up arithmetic
(hdl/controller/controller_setup.py ControllerSetup: scale, BL, gate threshold); the slot sequencer
(hdl/controller/slot_sequencer.py SlotSequencer: slot counter, phase, slot gate and deterministic ramps);
with serial_width > 0 the SlotSerialiser (hdl/controller/slot_serialiser.py). The controller itself holds the
per-update registers, the input side of the load chains and the FSM INIT -> LOAD -> SCALE -> SETUP ->
SLOTS -> DONE (SETUP -> DONE directly for a flagged or zero update). The loader keeps the OR of the
magnitudes of each vector (its bit length is that of the maximum) and |s_mant| in registers, so no
compare chain sits on the input path (each beat's OR goes to a register of its own and is folded in the
cycle after; the set-up reads the folds in its second step, when they hold the last beat too).

Storage (ControllerConfig.line_store): "regs" shifts each vector in `lanes` elements per beat through a
chain of registers (the line cells' magnitude/sign registers), so element i of the vector lands at a
fixed position (no address decoder over a or b lines), and every line has its own LFSR register and
compare unit. "ram" (serial output only; chosen by "auto" for a + b > 256) keeps magnitudes, signs and
LFSR states in S = serial_width memory banks with S compare units (hdl/controller/line_banks.py
LineBanks): the same slots, beats and cycles; a reset re-seeds the LFSR memory from a copy of the seeds
it keeps (as the register store's reset does its LFSR registers).
"""
from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from contract.controller_config import ControllerConfig
from contract.enums import Vec
from contract.layouts import MODE_LAYOUT, STATUS_LAYOUT, serial_layout, update_layout

from hdl.controller.controller_setup import ControllerSetup, esum_width, setup_cycles as _setup_cycles
from hdl.controller.setup_multiplier import check_dsp
from hdl.controller.slot_sequencer import SlotSequencer
from hdl.controller.line_banks import LineBanks
from hdl.controller.line_cell import LineCell, check_fabric
from hdl.controller.slot_serialiser import SlotSerialiser


def update_cycles(*, a: int, b: int, lanes: int = 1, elem_width: int = 16, bl: int, phases: int = 1,
                  serial_width: int = 0, bl_width: int = 12, lr_width: int = 16, mant_width: int = 16) -> int:
    """Cycles from the first input beat to the done strobe (both inclusive) of one written update,
    with an input that never pauses and drivers that never stall (measured in the tests)."""
    load = -(-a // lanes) + -(-b // lanes)
    per_slot = 1 if not serial_width else -(-(a + b) // serial_width) + 1
    return load + _setup_cycles(elem_width, bl_width=bl_width, lr_width=lr_width, mant_width=mant_width) \
        + bl * phases * per_slot + 1


def _magnitude(x):
    """|x| of a signed value, unsigned in len(x) bits, as (x - s) ^ s with s its sign bit replicated: one
    carry chain whose sum LUT also takes the XOR (one logic cell per bit on the iCE40), where
    Mux(x < 0, -x, x) was a negation's chain and a mux behind it (the 8-bit s_mant and element
    magnitudes of the iCE40UP5K 8x8 controller: 23 logic cells more for the two)."""
    w = len(x)
    s = x[-1]
    return (x.as_unsigned() - s)[:w] ^ s.replicate(w)


def _load_chain(m, cells, lane_mag, lane_sgn, load, name):
    """Connect the line cells of one side (line k = cells[k]) into the load shift chain.

    Lane l of the input feeds a chain through the lines l + L*d, highest d first: on each `load` beat
    every position takes the one before it and the first takes the lane, so after the vector's
    n = ceil(len(cells)/L) beats element i sits in line i, at depth n-1 - i//L of lane i%L. A lane whose
    element of the last beat is padding still needs that first position (it carries the lane's earlier
    elements on): a plain register, with no line.
    """
    L = len(lane_mag)
    n = -(-len(cells) // L)
    for lane in range(L):
        mag, sgn = lane_mag[lane], lane_sgn[lane]
        for depth in range(n):
            k = (n - 1 - depth) * L + lane
            if k < len(cells):
                cell = cells[k]
                m.d.comb += [cell.load.eq(load), cell.in_mag.eq(mag), cell.in_sgn.eq(sgn)]
                mag, sgn = cell.mag, cell.sgn
            elif depth < n - 1:                       # padding position (depth 0 only) that carries on
                pad_mag = Signal.like(mag, name=f"{name}_pad{lane}_mag")
                pad_sgn = Signal(name=f"{name}_pad{lane}_sgn")
                with m.If(load):
                    m.d.sync += [pad_mag.eq(mag), pad_sgn.eq(sgn)]
                mag, sgn = pad_mag, pad_sgn


class UpdateController(wiring.Component):
    """Rank-1 crossbar write from the SBE update stream (see the module docstring).

    Parameters
    ----------
    cfg : ControllerConfig, or its fields as keywords (contract/controller_config.py: a, b, lanes,
        elem_width, mant_width, exp_width, lr_width, lr_exp_width, bl_width, lfsr_width, seed,
        serial_width; the same bounds as the golden twin).
    dsp : str
        The set-up multiplier's implementation (hdl/controller/setup_multiplier.py): "auto" (default),
        "generic" or "ecp5" (the MULT18X18D with its registers; flow/synth.py sets it for synth_ecp5).
    fabric : str
        The line cells' form (hdl/controller/line_cell.py, register store only): "generic" (default) or
        "ice40" (magnitude registers and compares from iCE40 primitives, one logic cell per bit; only
        for synth_ice40: flow/synth.py sets it for the ice40 target). "ice40" also builds the slot
        sequencer's deterministic ramps as products (hdl/controller/slot_sequencer.py ramps="multiply":
        two SB_MAC16s beside the set-up's, 3 of the iCE40UP5K's 8 DSPs in all).

    Raises
    ------
    TypeError, ValueError
        On an invalid parameter, naming it.
    """

    def __init__(self, cfg: ControllerConfig | None = None, *, dsp: str = "auto", fabric: str = "generic", **params):
        self.cfg = c = cfg if cfg is not None else ControllerConfig(**params)
        self.dsp = check_dsp(dsp)
        self.fabric = check_fabric(fabric)
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
        """Cycles between the last input beat and the first slot (9 plan steps, the serial window shift,
        P more divider steps, 1 settle cycle: controller_setup.setup_cycles)."""
        c = self.cfg
        return _setup_cycles(c.elem_width, bl_width=c.bl_width, lr_width=c.lr_width, mant_width=c.mant_width)

    def cycles_per_update(self, bl: int, phases: int = 1) -> int:
        """Cycles of one written update with a never-pausing input and drivers (see the docstring)."""
        c = self.cfg
        return update_cycles(a=c.a, b=c.b, lanes=c.lanes, elem_width=c.elem_width, bl=bl, phases=phases,
                             serial_width=c.serial_width, bl_width=c.bl_width, lr_width=c.lr_width,
                             mant_width=c.mant_width)

    def elaborate(self, platform):
        m = Module()
        c = self.cfg
        a, b, L, P, W = c.a, c.b, c.lanes, c.elem_width, c.lfsr_width
        nbr, nbc = -(-a // L), -(-b // L)

        # -- submodules ----------------------------------------------------------------------------
        m.submodules.setup = setup = ControllerSetup(c, dsp=self.dsp)
        m.submodules.slots = seq = SlotSequencer(c, ramps="multiply" if self.fabric == "ice40" else "shift")
        ram = c.ram
        seeds = c.lfsr_seeds                                    # rows 0..a-1, columns a.., the gate a+b
        kw = dict(elem_width=P, lfsr_width=W, fabric=self.fabric)
        rows = [] if ram else [LineCell(seed=seeds[i], **kw) for i in range(a)]
        cols = [] if ram else [LineCell(seed=seeds[a + j], **kw) for j in range(b)]
        for i, cell in enumerate(rows):
            m.submodules[f"row{i}"] = cell
        for j, cell in enumerate(cols):
            m.submodules[f"col{j}"] = cell

        # -- per-update registers (sampled in LOAD) ------------------------------------------------
        s_mant = Signal(signed(c.mant_width))
        esum = Signal(signed(esum_width(c)))       # lr_exp + s_exp
        bl_n = Signal(c.bl_width)                   # ~bl (hdl/controller/controller_setup.py: its compares)
        det, mgmt, two_phase = Signal(), Signal(), Signal()
        fresh = Signal(init=1)                      # the next beat is the first of an update
        loading = Signal()                          # the state is LOAD: i.ready is this register, not a
                                                    # decode of the state (the input side's paths start here)
        mu = Signal(P)                              # OR of |u_i| so far, smeared right (mu |= mu >> 1 in
        mv = Signal(P)                              # every cycle, the OR's bit length, that of the max, kept):
                                                    # the lines' masks 2**ku - 1, 2**kv - 1 once the last
                                                    # beat is in and P - 1 cycles have passed, long before
                                                    # the first slot (one LUT per bit, where the set-up's
                                                    # mask registers smeared copies: 13 logic cells on the
                                                    # iCE40UP5K 8x8 controller)
        pu = Signal(P)                              # the OR of the last cycle's row beat (0 if none): the
        pv = Signal(P)                              # beat's magnitudes reach a register of their own, and
                                                    # are folded into mu (mv) the cycle after (the ram store;
                                                    # the register store folds its chain's beat registers)
        rcount = Signal(range(nbr + 2))
        ccount = Signal(range(nbc + 2))
        bad_order = Signal()
        seen_col = Signal()
        proto = Signal()

        # -- FSM strobes ---------------------------------------------------------------------------
        load_row, load_col = Signal(), Signal()     # shift the row / column load chain
        take_en = Signal()                          # a copy of in_slots for the slot-taken path only (its
                                                    # clear also on done, never high then, keeps the two
                                                    # registers apart in synthesis)
        in_slots = Signal()                         # a slot is presented: the state is SLOTS (a register
                                                    # of its own, not a decode of the state: it has the
                                                    # largest fan-out and starts the slot-taken path)
        slot_taken = Signal()                       # ... and taken this cycle

        # -- input beat: lane magnitudes and signs, the beat's largest magnitude -------------------
        beat = self.i.payload
        lane_mag, lane_sgn = [], []
        for k in range(L):
            e = beat.elems[k]
            mg = Signal(P, name=f"lane_mag{k}")
            m.d.comb += mg.eq(_magnitude(e))
            lane_mag.append(mg)
            lane_sgn.append(e[-1])                 # the sign bit: e < 0
        beat_or = Signal(P)
        or_all = lane_mag[0]
        for k in range(1, L):
            or_all = or_all | lane_mag[k]
        m.d.comb += beat_or.eq(or_all)

        # -- connections ---------------------------------------------------------------------------
        if not ram:
            # The chains shift the beat one cycle after it is taken, from registers (no input-to-line-cell
            # path); they are read from the first slot on, setup_cycles + 1 cycles after the last beat at
            # the earliest.
            ch_mag = [Signal(P, name=f"ch_mag{k}") for k in range(L)]
            ch_sgn = [Signal(name=f"ch_sgn{k}") for k in range(L)]
            ch_row, ch_col = Signal(), Signal()
            m.d.sync += [ch_row.eq(load_row), ch_col.eq(load_col)]
            m.d.sync += [x.eq(y) for x, y in zip(ch_mag + ch_sgn, lane_mag + lane_sgn)]
            _load_chain(m, rows, ch_mag, ch_sgn, ch_row, "row")
            _load_chain(m, cols, ch_mag, ch_sgn, ch_col, "col")
        m.d.comb += [
            setup.mu.eq(mu), setup.mv.eq(mv), setup.esum.eq(esum),
            setup.lr_mant.eq(self.lr_mant), setup.s_abs.eq(_magnitude(beat.s_mant)), setup.bl_n.eq(bl_n),
            setup.latch.eq(loading & self.i.valid & fresh),    # lr_mant, |s_mant| into the multiplier
            setup.det.eq(det), setup.bl_mgmt.eq(mgmt), setup.protocol.eq(proto),
            seq.active.eq(in_slots), seq.det.eq(det), seq.two_phase.eq(two_phase), seq.g.eq(setup.g),
            seq.ku.eq(setup.ku), seq.kv.eq(setup.kv), seq.col_one.eq(setup.col_one),
            seq.n_bl.eq(setup.n_bl), seq.mu.eq(mu), seq.mv.eq(mv),
        ]
        # Whether a line of either sign may fire, once per side (not per line): the slot gate; columns in
        # two-phase mode only in the phase equal to their sign.
        col_ok_pos, col_ok_neg = Signal(), Signal()
        m.d.comb += [col_ok_pos.eq(seq.gate & ~(two_phase & seq.phase)), col_ok_neg.eq(seq.gate & ~(two_phase & ~seq.phase))]
        for cell in rows:                           # rows: polarity flipped for s >= 0, no phase gating
            m.d.comb += [cell.advance.eq(seq.advance), cell.det.eq(det), cell.det_value.eq(seq.det_row),
                         cell.mask.eq(mu), cell.ok_pos.eq(seq.gate), cell.ok_neg.eq(seq.gate),
                         cell.pol_flip.eq(~s_mant[-1])]
        for cell in cols:                           # columns: own polarity, one phase per sign
            m.d.comb += [cell.advance.eq(seq.advance), cell.det.eq(det), cell.det_value.eq(seq.det_col),
                         cell.mask.eq(mv), cell.ok_pos.eq(col_ok_pos), cell.ok_neg.eq(col_ok_neg),
                         cell.pol_flip.eq(0)]
        m.d.comb += [self.i.ready.eq(loading), self.busy.eq(~fresh & ~loading)]

        drained = Signal(init=1)                    # every beat of the update has left (ram store)
        if ram:
            m.submodules.banks = banks = LineBanks(c)
            m.d.comb += drained.eq(banks.drained)
            m.d.comb += [
                banks.load.eq(load_row | load_col), banks.vec_x.eq(load_col),
                banks.rewind.eq(self.done),
                banks.in_mag.eq(Cat(*lane_mag)), banks.in_sgn.eq(Cat(*lane_sgn)),
                banks.present.eq(in_slots), banks.gate.eq(seq.gate), banks.det.eq(det),
                banks.two_phase.eq(two_phase), banks.phase.eq(seq.phase), banks.row_pol_flip.eq(~s_mant[-1]),
                banks.det_row.eq(seq.det_row), banks.det_col.eq(seq.det_col),
                banks.mask_u.eq(mu), banks.mask_v.eq(mv),
                slot_taken.eq(banks.taken),
            ]
            wiring.connect(m, banks.o, wiring.flipped(self.o))
        elif c.serial_width:
            row_fire, row_pol = Cat(*(x.fire for x in rows)), Cat(*(x.pol for x in rows))
            col_fire, col_pol = Cat(*(x.fire for x in cols)), Cat(*(x.pol for x in cols))
            m.submodules.serialiser = ser = SlotSerialiser(n_lines=a + b, serial_width=c.serial_width)
            m.d.comb += [ser.present.eq(in_slots), ser.fire.eq(Cat(row_fire, col_fire)),
                         ser.pol.eq(Cat(row_pol, col_pol)), slot_taken.eq(ser.taken)]
            wiring.connect(m, ser.o, wiring.flipped(self.o))
        else:
            row_fire, row_pol = Cat(*(x.fire for x in rows)), Cat(*(x.pol for x in rows))
            col_fire, col_pol = Cat(*(x.fire for x in cols)), Cat(*(x.pol for x in cols))
            m.d.comb += [
                self.row_fire.eq(row_fire), self.row_pol.eq(row_pol),
                self.col_fire.eq(col_fire), self.col_pol.eq(col_pol),
                self.slot.eq(in_slots),
                slot_taken.eq(take_en & self.slot_ready),
            ]

        # -- the input side: a beat is taken while `loading` (the state LOAD) -----------------------
        if ram:
            m.d.sync += [mu.eq(mu | (mu >> 1) | pu), mv.eq(mv | (mv >> 1) | pv), pu.eq(0), pv.eq(0)]
        else:                                       # the chain's registers hold the last cycle's beat: no
            ch_or = ch_mag[0]                       # second copy of its magnitudes (32 FF at P = 16)
            for k in range(1, L):
                ch_or = ch_or | ch_mag[k]
            m.d.sync += [mu.eq(mu | (mu >> 1) | Mux(ch_row, ch_or, 0)), mv.eq(mv | (mv >> 1) | Mux(ch_col, ch_or, 0))]
        with m.If(loading & self.i.valid):
            m.d.sync += fresh.eq(0)
            with m.If(fresh):                       # (s_mant, s_exp: the same on every beat, by the contract)
                m.d.sync += [s_mant.eq(beat.s_mant),
                             esum.eq(self.lr_exp + beat.s_exp), bl_n.eq(~self.bl),
                             det.eq(self.mode.det), mgmt.eq(self.mode.bl_mgmt),
                             two_phase.eq(self.mode.two_phase)]
            with m.If(beat.vec == Vec.D):
                m.d.comb += load_row.eq(1)
                m.d.sync += rcount.eq(rcount + 1)
                if ram:
                    m.d.sync += pu.eq(beat_or)
                with m.If(seen_col | (beat.last & (rcount != nbr - 1))):
                    m.d.sync += bad_order.eq(1)
            with m.Else():
                m.d.comb += load_col.eq(1)
                if ram:
                    m.d.sync += pv.eq(beat_or)
                m.d.sync += [ccount.eq(ccount + 1),
                             seen_col.eq(1)]
                with m.If(beat.last):
                    m.d.sync += [proto.eq(bad_order | (rcount != nbr) | (ccount != nbc - 1)),
                                 loading.eq(0)]

        # -- the slot train starts on setup.go, a register that is high for one cycle in SETUP only (the
        # settle cycle of an update that is not skipped; a skipped update leaves SETUP at the first divider
        # cycle and its go stays low)
        # A slot is taken only while in_slots (the drivers' and the serialisers' `taken` follow a presented
        # slot), so seq.take needs no decode of the state either; seq.last ends SLOTS.
        m.d.comb += [seq.start.eq(setup.go), seq.take.eq(slot_taken)]
        with m.If(setup.go):
            m.d.sync += [in_slots.eq(1), take_en.eq(1)]
        with m.If(seq.last):
            m.d.sync += [in_slots.eq(0), take_en.eq(0)]
        with m.If(self.done):
            m.d.sync += take_en.eq(0)

        # -- FSM -----------------------------------------------------------------------------------
        with m.FSM():
            # One idle cycle after reset: the state then changes once, which makes event-driven
            # simulators (Icarus) evaluate every combinational output of the state at least once.
            with m.State("INIT"):
                m.d.sync += loading.eq(1)
                m.next = "LOAD"
            with m.State("LOAD"):
                with m.If(self.i.valid & (beat.vec != Vec.D) & beat.last):
                    m.next = "SCALE"
            with m.State("SCALE"):                 # set-up step 1; the pipeline then runs by itself
                m.d.comb += setup.start.eq(1)
                m.next = "SETUP"
            with m.State("SETUP"):
                with m.If(setup.dividing & setup.skip):
                    m.next = "DONE"
                with m.Elif(setup.go):               # (go is high only here: see the slot start below)
                    m.next = "SLOTS"
            with m.State("SLOTS"):
                with m.If(seq.last):
                    m.next = "DONE"
            with m.State("DONE"):                  # (ram store: once the last beat has left)
                with m.If(drained):
                    m.d.comb += self.done.eq(1)
                    m.d.sync += [self.status.eq(setup.status.as_value()),
                                 mu.eq(0), mv.eq(0), rcount.eq(0), ccount.eq(0), bad_order.eq(0),
                                 seen_col.eq(0), fresh.eq(1), loading.eq(1)]
                    m.next = "LOAD"
        return m
