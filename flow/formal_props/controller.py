"""Properties of the crossbar update controller (hdl/controller/update_controller.py)."""
from __future__ import annotations

from types import SimpleNamespace

from amaranth import Cat, Signal
from amaranth.hdl import Assert, Assume

from contract.controller_config import ControllerConfig
from contract.enums import Status, Vec
from hdl.controller.update_controller import UpdateController

from .common import FormalTop, drive_free, stream_rules

#: Tiny configuration: a full update (reset's idle cycle, load of 4 beats, set-up of 10 + shift_cycles + P =
#: 10 + 4 + 4 = 18 cycles, BL <= 3 slots in up to two phases, done) in 1 + 4 + 18 + 6 + 1 = 30 cycles
#: (serial S = 3: 3 cycles per slot, 42).
SMALL = dict(a=2, b=2, lanes=1, elem_width=4, mant_width=4, exp_width=3, lr_width=3, lr_exp_width=3,
             bl_width=2, lfsr_width=17)


class ControllerProps(FormalTop):
    """The controller between a free environment that keeps the stream rules and the update framing
    (ceil(a/L) Dhat beats then ceil(b/L) Xhat beats, `last` on each vector's last beat), and free line
    drivers (slot_ready, or the serial stream's ready).

    Asserted:
    * the output stream rules: serial `o` (valid held until a transfer, payload stable while stalled),
      or the parallel slot (held with stable fire/pol until slot_ready);
    * every slot beat carries `last` exactly on beat ceil((a+b)/S) - 1 of its slot (serial);
    * no beat lost or duplicated: input is accepted only while an update is being loaded (never between
      its last beat and `done`), `busy` is high exactly from the last beat to `done`, `done` follows a
      complete update only, and the finished update is never flagged `protocol` (the controller counted
      the same beats as the environment);
    * slots only between the first beat of an update and its `done` (after the last beat, in fact).
    * at most 2*BL slots per update (BL per phase), none for a flagged update.
    `wrong` adds a deliberately false assertion (no update with the most slots, 2*(2**bl_width-1), ends):
    that proof must FAIL, which shows the flow can fail and that the depth covers the longest update.
    """

    def __init__(self, *, serial_width: int = 0, wrong: bool = False, **params):
        self.cfg = ControllerConfig(**{**SMALL, "serial_width": serial_width, **params})
        self.wrong = wrong
        super().__init__()

    def elaborate(self, platform):
        m = self.module()
        c = self.cfg
        m.submodules.dut = dut = UpdateController(c)
        nd, nx = -(-c.a // c.lanes), -(-c.b // c.lanes)

        # The environment: free registers and payload, constrained to the rules and the framing.
        drive_free(m, dut.lr_mant, dut.lr_exp, dut.bl, dut.mode, dut.i.valid, dut.i.payload)
        xin = stream_rules(m, dut.i, name="i", assume=True)
        k = Signal(range(nd + nx), name="env_beat")             # beat of the update the environment is at
        with m.If(xin):
            m.d.sync += k.eq(k + 1)
            with m.If(k == nd + nx - 1):
                m.d.sync += k.eq(0)
        p = dut.i.payload
        m.d.comb += [Assume(p.vec == (k >= nd)),                 # Vec.D = 0 first, then Vec.X = 1
                     Assume(p.last == ((k == nd - 1) | (k == nd + nx - 1)))]
        assert int(Vec.D) == 0 and int(Vec.X) == 1

        # The update window: `loaded` from the update's last beat to done.
        loaded = Signal(name="loaded")
        started = Signal(name="started")                         # first beat accepted, done not yet
        with m.If(xin):
            m.d.sync += started.eq(1)
            with m.If(k == nd + nx - 1):
                m.d.sync += loaded.eq(1)
        with m.If(dut.done):
            m.d.sync += [loaded.eq(0), started.eq(0)]
        m.d.comb += [
            Assert(~(dut.i.ready & loaded), "input accepted between an update's last beat and done"),
            Assert(dut.busy == loaded, "busy is not exactly last beat .. done"),
            Assert(~dut.done | loaded, "done without a complete update"),
        ]
        proto = int(Status.PROTOCOL)                              # bit k of status: the flag 2**k
        done_seen = Signal(name="done_seen")
        m.d.sync += done_seen.eq(dut.done)
        with m.If(done_seen):
            m.d.comb += Assert((dut.status & proto) == 0, "a well-framed update was flagged protocol")

        taken = Signal(name="slot_taken")
        if c.serial_width:
            drive_free(m, dut.o.ready)
            xo = stream_rules(m, dut.o, name="o", assume=False)
            nb = -(-(c.a + c.b) // c.serial_width)
            beat = Signal(range(nb), name="slot_beat")
            with m.If(xo):
                m.d.sync += beat.eq(beat + 1)
                with m.If(beat == nb - 1):
                    m.d.sync += beat.eq(0)
            with m.If(dut.o.valid):
                m.d.comb += [Assert(dut.o.payload.last == (beat == nb - 1), "o: last on the wrong beat"),
                             Assert(loaded, "o: slot beat outside an update")]
            m.d.comb += taken.eq(xo & dut.o.payload.last)
        else:
            drive_free(m, dut.slot_ready)
            slot = SimpleNamespace(valid=dut.slot, ready=dut.slot_ready,
                                   payload=Cat(dut.row_fire, dut.row_pol, dut.col_fire, dut.col_pol))
            stream_rules(m, slot, name="slot", assume=False)
            with m.If(dut.slot):
                m.d.comb += Assert(loaded, "slot presented outside an update")
            m.d.comb += taken.eq(dut.slot & dut.slot_ready)
        m.d.comb += Assert(started | ~loaded, "an update loaded without a first beat")

        # Slots per update: at most BL (the bl register sampled on the first beat) per phase, two phases
        # at most; none for a flagged update (status != 0 at done).
        bl = Signal(c.bl_width, name="bl_latched")
        with m.If(xin & (k == 0)):
            m.d.sync += bl.eq(dut.bl)
        nslots = Signal(range(2 * (1 << c.bl_width) + 2), name="slots")
        with m.If(taken):
            m.d.sync += nslots.eq(nslots + 1)
        with m.If(done_seen):
            m.d.sync += nslots.eq(0)
        m.d.comb += Assert(nslots <= 2 * bl, "more than 2*BL slots in one update")
        with m.If(done_seen & (dut.status != 0)):
            m.d.comb += Assert(nslots == 0, "a flagged update emitted slots")

        if self.wrong:
            # False as soon as an update of the longest kind (BL = 2**bl_width - 1 in two phases) ends:
            # its failure shows the flow can fail and that the depth covers the longest update.
            longest = 2 * ((1 << c.bl_width) - 1)
            m.d.comb += Assert(~(done_seen & (nslots == longest)), "deliberately false: no longest update ends")
        return m
