"""Bench-only Amaranth wrapper for fast closed-loop co-simulation: SBENetwork with its sample stream fed
from a memory and its pulse slots and update beats recorded into memories, so that a batch costs the
cocotb bench a handful of awaits instead of one per clock.

Per layer k (ports and memories prefixed l<k>_), around hdl/sbe_layer.py SBENetwork:

    l<k>_smem  sample memory, `words` x (pack * beat) bits: beat j of the batch is bits
               [(j % pack) * beat_width, +beat_width) of word j // pack (the engine's packed in_layout,
               contract/layouts.sample_layout). The bench writes it through the simulator's VPI, with no
               clock edge, while the network is idle.
    l<k>_rec   slot recorder, `max_slots` x (2a + 2b) bits: slot i of the current write at address i, as
               Cat(row_fire, row_pol, col_fire, col_pol) (bit 0 = row 0's fire). slot_ready is tied
               high (one slot per cycle; the per-cycle bench tb/benches/closed_loop_tb.py keeps the
               stall/back-pressure regression).
    l<k>_tap   update recorder: beat i of the engine->controller update stream at address i (the
               engine's packed out_layout).

Ports: start (In, one-cycle strobe: every layer clears its counters and streams l<k>_n_beats beats of
l<k>_smem into its engine, one per cycle whenever the engine is ready, then stops until the next start);
l<k>_n_beats (In; may change between batches, read while streaming); l<k>_n_slots,
l<k>_n_tap (Out, recorded since start; counting goes on past the memory, so n > depth shows an overflow);
l<k>_finished (Out, the controller's done strobe was seen since start, and its status has settled);
finished (Out, every layer finished); l<k>_status, l<k>_saturated, l<k>_framing_error, l<k>_lr_mant,
l<k>_lr_exp, l<k>_bl, l<k>_mode, l<k>_clear: the layer's own ports.
Latency: start -> first beat offered 1 cycle; the rest is the layer's (hdl/sbe_layer.py); finished rises
2 cycles after the done strobe (status is registered the cycle after done).
"""
from __future__ import annotations

import math

import numpy as np
from amaranth import Cat, Module, Signal
from amaranth.hdl import Shape
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from contract.checks import check_int
from contract.enums import Vec
from hdl.sbe_layer import SBENetwork

_PASS_IN = ("lr_mant", "lr_exp", "bl", "mode", "clear")
_PASS_OUT = ("status", "saturated", "framing_error", "sample_count", "busy")


class FastNetwork(wiring.Component):
    """SBENetwork(shapes, lanes, seed) with per-layer sample memories (max_batch samples each, `pack`
    beats per word), slot recorders (max_slots slots per write) and update recorders."""

    def __init__(self, *, shapes, lanes: int = 1, seed: int = 0, max_batch: int = 64, max_slots: int = 1024,
                 pack: int = 16):
        check_int("max_batch", max_batch, 1, 1 << 16)
        check_int("max_slots", max_slots, 1, 1 << 16)
        check_int("pack", pack, 1, 256)
        if pack & (pack - 1):
            raise ValueError(f"pack must be a power of two (beats per sample-memory word), not {pack}")
        self.net = SBENetwork(shapes=shapes, lanes=lanes, seed=seed)
        self.max_batch, self.max_slots, self.pack = max_batch, max_slots, pack
        sig = {"start": In(1), "finished": Out(1)}
        self.beat_width, self.depths = [], []
        for k, layer in enumerate(self.net.layers):
            a, b, ln = layer.a, layer.b, layer.lanes
            beats = max_batch * (math.ceil(a / ln) + math.ceil(b / ln))
            self.beat_width.append(Shape.cast(layer.in_layout).width)
            self.depths.append((math.ceil(beats / pack), math.ceil(a / ln) + math.ceil(b / ln)))
            cnt = max(beats, max_slots).bit_length() + 1
            members = layer.signature.members
            sig.update({f"l{k}_{n}": members[n] for n in _PASS_IN + _PASS_OUT})
            sig.update({f"l{k}_n_beats": In(cnt), f"l{k}_n_slots": Out(cnt), f"l{k}_n_tap": Out(cnt),
                        f"l{k}_finished": Out(1)})
        super().__init__(sig)

    layers = property(lambda self: self.net.layers, doc="The SBELayer of each layer (layouts, a, b, lanes).")

    def elaborate(self, platform):
        m = Module()
        m.submodules.net = net = self.net
        finished = []
        for k, layer in enumerate(self.net.layers):
            port = lambda n: getattr(net, f"l{k}_{n}")           # noqa: E731
            mine = lambda n: getattr(self, f"l{k}_{n}")          # noqa: E731
            for n in _PASS_IN:
                m.d.comb += port(n).eq(mine(n))
            for n in _PASS_OUT:
                m.d.comb += mine(n).eq(port(n))
            bw, pk = self.beat_width[k], self.pack
            words, taps = self.depths[k]
            # Memories sit in this top module, named l<k>_smem / l<k>_rec / l<k>_tap, for VPI access.
            smem = Memory(shape=bw * pk, depth=words, init=[])
            rec = Memory(shape=2 * (layer.a + layer.b), depth=self.max_slots, init=[])
            tap = Memory(shape=Shape.cast(layer.engine.out_layout).width, depth=taps, init=[])
            m.submodules[f"l{k}_smem"], m.submodules[f"l{k}_rec"], m.submodules[f"l{k}_tap"] = smem, rec, tap

            # sample streamer: beat pointer over the memory (asynchronous read: one beat per cycle)
            ptr, running = Signal.like(mine("n_beats")), Signal()
            rd = smem.read_port(domain="comb")
            sel = ptr[:pk.bit_length() - 1] if pk > 1 else 0
            m.d.comb += [rd.addr.eq(ptr >> (pk.bit_length() - 1)),
                         port("i").valid.eq(running & (ptr < mine("n_beats"))),
                         port("i").payload.eq(rd.data.word_select(sel, bw) if pk > 1 else rd.data)]
            with m.If(port("i").valid & port("i").ready):
                m.d.sync += ptr.eq(ptr + 1)
                # stop after the last beat: a larger n_beats written for the next batch must not let the
                # streamer run on from here before `start` (it would send a stale beat)
                with m.If(ptr + 1 >= mine("n_beats")):
                    m.d.sync += running.eq(0)

            # slot and update recorders
            m.d.comb += port("slot_ready").eq(1)
            wr = rec.write_port()
            n_slots = mine("n_slots")
            m.d.comb += [wr.addr.eq(n_slots), wr.data.eq(Cat(port("row_fire"), port("row_pol"), port("col_fire"),
                                                              port("col_pol"))),
                         wr.en.eq(port("slot") & (n_slots < self.max_slots))]
            with m.If(port("slot")):
                m.d.sync += n_slots.eq(n_slots + 1)
            wt = tap.write_port()
            n_tap = mine("n_tap")
            m.d.comb += [wt.addr.eq(n_tap), wt.data.eq(port("tap_payload")),
                         wt.en.eq(port("tap_valid") & (n_tap < taps))]
            with m.If(port("tap_valid")):
                m.d.sync += n_tap.eq(n_tap + 1)

            # finished: two cycles after the done strobe (the status register settles the cycle after)
            done_d = Signal()
            m.d.sync += done_d.eq(port("done"))
            with m.If(done_d):
                m.d.sync += mine("finished").eq(1)
            finished.append(mine("finished"))

            with m.If(self.start):
                m.d.sync += [ptr.eq(0), running.eq(1), n_slots.eq(0), n_tap.eq(0), mine("finished").eq(0)]
        m.d.comb += self.finished.eq(Cat(*finished).all())
        return m


# -- the bench side of the memories (Python, no simulator) ----------------------------------------------

def memory_words(beats: list[int], beat_width: int, pack_n: int) -> list[int]:
    """Packed beats -> sample-memory words (beat j at bits (j % pack_n) * beat_width of word j // pack_n)."""
    return [sum(b << (i * beat_width) for i, b in enumerate(beats[w:w + pack_n]))
            for w in range(0, len(beats), pack_n)]


def _width(shape) -> int:
    return Shape.cast(shape).width


def _put_field(bits: np.ndarray, values, offset: int, width: int) -> None:
    """Write `values` (one per beat, two's complement) into bit columns offset .. offset+width-1."""
    v = np.asarray(values, dtype=np.int64) & ((1 << width) - 1)
    bits[:, offset:offset + width] = (v[:, None] >> np.arange(width)) & 1


def sample_memory_words(layout, samples, lanes: int, pack_n: int) -> tuple[list[int], int]:
    """(sample-memory words, beat count) of one batch, vectorised: the words that packing every beat of
    contract.layouts.sample_beats with tb.drivers.streams.pack and grouping them with `memory_words` gives
    (tests/golden_models/test_fast_loop_words.py). `layout`: the engine's in_layout; samples:
    (x_int, delta_int, x_exp, delta_exp) per sample, equal vector lengths (one batch)."""
    n = len(samples)
    per_vec = []
    for tag, i_vec, i_exp in ((Vec.X, 0, 2), (Vec.D, 1, 3)):
        v = np.array([smp[i_vec] for smp in samples], dtype=np.int64).reshape(n, -1)
        nb = -(-v.shape[1] // lanes)
        elems = np.zeros((n, nb * lanes), dtype=np.int64)
        elems[:, :v.shape[1]] = v
        last = np.zeros((n, nb), dtype=np.int64)
        last[:, -1] = 1
        lob = np.zeros((n, nb), dtype=np.int64)
        if tag == Vec.D:
            lob[-1, -1] = 1                  # the last delta beat of the batch's last sample
        exps = np.repeat(np.array([smp[i_exp] for smp in samples], dtype=np.int64)[:, None], nb, axis=1)
        per_vec.append(dict(elems=elems.reshape(n, nb, lanes), exp=exps, vec=np.full((n, nb), int(tag)),
                            last=last, last_of_batch=lob))
    # beat order: each sample's x beats, then its delta beats
    beats = {k: np.concatenate([per_vec[0][k], per_vec[1][k]], axis=1) for k in per_vec[0]}
    beats = {k: v.reshape((-1,) + v.shape[2:]) for k, v in beats.items()}
    nbeats, width = len(beats["vec"]), _width(layout)
    bits = np.zeros((-(-nbeats // pack_n) * pack_n, width), dtype=np.uint8)
    for name, fld in layout:
        if name == "elems":
            ew = _width(fld.shape.elem_shape)
            for ln in range(lanes):
                _put_field(bits[:nbeats], beats["elems"][:, ln], fld.offset + ln * ew, ew)
        else:
            _put_field(bits[:nbeats], beats[name], fld.offset, _width(fld.shape))
    rows = np.packbits(bits.reshape(-1, pack_n * width), axis=1, bitorder="little")
    return [int.from_bytes(r.tobytes(), "little") for r in rows], nbeats


def line_bits(value: int, n: int) -> np.ndarray:
    """Bits 0..n-1 of a non-negative int as a bool array (bit i -> element i): a recorded slot word
    Cat(row_fire, row_pol, col_fire, col_pol) -> line flags."""
    raw = np.frombuffer(value.to_bytes((n + 7) // 8 or 1, "little"), np.uint8)
    return np.unpackbits(raw, bitorder="little")[:n].astype(bool)
