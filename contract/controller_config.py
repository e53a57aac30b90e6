"""Parameters of the crossbar update controller, shared by its golden twin (golden/rtl/update_controller.py,
PulseScheme) and the RTL (hdl/controller/update_controller.py): one definition, one set of bounds."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .checks import check_int
from .lfsr import TAPS, check_width, leap_steps, line_seeds, spacing

#: Largest a or b: 4096 lines is beyond any array here.
MAX_LINES = 4096
#: line_store="auto" keeps the line state in block RAM banks when the output is serial and a + b exceeds this.
RAM_AUTO_LINES = 256
LINE_STORES = ("auto", "regs", "ram")
#: Largest bl register: the BL counter, the divider and the deterministic-mode ramp are bl_width wide.
MAX_BL_WIDTH = 20


@dataclass(frozen=True, kw_only=True)
class ControllerConfig:
    """Update-controller parameters, validated at construction (TypeError/ValueError naming the field).

    a, b            row lines (length of Dhat) and column lines (length of Xhat), 1 .. 4096
    lanes           elements per update-stream beat, 1 .. 8
    elem_width      bits of each Q1.F element of Dhat/Xhat; also P, the bits of each random number (2 .. 24)
    mant_width, exp_width       bits of s_mant and s_exp on the update stream
    lr_width, lr_exp_width      bits of the lr_mant (unsigned) and lr_exp (signed) registers
    bl_width        bits of the bl register, 1 .. 20 (BL <= 2**bl_width - 1)
    lfsr_width      per-line LFSR width: a key of lfsr.TAPS, at least elem_width, and wide enough that the
                    a + b + 1 lines' evenly spaced starts (lfsr.line_seeds) are lfsr_spacing >= 2**bl_width - 1
                    slots apart (no two lines share sequence bits within a train). Default (None): the
                    smallest such width (each LFSR bit is a flip-flop in every line: 23 for 8 x 8 lines
                    at bl_width 12, 31 for 100 x 784)
    seed            global LFSR seed, 0 .. 2**32-1 (per-line seeds: lfsr.line_seeds)
    serial_width    RTL presentation only: 0 parallel fire/pol outputs, S > 0 serialised S lines per beat
    line_store      RTL only: where the per-line state (magnitude, sign, LFSR) lives. "regs": registers
                    and one compare unit per line (any output); "ram": S = serial_width memory banks
                    (block or distributed RAM; line l in bank l mod S at address l div S) with S compare
                    units, one serial beat per cycle, the same slots and cycles as "regs" (needs
                    serial_width > 0 and lanes <= serial_width); "auto": "ram" when serial_width > 0
                    and a + b > RAM_AUTO_LINES, else "regs". Either store returns every LFSR to its
                    seed on reset, as the golden twin's reset() ("ram": a copy of the seeds in the
                    LFSR memory, written back in the ceil((a + b) / S) + 1 cycles after reset).
    """

    a: int
    b: int
    lanes: int = 1
    elem_width: int = 16
    mant_width: int = 16
    exp_width: int = 8
    lr_width: int = 16
    lr_exp_width: int = 8
    bl_width: int = 12
    lfsr_width: int | None = None
    seed: int = 0
    serial_width: int = 0
    line_store: str = "auto"

    def __post_init__(self):
        check_int("a", self.a, 1, MAX_LINES)
        check_int("b", self.b, 1, MAX_LINES)
        check_int("lanes", self.lanes, 1, 8)
        check_int("elem_width", self.elem_width, 2, 24)
        check_int("mant_width", self.mant_width, 2, 32)
        check_int("exp_width", self.exp_width, 2, 16)
        check_int("lr_width", self.lr_width, 1, 32)
        check_int("lr_exp_width", self.lr_exp_width, 2, 16)
        check_int("bl_width", self.bl_width, 1, MAX_BL_WIDTH)
        n_lines, max_bl = self.a + self.b + 1, (1 << self.bl_width) - 1
        if self.lfsr_width is None:
            fits = [w for w in sorted(TAPS) if w >= self.elem_width and spacing(w, leap_steps(w, self.elem_width), n_lines) >= max_bl]
            if not fits:
                raise ValueError(f"no lfsr_width of {sorted(TAPS)} spaces {n_lines} lines {max_bl} slots apart at "
                                 f"elem_width {self.elem_width}: use a smaller bl_width")
            object.__setattr__(self, "lfsr_width", fits[0])
        check_width(self.lfsr_width)
        if self.lfsr_width < self.elem_width:
            raise ValueError(f"lfsr_width must be at least elem_width ({self.elem_width}), not {self.lfsr_width!r}")
        if self.lfsr_spacing < max_bl:
            raise ValueError(f"lfsr_width {self.lfsr_width} spaces the {n_lines} lines' LFSR starts only "
                             f"{self.lfsr_spacing} slots apart, fewer than a train's {max_bl} (2**bl_width - 1): "
                             f"two lines would share random numbers within a train; use a wider lfsr_width "
                             f"(or omit it: the smallest that fits is chosen) or a smaller bl_width")
        check_int("seed", self.seed, 0, (1 << 32) - 1)
        check_int("serial_width", self.serial_width, 0, 1024)
        if self.line_store not in LINE_STORES:
            raise ValueError(f"line_store must be one of {', '.join(map(repr, LINE_STORES))}, not {self.line_store!r}")
        if self.line_store == "ram" and not self.serial_width:
            raise ValueError("line_store='ram' reads S = serial_width lines per cycle and needs the serial output: "
                             "set serial_width (e.g. 32), or use line_store='regs'")
        if self.line_store == "ram" and self.lanes > self.serial_width:
            raise ValueError(f"line_store='ram' writes one element per bank per beat: lanes ({self.lanes}) must be at "
                             f"most serial_width ({self.serial_width})")

    def kwargs(self) -> dict:
        return asdict(self)

    @property
    def ram(self) -> bool:
        """The line state lives in memory banks (line_store resolved; see the class docstring)."""
        if self.line_store == "auto":
            return bool(self.serial_width) and self.lanes <= self.serial_width and self.a + self.b > RAM_AUTO_LINES
        return self.line_store == "ram"

    @property
    def lfsr_leap(self) -> int:
        """Single steps of a line LFSR per stochastic slot (lfsr.leap_steps: max(P, the low tap))."""
        return leap_steps(self.lfsr_width, self.elem_width)

    @property
    def lfsr_spacing(self) -> int:
        """Slots between the starts of consecutive lines' LFSRs on the one sequence (lfsr.spacing)."""
        return spacing(self.lfsr_width, self.lfsr_leap, self.a + self.b + 1)

    @property
    def lfsr_seeds(self) -> tuple[int, ...]:
        """Reset states of the a + b + 1 line LFSRs in the serial order: rows 0..a-1, columns a..a+b-1,
        the slot gate a+b (lfsr.line_seeds: evenly spaced starts on the one sequence)."""
        return line_seeds(self.seed, self.a + self.b + 1, self.lfsr_width, self.lfsr_leap)

    @property
    def P(self) -> int:
        """Bits of each random number (= elem_width)."""
        return self.elem_width

    @property
    def F(self) -> int:
        """Fractional bits of the Q1.F elements."""
        return self.elem_width - 1
