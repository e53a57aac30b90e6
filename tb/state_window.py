"""The engine's state invariant, checked on the RTL's own state writes (no golden model involved).

`StateWindow(cfg)` keeps a shadow of the state memory from the writes it is shown (`write(addr, data,
cycle)`: one state word of `lanes` signed state_width-bit elements, lane 0 in the low bits) and checks:
lanes past a vector's end hold 0; with `window` on, every element satisfies |e| <= 2**(SW-2) * (1 + 2**-8)
and each completed vector rewrite (its last word written) has 2**(SW-4) <= ||M|| <= 2**(SW-2) * (1 + 2**-8)
(the window golden/rtl/sbe_engine.py documents, for block exponents within +-3). A wrapped value or a
clamp breaks it. Violations are collected in `errors`; `clamps` counts the clamp values written
({"pos", "neg"}), `rewrites` the completed vectors and `checked` those checked against the norm window.
The Amaranth-sim tests and the cocotb engine bench each feed it from their simulator.
"""
from __future__ import annotations

import math

from contract.engine_config import EngineConfig
from contract.enums import Vec


class StateWindow:
    def __init__(self, cfg: EngineConfig, *, window: bool = True):
        self.cfg, self.window = cfg, window
        self.SW, self.L = cfg.state_width, cfg.lanes
        nd = cfg.words(Vec.D)
        self.vecs = {Vec.D: (0, nd, cfg.a), Vec.X: (nd, cfg.words(Vec.X), cfg.b)}   # base word, words, length
        self.shadow = [[0] * self.L for _ in range(nd + cfg.words(Vec.X))]
        self.hi, self.lo = (1 << (self.SW - 1)) - 1, -(1 << (self.SW - 1))
        self.bound = (1 << (self.SW - 2)) * (1 + 2 ** -8)
        self.clamps = {"pos": 0, "neg": 0}
        self.rewrites = self.checked = 0
        self.errors: list[str] = []

    def _elems(self, data: int) -> list[int]:
        SW, out = self.SW, []
        for k in range(self.L):
            e = (data >> (k * SW)) & ((1 << SW) - 1)
            out.append(e - (1 << SW) if e >> (SW - 1) else e)
        return out

    def write(self, addr: int, data: int, cycle: int) -> None:
        """One state write seen at `cycle`: update the shadow, note any violation in `errors`."""
        if addr >= len(self.shadow):
            self.errors.append(f"cycle {cycle}: write to state word {addr}, past the {len(self.shadow)} words")
            return
        elems = self._elems(data)
        self.shadow[addr] = elems
        vec = Vec.D if addr < self.vecs[Vec.X][0] else Vec.X
        base, words, length = self.vecs[vec]
        w = addr - base
        for k, e in enumerate(elems):
            i = w * self.L + k
            if e == self.hi:
                self.clamps["pos"] += 1
            elif e == self.lo:
                self.clamps["neg"] += 1
            if i >= length:
                if e != 0:
                    self.errors.append(f"cycle {cycle}: {vec.name} lane {k} past the end holds {e}")
            elif self.window and abs(e) > self.bound:
                self.errors.append(f"cycle {cycle}: {vec.name}[{i}] = {e} outside +-{self.bound:.0f} "
                                   f"(a clamp or a wrapped value)")
        if w == words - 1:
            self.rewrites += 1
            if self.window:
                self.checked += 1
                flat = [e for word in self.shadow[base:base + words] for e in word][:length]
                n2 = sum(e * e for e in flat)
                if not 4 ** (self.SW - 4) <= n2 <= (4 ** (self.SW - 2)) * (1 + 2 ** -8) ** 2:
                    self.errors.append(f"cycle {cycle}: ||M_{vec.name}|| = 2**{0.5 * math.log2(n2) if n2 else '-inf'}"
                                       f" outside [2**{self.SW - 4}, 2**{self.SW - 2}]")

    def check(self, min_rewrites: int = 1) -> None:
        """Fail if any violation was seen or fewer than `min_rewrites` vectors were rewritten."""
        assert not self.errors, "state invariant violated:\n" + "\n".join(self.errors[:10])
        assert self.rewrites >= min_rewrites, f"only {self.rewrites} vector rewrites observed"
