"""The fixed-point SBE engine (golden/rtl/sbe_engine.py) as an UpdateMethod: float in, float rank-1 term
out, for the trainers and the accuracy report."""
from __future__ import annotations

from contract.fixed_point import Flags

from golden.rtl.sbe_engine import SBEFixedEngine, quantise_sample

from golden.methods.update_method import RankOneTerm, UpdateMethod


class SBEFixed(UpdateMethod):
    """The fixed-point engine as an UpdateMethod (float in, float rank-1 term out) for the trainers.

    x and delta are quantised to in_width bits (round half up, saturate; `input_flags` notes clamping):
    with `block_exponent` (default) each vector of each sample gets its own block exponent
    (contract/fixed_point.quantise_block: in_width bits relative to its largest element), otherwise the fixed
    binary points x_frac / delta_frac with exponent 0. Extra keyword parameters go to EngineConfig.
    """

    def __init__(self, a: int, b: int, block_exponent: bool = True, **params):
        super().__init__(a, b)
        self.engine = SBEFixedEngine(a=a, b=b, **params)
        self.block_exponent = bool(block_exponent)
        self.input_flags = Flags()

    def reset(self) -> None:
        self.engine.reset()

    def quantise(self, x, delta) -> tuple[list[int], list[int], int, int]:
        """(x_int, delta_int, x_exp, delta_exp) as the engine receives them."""
        return quantise_sample(self.engine.cfg, x, delta, block_exponent=self.block_exponent,
                               flags=self.input_flags)

    def _sample(self, x, delta) -> None:
        self.engine.sample(*self.quantise(x, delta))

    def _end_batch(self) -> list[RankOneTerm]:
        up = self.engine.end_batch()
        s, d, x = SBEFixedEngine.update_value(up, self.engine.cfg.elem_width)
        if s == 0:
            return []
        return [RankOneTerm(s, d, x)]
