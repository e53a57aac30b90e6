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

from amaranth import Cat, Module, Signal
from amaranth.hdl import Shape
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from contract.checks import check_int
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
