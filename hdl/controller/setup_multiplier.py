"""The multiplier of the controller's set-up (hdl/controller/controller_setup.py): p = a * b, unsigned,
two cycles of latency, with its input and output registers inside the DSP block on the ECP5.

Latency and format: `a` and `b` (unsigned, `a_width` and `b_width` bits) are registered on the clock
edges where `en` is high (the controller latches lr_mant and |s_mant| there on an update's first beat,
so they need no fabric register of their own: 8 flip-flops alone in their logic cells on the iCE40UP5K
8x8 controller, which the SB_MAC16 takes as its A/B registers with AHOLD/BHOLD), the product of the
registered pair is registered on every edge, so p(t + 2) = a(t) * b(t) if en(t), exactly, in p_width
bits (a_width + b_width by default; the caller may know the product narrower), and p holds that product
while `en` stays low. No register has a reset (RST0 tied low in the DSP):
the set-up reads the product only two or more edges after `en` (the update's first beat, after a reset
too), never one of operands from before a reset, and a reset-less register is what synth_ice40 -dsp packs into the SB_MAC16 (with the sync reset
the 8x8 controller kept 63 fabric flip-flops beside the DSP, each a logic cell of its own; reset-less
they are the SB_MAC16's A/B/O registers). All three start at 0 (Amaranth's init; GSR disabled).

Why a block of its own: Yosys's synth_ecp5 (synth_lattice -family ecp5, checked with Yosys 0.70) maps a
`$mul` to a MULT18X18D with every register bypassed (+/lattice/dsp_map_18x18.v) and has no pass that
packs fabric flip-flops into it (only the Nexus family has one, lattice_dsp_nexus); registers around
the multiplier in the fabric then leave the whole multiply plus the routing into and out of the DSP in
one cycle (3.9 ns inside the DSP + 4.9 ns of routing on the 100x784 controller: 107.9 MHz). Instantiated
with REG_INPUTA/B_CLK and REG_OUTPUT_CLK = "CLK0", the DSP's own registers hold the operands and the
product: the fabric-to-DSP and DSP-to-fabric nets are then register-to-register paths of their own and
the multiply sits between the DSP's input and output registers (nextpnr-ecp5's MULT18X18D_REGS_ALL
timing). The internal pipeline register (REG_PIPELINE_CLK) is left out: it would add a cycle to every
write's set-up, and the multiply between the DSP's registers (3.9 ns from A/B to P in nextpnr's
MULT18X18D_REGS_NONE timing, which nextpnr does not time inside a registered DSP) fits the 8 ns of
125 MHz. Measured (ControllerSetup of the 100x784 controller alone in the SerialHarness, nextpnr-ecp5
seed 1): 121.9 MHz with the behavioural model (the multiply from fabric registers to fabric registers,
8.2 ns), 150.8 MHz with the primitive (worst path then P -> bit_length(prod), 6.6 ns), 160.9 MHz once
the set-up copies P into a fabric register and tests `big` with a mask instead of bit_length(prod)
(worst path then the window's barrel shifter, 6.2 ns).

`dsp` selects the implementation:
  "generic"  the behavioural model (registers and `*`): simulation, the Verilog of the simulators
             (Icarus, Verilator), iCE40 (synth_ice40 -dsp packs the registers into the SB_MAC16 itself);
  "ecp5"     the MULT18X18D primitive (both widths <= 18); the Verilog then needs the ECP5 cell library,
             so it is only for synth_ecp5 (flow/synth.py passes it for the ecp5 target);
  "auto"     "ecp5" when elaborated for an Amaranth platform of the ECP5 family (the board bitstream
             flow, flow/bitstream.py) and both widths fit, else "generic" (no platform: simulation and
             the generated Verilog).
Both have the same latency and the same result (tests/amaranth_sim/test_setup_multiplier.py checks
the model bit for bit and the primitive's parameters and bit wiring in the synth_ecp5 netlist).
"""
from __future__ import annotations

from amaranth import Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

# the implementations of `dsp` and the checks shared with the engine's lane multipliers (unsigned use
# here: SIGNEDA = SIGNEDB = 0)
from hdl.dsp_multiplier import DSP_KINDS, ECP5_WIDTH, check_dsp, check_widths, dsp_kind, mult18x18d  # noqa: F401

#: the multiplier's latency in cycles (operands to product)
LATENCY = 2


class SetupMultiplier(wiring.Component):
    """p = a * b two cycles after a and b (see the module docstring).

    Parameters
    ----------
    a_width, b_width : int
        Operand widths (unsigned), >= 1; <= 18 each for dsp="ecp5".
    p_width : int or None
        Product width, 1 .. a_width + b_width (default the sum): the caller's bound on a * b (the bits
        above are dropped; the DSP computes them anyway).
    dsp : str
        "auto" (default), "generic" or "ecp5".

    Ports
    -----
    a : In(a_width), b : In(b_width)
        The operands, sampled on clock edges with `en`.
    en : In(1)
        The operands' registers take a and b at the next clock edge.
    p : Out(p_width)
        a * b of the registered operands, one edge later (a register: the DSP's output register on the
        ECP5, enabled on every edge).
    """

    def __init__(self, a_width: int, b_width: int, p_width: int | None = None, *, dsp: str = "auto"):
        self.dsp = check_dsp(dsp)
        p_width = check_widths(a_width, b_width, p_width, dsp, "unsigned")
        self.a_width, self.b_width = a_width, b_width
        super().__init__({"a": In(a_width), "b": In(b_width), "en": In(1), "p": Out(p_width)})

    def kind(self, platform) -> str:
        """The implementation elaborated for `platform`: "generic" or "ecp5"."""
        return dsp_kind(self.dsp, platform, self.a_width, self.b_width)

    def elaborate(self, platform):
        m = Module()
        if self.kind(platform) == "generic":
            a_r = Signal(self.a_width, reset_less=True)     # the input registers
            b_r = Signal(self.b_width, reset_less=True)
            p_r = Signal(len(self.p), reset_less=True)      # the output register
            with m.If(self.en):
                m.d.sync += [a_r.eq(self.a), b_r.eq(self.b)]
            m.d.sync += p_r.eq(a_r * b_r)
            m.d.comb += self.p.eq(p_r)
            return m
        # MULT18X18D, unsigned 18 x 18 -> 36: input registers A and B and the output register on CLK0,
        # the inputs' clock enable CE0 = en, the output's CE1 tied high, their synchronous reset RST0
        # tied low (as the behavioural
        # model; GSR disabled: Amaranth's registers do not follow the global set/reset either); the C
        # input, the shift chains (SOURCEA/B = 0: A and B from the ports) and the pipeline register
        # unused. Ports are single bits (A0..A17, B0..B17, P0..P35), as in Yosys's own dsp_map.
        W = ECP5_WIDTH
        a = [self.a[i] if i < self.a_width else Const(0, 1) for i in range(W)]
        b = [self.b[i] if i < self.b_width else Const(0, 1) for i in range(W)]
        p = Signal(2 * W)
        m.submodules.mult = mult18x18d(a, b, p, signed=False, ce=self.en, rst=Const(0, 1), ce_out=Const(1, 1))
        m.d.comb += self.p.eq(p[:len(self.p)])
        return m
