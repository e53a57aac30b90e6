"""One row or column line of the crossbar update controller (hdl/controller/update_controller.py).

A line owns everything of the pulse scheme (golden/rtl/update_controller.py) that is per line: the
magnitude and sign of its element of Dhat or Xhat, held in one position of the controller's load shift
chain; its LFSR (contract/lfsr.py: seeded with line_seeds' state for the line, leapt max(P, low tap)
single steps per stochastic slot by the XOR network of hdl/controller/lfsr.py leap_value); the P-bit
compare that decides whether the line fires in a slot; and its polarity.
Everything shared by all lines of a side (the mask, the deterministic ramp value, whether a line of either
sign may fire in this slot: the slot gate, the phase) comes in as ports, so the
cost of a line does not depend on the number of lines.

Two forms with the same behaviour, cycle for cycle (`fabric`):
  "generic"  behavioural (simulation, the simulators' Verilog, the ECP5);
  "ice40"    bit k of the magnitude register and of the compare's carry chain in one iCE40 logic cell:
             an ICESTORM_LC (LUT = I0 = in_mag[k], its flip-flop enabled by `load`; I1, I2, I3 = mag[k],
             ~value[k], carry in) beside an SB_CARRY (mag[k] + ~value[k]) that nextpnr-ice40 packs into it
             (it packs a carry into the cell whose LUT has the carry's operands on I1/I2 and its carry in
             on I3). Written behaviourally, synth_ice40 leaves each magnitude flip-flop alone in a cell
             (no LUT in front of it) and each carry in another (an operand's LUT joins a carry's cell only
             if it reads at most two nets besides the other operand; the value's mux reads four): 2 P
             cells become P. An SB_LUT4 pass-through or inverter in front of the flip-flop does not get
             there (Yosys's ABC9 maps through SB_LUT4, a whitebox, and drops or duplicates it); the
             ICESTORM_LC is a black box to Yosys and nextpnr's own cell. Prepacking the carries too (or an
             ICESTORM_LC reading the carry out) stops nextpnr 0.11 in "Constraining chains", so the carry
             out leaves through a feed-out cell nextpnr adds, where the generic form's LUT reads it on I3
             in the cell after the chain (~3 ns more); the rest of `fire` is a kept net (ok), so the carry
             out meets one LUT before the harness's capture instead of two. 8 x 8 controller at P = 8
             (iCE40UP5K, seeds 1/2/3): 1,502 -> 1,391 logic cells, 57.7/55.8/60.1 -> 56.0/58.8/56.0 MHz
             (1,405 cells at 51.1/48.0/46.8 MHz with `fire` left to the mapper). The flip-flops in the
             ICESTORM_LCs are not in Yosys's SB_DFF* count (the synth summary's FF column: 128 fewer).
             Only for synth_ice40 (flow/synth.py passes it for the ice40 target);
             tests/amaranth_sim/test_line_cell_ice40.py simulates this form (Icarus, Yosys's cell models)
             against the generic form, cycle for cycle.
"""
from __future__ import annotations

from amaranth import Cat, ClockSignal, Const, Instance, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract.checks import check_choice, check_int
from contract.lfsr import check_width, leap_steps

from hdl.controller.lfsr import leap_int, leap_value

#: the implementations of a line's magnitude register and compare (module docstring)
FABRICS = ("generic", "ice40")
#: LUT_INIT of O = I0: the logic cell's LUT passes in_mag[k] to its flip-flop
LUT_PASS_I0 = 0xAAAA


def check_fabric(fabric) -> str:
    """`fabric` if it names a form of the line cells, else ValueError saying which ones exist."""
    return check_choice("fabric", fabric, FABRICS, "the line cells' form: 'ice40' builds their magnitude registers "
                        "and compares from iCE40 primitives, only for synth_ice40")


class LineCell(wiring.Component):
    """One pulse line: load-chain register, LFSR, P-bit compare, fire and polarity.

    Parameters
    ----------
    elem_width : int
        P: bits of the magnitude and of the line's random number (2 .. lfsr_width).
    lfsr_width : int
        State bits of the line's LFSR, a key of contract.lfsr.TAPS.
    seed : int
        Reset state of the LFSR (the line's contract.lfsr.line_seeds entry, 1 .. 2**lfsr_width - 1).
    fabric : str
        "generic" (default) or "ice40" (the module docstring).

    Ports
    -----
    load : In(1)
        Shift the load chain: `mag`, `sgn` take `in_mag`, `in_sgn` at the next clock edge.
    in_mag : In(P)
        Magnitude |e| of the element shifted in (unsigned, Q1.F magnitude, F = P - 1): the input lane
        or the previous position of the chain.
    in_sgn : In(1)
        Sign of the element shifted in (1 = negative).
    mag : Out(P)
        The line's magnitude register (not reset: each update loads it before its first slot); also
        the next position of the chain reads it.
    sgn : Out(1)
        The line's sign register (not reset).
    advance : In(1)
        Leap the LFSR by max(P, low tap) single steps at the next clock edge (once per stochastic slot).
    det : In(1)
        Deterministic mode: compare `det_value` instead of the random number.
    det_value : In(P)
        The slot's deterministic ramp value, shared by the lines of one side.
    mask : In(P)
        2**k - 1: the random number is the low P bits of the LFSR register (kept one leap ahead: the
        state after this slot's leap), masked to k bits.
    ok_pos, ok_neg : In(1)
        A line of sign 0 (ok_pos) or 1 (ok_neg) may fire in the presented slot: the slot gate (low
        outside the slot phase), the two-phase gating (a column fires only in the phase equal to its
        sign; rows: ok_pos = ok_neg).
    pol_flip : In(1)
        Inverts the polarity (the row lines: s >= 0; the column lines tie it low).
    fire : Out(1)
        The line fires in the presented slot: (sgn ? ok_neg : ok_pos) & (value < mag), value = det_value
        or the masked random number. Combinational from the registers and the ports (no latency).
    pol : Out(1)
        The line's polarity, sgn ^ pol_flip (1 = negative). Combinational.
    """

    def __init__(self, *, elem_width: int, lfsr_width: int, seed: int, fabric: str = "generic"):
        self._width = check_width(lfsr_width)
        self._fabric = check_fabric(fabric)
        self._P = check_int("elem_width", elem_width, 2, lfsr_width)
        self._seed = check_int("seed", seed, 1, (1 << lfsr_width) - 1)
        P = elem_width
        super().__init__({
            "load": In(1), "in_mag": In(P), "in_sgn": In(1), "mag": Out(P), "sgn": Out(1),
            "advance": In(1), "det": In(1), "det_value": In(P), "mask": In(P), "ok_pos": In(1),
            "ok_neg": In(1), "pol_flip": In(1),
            "fire": Out(1), "pol": Out(1),
        })

    elem_width = property(lambda self: self._P, doc="P: bits of the magnitude and the random number.")
    lfsr_width = property(lambda self: self._width, doc="LFSR state bits.")
    seed = property(lambda self: self._seed, doc="Reset state of the LFSR.")
    fabric = property(lambda self: self._fabric, doc="The form of the magnitude register and compare.")

    def elaborate(self, platform):
        m = Module()
        W, P = self._width, self._P
        # Kept one leap ahead: the register holds the state the golden model reaches at the slot's
        # leap, so the slot's random number is its low P bits (no XOR between register and compare).
        L = leap_steps(W, P)                                 # steps per slot: max(P, low tap) (contract/lfsr.py)
        lfsr = Signal(W, init=leap_int(self._seed, W, L))
        with m.If(self.advance):
            m.d.sync += lfsr.eq(leap_value(lfsr, W, L))
        # Not reset (a reset would cost a LUT per line to merge with `load`): every update shifts a whole
        # vector through the chain before its first slot.
        mag, sgn = Signal(P, reset_less=True), Signal(reset_less=True)
        m.d.comb += [self.mag.eq(mag), self.sgn.eq(sgn)]
        with m.If(self.load):
            m.d.sync += sgn.eq(self.in_sgn)
        # value < mag as the carry out of mag + ~value (P + 1 bits): on the iCE40 the carry chain reads
        # both operands directly, and the inversion folds into the LUT that selects the value; written as
        # `value < mag` the tools invert the register operand, one LUT per bit more.
        nvalue = Signal(P)
        m.d.comb += nvalue.eq(Mux(self.det, ~self.det_value, ~(lfsr[:P] & self.mask)))
        lt = Signal()
        if self._fabric == "generic":
            with m.If(self.load):
                m.d.sync += mag.eq(self.in_mag)
            m.d.comb += lt.eq((mag + nvalue)[P])
        else:                                                # one logic cell per bit (module docstring)
            carry = [Const(0, 1)] + [Signal(name=f"carry{k + 1}") for k in range(P)]
            for k in range(P):
                m.submodules[f"mag{k}"] = Instance(
                    "ICESTORM_LC", p_LUT_INIT=Const(LUT_PASS_I0, 16), p_DFF_ENABLE=Const(1, 1),
                    i_CLK=ClockSignal("sync"), i_CEN=self.load,
                    i_I0=self.in_mag[k], i_I1=mag[k], i_I2=nvalue[k], i_I3=carry[k], o_O=mag[k])
                m.submodules[f"cmp_carry{k}"] = Instance(
                    "SB_CARRY", i_I0=mag[k], i_I1=nvalue[k], i_CI=carry[k], o_CO=carry[k + 1])
            m.d.comb += lt.eq(carry[P])
        # ok, the rest of `fire`, is a net Yosys keeps in the iCE40 form, so the mapper does not spread the
        # AND over two LUT levels behind the compare (lt, the carry chain's output, is the late input)
        ok = Signal(attrs={"keep": 1} if self._fabric == "ice40" else {})
        m.d.comb += [
            ok.eq(Mux(self.sgn, self.ok_neg, self.ok_pos)),
            self.fire.eq(ok & lt),
            self.pol.eq(self.sgn ^ self.pol_flip),
        ]
        return m
