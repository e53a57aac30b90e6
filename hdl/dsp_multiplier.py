"""A signed multiplier with registered operands and a registered product, advancing on an enable, with no
reset: p = a * b two enabled edges after a and b, its three registers inside the DSP block on the ECP5.

Latency and format: on every clock edge with `en` high, `a` and `b` (signed two's complement, `a_width`
and `b_width` bits) are registered and the product of the previously registered pair is registered, so
after the k-th enabled edge p holds a * b of the operands presented at the (k-1)-th, exactly, in
p_width bits (a_width + b_width by default; a caller that knows the product narrower may drop the top
bits). An edge without `en` changes nothing. No register has a reset (the engine's lanes, the user,
read no product of operands loaded before a reset; a reset-less register is also what Yosys packs into
an iCE40 SB_MAC16): all three start at 0 (Amaranth's init; GSR disabled in the DSP).

Why a block of its own: as for the controller's set-up multiplier (hdl/controller/setup_multiplier.py),
Yosys's synth_ecp5 maps `*` to a MULT18X18D with every register bypassed and packs no fabric flip-flop
into it, so the multiply plus the routing into and out of the DSP is one cycle between fabric registers
(the lane's oA1 -> pA2 at 8.4 ns on the 100x784 engine: 118.6 MHz). Instantiated with REG_INPUTA/B_CLK
and REG_OUTPUT_CLK = "CLK0" and CE0 = `en`, the DSP's own registers hold the operands and the product:
the nets into and out of the DSP become register-to-register paths of their own, the multiply sits
between its input and output registers. The pipeline register stays unused (it would add a cycle).
Signed operands use SIGNEDA = SIGNEDB = 1 with the operand sign-extended to the DSP's 18 bits.
Measured on the engine (hdl/engine/lane.py, five per lane): the multiply leaves the worst path and 287
fabric flip-flops go, but the nets into and out of the DSP are slower than those of a fabric flip-flop
(about 1.3 ns in, 0.74 ns clock-to-out plus 2 ns out), so logic right in front of the DSP's input
registers or right behind its output register becomes the worst path instead: a use gains the most where
the operands come straight from registers and the product goes into a register or one carry chain.
`fabric` ("in" or "out") moves the operand or the product registers out of the DSP into fabric
flip-flops for such a use (the DSP's own registers on that side bypassed; same behaviour and latency):
logic in front of the operands, or behind the product, then meets a fabric flip-flop, and the multiply
shares its cycle with the route on the other side only. The MULT18X18D's output register can have its
own clock enable (mult18x18d `ce_out`, on CE1: the scalar unit's ALU, hdl/engine/float_alu.py).

`dsp` selects the implementation (as SetupMultiplier's):
  "generic"  the behavioural model (registers and `*`): simulation, the simulators' Verilog, iCE40;
  "ecp5"     the MULT18X18D primitive (both widths <= 18, checked at construction); its Verilog needs
             the ECP5 cell library, so it is only for synth_ecp5;
  "auto"     "ecp5" when elaborated for an Amaranth platform of the ECP5 family and both widths fit,
             else "generic".
tests/amaranth_sim/test_dsp_multiplier.py checks the model against Python products with random enables
and the primitive's parameters and bit wiring in the synth_ecp5 netlist.
"""
from __future__ import annotations

from amaranth import ClockSignal, Const, Instance, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract.checks import check_choice

__all__ = ["DSP_KINDS", "ECP5_WIDTH", "LATENCY", "RegisteredMultiplier", "check_dsp", "check_widths", "dsp_kind"]

#: implementations of `dsp`: "generic" registers and `*` (simulation, iCE40: synth_ice40 -dsp packs the
#: registers into the SB_MAC16 itself), "ecp5" the MULT18X18D primitive with its own registers (only for
#: synth_ecp5), "auto" "ecp5" on an ECP5-family platform when the operands fit, else "generic".
#: Shared with the controller's set-up multiplier (hdl/controller/setup_multiplier.py).
DSP_KINDS = ("auto", "generic", "ecp5")
#: operand width of the ECP5 MULT18X18D
ECP5_WIDTH = 18


def check_dsp(dsp) -> str:
    """`dsp` if it names an implementation, else ValueError saying which ones exist."""
    return check_choice("dsp", dsp, DSP_KINDS, "the multiplier's implementation: 'ecp5' instantiates the "
                        "MULT18X18D with its registers, only for synth_ecp5")


def check_widths(a_width, b_width, p_width, dsp: str, kind: str) -> int:
    """The product width (p_width, default a_width + b_width) after checking the operand widths (positive
    ints, at most ECP5_WIDTH for dsp="ecp5") and p_width (1 .. a_width + b_width); ValueError naming the
    parameter otherwise. `kind` ("signed", "unsigned") words the messages."""
    for name, w in (("a_width", a_width), ("b_width", b_width)):
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise ValueError(f"{name} must be a positive int (the {kind} operand's bit width), not {w!r}")
    if p_width is None:
        p_width = a_width + b_width
    if isinstance(p_width, bool) or not isinstance(p_width, int) or not 1 <= p_width <= a_width + b_width:
        raise ValueError(f"p_width must be an int in 1 .. a_width + b_width = {a_width + b_width} (the "
                         f"product's width), not {p_width!r}")
    if dsp == "ecp5" and max(a_width, b_width) > ECP5_WIDTH:
        raise ValueError(f"dsp='ecp5' takes {kind} operands of at most {ECP5_WIDTH} bits (one MULT18X18D), "
                         f"not {a_width} x {b_width}: use dsp='generic' (Yosys splits a wider product over "
                         f"several DSPs, without their registers)")
    return p_width

#: the multiplier's latency in enabled edges (operands to product)
LATENCY = 2


def dsp_kind(dsp: str, platform, *widths: int) -> str:
    """The implementation of `dsp` ("auto", "generic", "ecp5") elaborated for `platform` with operands
    of `widths` bits: "auto" is "ecp5" on an ECP5-family platform when every width fits one MULT18X18D."""
    if dsp != "auto":
        return dsp
    fits = max(widths) <= ECP5_WIDTH
    return "ecp5" if fits and getattr(platform, "family", None) == "ecp5" else "generic"


def mult18x18d(a, b, p, *, signed: bool, ce, rst, reg_in: bool = True, reg_out: bool = True,
               ce_out=None) -> Instance:
    """The ECP5 MULT18X18D with its input registers A and B (`reg_in`, else bypassed) and its output
    register (`reg_out`, else bypassed) on CLK0 (the sync domain's clock), clock enable `ce`, synchronous
    reset `rst`; the C input, the shift chains (SOURCEA/B = 0: A and B from the ports) and the pipeline
    register unused, GSR disabled (Amaranth's registers do not follow the global set/reset either). `a`,
    `b`: 18 one-bit values each (the caller extends its operands), `p`: a 36-bit signal; `signed` sets
    SIGNEDA and SIGNEDB. Ports are single bits (A0..A17, B0..B17, P0..P35), as in Yosys's own dsp_map.
    `ce_out`: the output register's own clock enable (on CE1), else `ce`."""
    W = ECP5_WIDTH
    clk_in, clk_out = ("CLK0" if reg_in else "NONE"), ("CLK0" if reg_out else "NONE")
    ports = {f"i_A{i}": a[i] for i in range(W)}
    ports.update({f"i_B{i}": b[i] for i in range(W)})
    ports.update({f"i_C{i}": Const(0, 1) for i in range(W)})
    ports.update({f"o_P{i}": p[i] for i in range(2 * W)})
    sg = Const(int(signed), 1)
    return Instance(
        "MULT18X18D",
        p_REG_INPUTA_CLK=clk_in, p_REG_INPUTA_CE="CE0", p_REG_INPUTA_RST="RST0",
        p_REG_INPUTB_CLK=clk_in, p_REG_INPUTB_CE="CE0", p_REG_INPUTB_RST="RST0",
        p_REG_INPUTC_CLK="NONE", p_REG_PIPELINE_CLK="NONE",
        p_REG_OUTPUT_CLK=clk_out, p_REG_OUTPUT_CE="CE0" if ce_out is None else "CE1", p_REG_OUTPUT_RST="RST0",
        p_CLK0_DIV="ENABLED", p_HIGHSPEED_CLK="NONE", p_GSR="DISABLED", p_CAS_MATCH_REG="FALSE",
        p_SOURCEB_MODE="B_SHIFT", p_MULT_BYPASS="DISABLED", p_RESETMODE="SYNC",
        i_SIGNEDA=sg, i_SIGNEDB=sg, i_SOURCEA=Const(0, 1), i_SOURCEB=Const(0, 1),
        i_CLK0=ClockSignal("sync"), i_CE0=ce, i_RST0=rst, **({} if ce_out is None else {"i_CE1": ce_out}),
        **ports,
    )


class RegisteredMultiplier(wiring.Component):
    """p = a * b (signed), registered operands and product, on `en`, no reset (see the module docstring).

    Parameters
    ----------
    a_width, b_width : int
        Operand widths (signed: 1 bit is 0 or -1), >= 1; <= 18 each for dsp="ecp5".
    p_width : int or None
        Product width, 1 .. a_width + b_width (default the sum, exact).
    dsp : str
        "generic" (default), "ecp5" or "auto".
    fabric : str
        Only for the MULT18X18D (same behaviour and latency either way): which registers are fabric
        flip-flops rather than the DSP's own: "" (default: none), "in" (the operand registers: logic in
        front of them is not followed by the route into the DSP; the multiply then ends in the DSP's output
        register) or "out" (the product register: logic behind it does not start with the DSP's slow
        clock-to-out and the route out of it; the multiply then starts at the DSP's input registers).

    Ports
    -----
    en : In(1)
        The registers load (the operands and the product of the previous operands).
    a : In(signed(a_width)), b : In(signed(b_width))
        The operands, sampled on enabled edges.
    p : Out(signed(p_width))
        a * b of the operands two enabled edges earlier (a register: the DSP's output register on the ECP5).
    """

    FABRIC = ("", "in", "out")

    def __init__(self, a_width: int, b_width: int, p_width: int | None = None, *, dsp: str = "generic",
                 fabric: str = ""):
        self.dsp = check_dsp(dsp)
        if fabric not in self.FABRIC:
            raise ValueError(f"fabric must be one of {', '.join(map(repr, self.FABRIC))} (which of the "
                             f"MULT18X18D's registers are fabric flip-flops instead: none, the operands', the "
                             f"product's), not {fabric!r}")
        self.fabric = fabric
        p_width = check_widths(a_width, b_width, p_width, dsp, "signed")
        self.a_width, self.b_width, self.p_width = a_width, b_width, p_width
        super().__init__({"en": In(1), "a": In(signed(a_width)), "b": In(signed(b_width)),
                          "p": Out(signed(p_width))})

    def kind(self, platform) -> str:
        """The implementation elaborated for `platform`: "generic" or "ecp5"."""
        return dsp_kind(self.dsp, platform, self.a_width, self.b_width)

    def elaborate(self, platform):
        m = Module()
        if self.kind(platform) == "generic":
            a_r = Signal(signed(self.a_width), reset_less=True)     # the input registers
            b_r = Signal(signed(self.b_width), reset_less=True)
            p_r = Signal(signed(self.p_width), reset_less=True)     # the output register
            with m.If(self.en):
                m.d.sync += [a_r.eq(self.a), b_r.eq(self.b), p_r.eq(a_r * b_r)]
            m.d.comb += self.p.eq(p_r)
            return m
        # MULT18X18D, signed 18 x 18 -> 36 (SIGNEDA = SIGNEDB = 1, the operands sign-extended to 18 bits):
        # input registers A and B and the output register on CLK0 with clock enable CE0 = en; their
        # synchronous reset RST0 tied low (the model has none; GSR disabled); the C input, the shift
        # chains (SOURCEA/B = 0: A and B from the ports) and the pipeline register unused. Ports are
        # single bits (A0..A17, B0..B17, P0..P35), as in Yosys's own dsp_map.
        # With `fabric`, the operand registers ("in") or the product register ("out") are enabled fabric
        # flip-flops without reset (synth_ecp5 packs none into the DSP) and the DSP's own are bypassed.
        W = ECP5_WIDTH
        src_a, src_b = self.a, self.b
        if self.fabric == "in":
            src_a, src_b = Signal.like(self.a, reset_less=True), Signal.like(self.b, reset_less=True)
            with m.If(self.en):
                m.d.sync += [src_a.eq(self.a), src_b.eq(self.b)]
        a = [src_a[min(i, self.a_width - 1)] for i in range(W)]
        b = [src_b[min(i, self.b_width - 1)] for i in range(W)]
        p = Signal(2 * W)
        m.submodules.mult = mult18x18d(a, b, p, signed=True, ce=self.en, rst=Const(0, 1),
                                       reg_in=self.fabric != "in", reg_out=self.fabric != "out")
        if self.fabric == "out":
            p_r = Signal(signed(self.p_width), reset_less=True)
            with m.If(self.en):
                m.d.sync += p_r.eq(p[:self.p_width])
            m.d.comb += self.p.eq(p_r)
        else:
            m.d.comb += self.p.eq(p[:self.p_width])
        return m
