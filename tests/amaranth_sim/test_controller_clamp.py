"""Directed tests of the controller's scale-over-cap clamp (hdl/controller/controller_setup.py `cap_c`):
ceil(Ghat) just under, at and over 2**bl_width, and past 2**(bl_width + 1) where an unclamped value
would wrap in the bl_width + 1 bits of the compare, with BL management and the deterministic mode on
and off. Each case is checked three ways: the RTL's status and slot count, the golden twin's plan, and
the expected values written in the table (the direct formula: BL = bl, or min(ceil(Ghat) rounded up, bl)
with BL management; OVERFLOW when ceil(Ghat) > BL), cross-checked by tb formula_plan."""
import numpy as np

from contract.enums import Status
from golden.rtl.update_controller import PulseScheme
from hdl.controller.update_controller import UpdateController
from tb.amaranth_sim.update_controller import formula_plan, run_amaranth
from tb.stimulus import golden_kwargs, scheme_params

OV = int(Status.OVERFLOW)
W = 6                                   # bl_width: 2**W = 64, the compare is W + 1 = 7 bits wide
SMALL = dict(a=2, b=3, lanes=1, elem_width=8, bl_width=W, seed=7)


def update(ceil_g: int, *, half: bool = False, bl: int, det: bool = False, mgmt: bool = False,
           two_phase: bool = False, elem_width: int = 8, sign: int = 1) -> dict:
    """An update with ku = kv = F (E = lr_exp + s_exp) whose Ghat is ceil_g, or ceil_g - 1/2 with half."""
    F = elem_width - 1
    u = np.array([1 << (F - 1), -3])
    v = np.array([5, -(1 << (F - 1)), 1])
    lr_mant, lr_exp = (2 * ceil_g - 1, -1) if half else (ceil_g, 0)
    return dict(u=u, v=v, s_mant=sign, s_exp=0, lr_mant=lr_mant, lr_exp=lr_exp, bl=bl, det=det,
                bl_mgmt=mgmt, two_phase=two_phase)


# (ceil(Ghat), Ghat = ceil - 1/2, bl register, det, bl_mgmt, two_phase) -> (status, slots)
CASES = [
    # BL management off, stochastic: BL = bl = 63
    ((63, True, 63, False, False, False), (0, 63)),        # just under 2**W, Ghat = 62.5
    ((63, False, 63, False, True, True), (0, 126)),        # ... exact, two-phase
    ((64, False, 63, False, False, False), (OV, 0)),       # at 2**W
    ((65, False, 63, False, False, False), (OV, 0)),       # over 2**W
    ((128, False, 3, False, False, False), (OV, 0)),       # 2**(W+1): would wrap to 0
    ((129, False, 3, False, False, False), (OV, 0)),       # 2**(W+1) + 1: would wrap to 1
    ((131, False, 3, False, False, True), (OV, 0)),        # would wrap to 3 == BL
    # BL management on, stochastic: BL = min(ceil(Ghat), 63)
    ((63, True, 63, False, True, False), (0, 63)),
    ((64, False, 63, False, True, False), (OV, 0)),
    ((65, False, 63, False, True, False), (OV, 0)),
    ((129, False, 63, False, True, False), (OV, 0)),       # would wrap to 1: one slot
    # deterministic, BL management off: BL = bl = 32
    ((32, False, 32, True, False, False), (0, 32)),
    ((33, False, 32, True, False, False), (OV, 0)),
    ((65, False, 32, True, False, False), (OV, 0)),
    ((129, False, 32, True, False, False), (OV, 0)),       # would wrap to 1 <= 32
    # deterministic, BL management on: BL = min(next power of two of ceil(Ghat), 32)
    ((32, True, 32, True, True, True), (0, 64)),           # Ghat = 31.5 -> 32, two-phase
    ((33, False, 32, True, True, False), (OV, 0)),
    ((64, False, 32, True, True, False), (OV, 0)),
    ((128, False, 32, True, True, False), (OV, 0)),        # would wrap to 0: one slot
]


def _check(cfg, ups, want):
    res = run_amaranth(UpdateController(**cfg), ups, seed=1, p_gap=0.2, p_stall=0.2)
    golden = PulseScheme(**scheme_params(cfg))
    ew = cfg.get("elem_width", 16)
    for k, (up, r, (status, slots)) in enumerate(zip(ups, res, want)):
        plan = golden.plan(up["u"], up["v"], up["s_mant"], up["s_exp"], **golden_kwargs(up))
        fp = formula_plan(up, elem_width=ew)
        case = f"case {k}: ceil(Ghat) {-(-up['lr_mant'] // (2 if up['lr_exp'] else 1))}, bl {up['bl']}"
        assert (r["status"], len(r["slots"])) == (status, slots), f"{case}: RTL"
        assert (plan.status, plan.bl * plan.phases) == (status, slots), f"{case}: golden"
        assert (fp.status, fp.slots) == (status, slots), f"{case}: formula"


def test_clamp_boundaries_small_bl_width():
    ups = [update(c, half=h, bl=bl, det=d, mgmt=mg, two_phase=tp, sign=(-1) ** k)
           for k, ((c, h, bl, d, mg, tp), _) in enumerate(CASES)]
    _check(SMALL, ups, [w for _, w in CASES])


def test_scale_2_13_plus_1_with_bl_3_overflows():
    """The default widths (bl_width 12): ceil(Ghat) = 2**13 + 1 would wrap to 1 in 13 bits."""
    cfg = dict(a=2, b=3, lanes=1, seed=1)
    ups = [update(2 ** 13 + 1, bl=3, mgmt=m, elem_width=16) for m in (False, True)]
    ups.append(update(3, bl=3, elem_width=16))                     # ... and 3 itself fits
    _check(cfg, ups, [(OV, 0), (OV, 0), (0, 3)])
