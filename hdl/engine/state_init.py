"""State init sequencer of the SBE engine (hdl/engine/sbe_engine.py): writes the reset state after a reset."""
from __future__ import annotations

from amaranth import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from contract.engine_config import INIT_LFSR_SEED, INIT_LFSR_TAPS, EngineConfig
from contract.enums import Vec


class StateInit(wiring.Component):
    """Writes the initial state M_D, M_X = +-2**q into the state memory, one word per cycle.

    The pattern of contract/engine_config.py (golden: golden/rtl/sbe_engine.py, "Initial state"): D words
    first, then X words; q = cfg.q(vec); one bit of the 16-bit Galois LFSR (INIT_LFSR_SEED, taps
    INIT_LFSR_TAPS) per element, 1 = negative. Lanes past a vector's end are written 0 and take no LFSR
    bit. The sequence starts with one idle boot cycle after reset: the write logic then first evaluates on
    a signal change after time 0, which Icarus needs (it would stay X otherwise).

    Parameters
    ----------
    cfg : EngineConfig
        The engine's parameters (a, b, lanes, state_width).

    Ports
    -----
    busy : Out(1)
        Booting or writing: high from reset for 1 + ceil(a/L) + ceil(b/L) cycles, then low until the next
        reset.
    en : Out(1)
        Write strobe of the state memory: high for the ceil(a/L) + ceil(b/L) cycles after the boot cycle.
    addr : Out(range(ceil(a/L) + ceil(b/L)))
        The word written: D words 0 .. ceil(a/L)-1, then the X words.
    data : Out(lanes * state_width)
        The word: element k in bits [k*state_width, (k+1)*state_width), two's complement.
    """

    def __init__(self, cfg: EngineConfig):
        if not isinstance(cfg, EngineConfig):
            raise TypeError(f"cfg must be an EngineConfig, not {cfg!r}")
        self.cfg = cfg
        self.depth = cfg.words(Vec.D) + cfg.words(Vec.X)
        super().__init__({
            "busy": Out(1),
            "en": Out(1),
            "addr": Out(range(self.depth)),
            "data": Out(unsigned(cfg.lanes * cfg.state_width)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        L, SW = cfg.lanes, cfg.state_width
        nd, nw = cfg.words(Vec.D), self.depth

        lfsr = Signal(16, init=INIT_LFSR_SEED)
        w = Signal(range(nw + 1))                   # word being written
        m.d.comb += self.addr.eq(w)

        # The LFSR steps once per element actually written: chain[n] is its state after n steps.
        chain, bits = [lfsr], []
        for _ in range(L):
            s = chain[-1]
            bits.append(s[0])
            chain.append(Mux(s[0], (s >> 1) ^ INIT_LFSR_TAPS, s >> 1))

        with m.FSM(init="BOOT"):
            with m.State("BOOT"):
                m.d.comb += self.busy.eq(1)
                m.next = "WRITE"
            with m.State("WRITE"):
                in_x = w >= nd
                last_d, last_x = w == nd - 1, w == nw - 1
                rem = {v: cfg.length(v) - (cfg.words(v) - 1) * L for v in Vec}   # lanes of a last word
                count = Signal(range(L + 1))        # elements in this word
                m.d.comb += count.eq(Mux(in_x, Mux(last_x, rem[Vec.X], L), Mux(last_d, rem[Vec.D], L)))
                qd, qx = cfg.q(Vec.D), cfg.q(Vec.X)
                vals = []
                for k in range(L):
                    val = Signal(signed(SW), name=f"init_val{k}")
                    pos, neg = Mux(in_x, 1 << qx, 1 << qd), Mux(in_x, -(1 << qx), -(1 << qd))
                    m.d.comb += val.eq(Mux(k < count, Mux(bits[k], neg, pos), 0))
                    vals.append(val)
                m.d.comb += [self.busy.eq(1), self.en.eq(1), self.data.eq(Cat(vals))]
                m.d.sync += [lfsr.eq(Array(chain + [chain[-1]] * ((1 << len(count)) - len(chain)))[count]),
                             w.eq(w + 1)]
                with m.If(w == nw - 1):
                    m.next = "DONE"
            with m.State("DONE"):
                pass
        return m
