"""The per-line state of the crossbar update controller in memory banks (ControllerConfig line_store="ram"),
for arrays too large for one register set and one compare unit per line (100 x 784 lines and more).

Line l (rows 0..a-1, then columns a..a+b-1: the serial order of hdl/controller/slot_serialiser.py) lives
in bank l mod S at address l div S, S = serial_width; each bank is two memories: the line's magnitude and
sign (P + 1 bits, written while the update loads; one memory per bank) and its LFSR state (lfsr_width
bits, in one memory S * lfsr_width bits wide shared by the banks, since all are read and written back at
the same address in the same cycle; kept one leap
ahead as in hdl/controller/line_cell.py: the initial contents are leap(line_seeds), the slot's random
number is the low P bits, the leapt state is written back after a stochastic slot's last phase). One
compare unit per bank decides fire and polarity exactly as a LineCell does, so the S lines of one
serial beat come from one address of every bank: the slots are those of the golden twin
(golden/rtl/update_controller.py) bit for bit, in the beats and cycles of the SlotSerialiser.

Timing of a slot (o.ready high): one capture cycle (the serialiser's), then one beat per cycle,
ceil((a+b)/S) = D beats, the last flagged. Four stages: read address c (the LFSR block RAM's own address
register; the magnitude memories are read asynchronously from its copy in a register, addr1), the read
data register (no memory-output-to-logic path: the DP16KD OUTREG arrangement, built in fabric), compute
beat c from it, hold beat c in the output register (o.payload is a register: no memory-to-port path).
Every stage moves together (`adv`) unless the output register is full and not being emptied (a stall
freezes them all, the block RAM by its read enable, the magnitude memories by addr1's). The read side
runs one beat ahead: while beat c is computed, address c + 2 is read; the last beat of a slot reads the
next slot's address 0, the capture cycle its address 1, and while no slot is presented address 0 is read
every cycle (so the first slot of an update finds its address 0 in flight: the last magnitudes were
written during the set-up's cycles). The slot counts as taken when its last beat is computed, so the next
slot's capture cycle is while that beat waits in the output register: per slot D + 1 cycles, and the
update's cycles equal those of the register store (the done strobe waits for `drained`).
Read-after-write: the write-back of address c (when beat c is computed) is D - 1 pipeline moves before
the next slot reads address c (D >= 2); with D = 1 they share a clock edge and the LFSR memory's read
port is transparent to its write port (a bypass for this one-beat case only).

Loading: `load` writes lanes 0..L-1 of the beat to lines base .. base + L - 1 (base 0 for the rows, a
for the columns, then + L per beat of that vector, until `rewind`), three cycles after the beat (the beat
is registered, then its position and lane enables, then each bank's write: no input-to-memory path, no
lane crossbar or position arithmetic in front of the memories); elements past the end of the vector are
not written.

Reset (and the layer's `clear`) re-seeds the LFSR memory, as the golden twin's reset() does: the memory
is 2D words deep, the seeds kept at addresses D .. 2D-1 (never written); in the D + 2 cycles after a
reset each seed word is read, registered in the read data register and written back at its address - D
(the write-back's own path). No update can present its first slot sooner: it loads for at least
ceil((a+b)/L) >= D cycles (L <= S), then the set-up's 10 + 16 + P cycles (hdl/controller/controller_setup.py).
"""
from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from contract.controller_config import ControllerConfig
from contract.layouts import serial_layout

from hdl.controller.lfsr import leap_int, leap_value


class LineBanks(wiring.Component):
    """S banks of line state with S compare units, one serial beat per cycle (see the module docstring).

    Parameters
    ----------
    cfg : ControllerConfig
        a, b, lanes, elem_width (P), lfsr_width, seed, serial_width (S, the banks).

    Ports
    -----
    load, vec_x : In(1)
        Write the beat's lanes (three cycles later); `vec_x`: a column (Xhat) beat.
    rewind : In(1)
        The update is over (no beat is loaded in this cycle): the next row beat loads lines 0 .., the next
        column beat lines a ... (registered: it takes effect from the next cycle on).
    in_mag : In(lanes * P), in_sgn : In(lanes)
        Magnitudes (lane l at bits l*P ..) and signs (1 = negative) of the beat's elements.
    present : In(1)
        A slot is presented (the shared values below are those of the slot from the first cycle
        `present` is high for it, the capture cycle, until `taken`: the ramps are registered per bank in
        the capture cycle, two cycles before the slot's first beat is computed).
    gate, det, two_phase, phase, row_pol_flip : In(1)
        As the LineCell ports (row_pol_flip: the row lines' pol_flip, s >= 0).
    det_row, det_col, mask_u, mask_v : In(P)
        The shared compare values of the row and of the column lines.
    o : Out(stream.Signature(serial_layout(S)))
        The slot as ceil((a + b) / S) beats of S lines (contract/layouts.py serial_layout).
    taken : Out(1)
        The slot's last beat is computed in this cycle (it enters the output register; combinational):
        the shared values may move on to the next slot.
    drained : Out(1)
        The output register is empty or its beat is transferred in this cycle (the controller's done
        strobe waits for it, so a done follows every beat of the update).
    """

    def __init__(self, cfg: ControllerConfig):
        self.cfg = c = cfg
        S, L, P = c.serial_width, c.lanes, c.elem_width
        self.depth = -(-(c.a + c.b) // S)
        super().__init__({
            "load": In(1), "rewind": In(1), "vec_x": In(1), "in_mag": In(L * P), "in_sgn": In(L),
            "present": In(1), "gate": In(1), "det": In(1), "two_phase": In(1), "phase": In(1),
            "row_pol_flip": In(1), "det_row": In(P), "det_col": In(P), "mask_u": In(P), "mask_v": In(P),
            "o": Out(stream.Signature(serial_layout(S))), "taken": Out(1), "drained": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        c = self.cfg
        a, b, S, L, P, W, D = c.a, c.b, c.serial_width, c.lanes, c.elem_width, c.lfsr_width, self.depth
        n = a + b

        LS = c.lfsr_leap                                # single steps per slot (contract/lfsr.py)
        seeds = c.lfsr_seeds                            # lines 0..n-1, then the gate's (not here)

        def seed_of(line):                              # padding lines past n: any state (never shown)
            return leap_int(seeds[line if line < n else 0], W, LS)

        # The LFSR states of all banks are read and written back at one address per cycle: one memory
        # S*W bits wide (block RAM: 36-bit DP16KD slices on ECP5). The magnitudes are written lane by
        # lane while loading: one narrow memory per bank (distributed RAM where the tools offer it).
        # Their read ports are asynchronous, addressed by a register (addr1, below).
        mags = []
        for k in range(S):
            mm = Memory(shape=P + 1, depth=D, init=[], attrs={"ram_style": "distributed"})
            m.submodules[f"mag{k}"] = mm
            mags.append((mm.read_port(domain="comb"), mm.write_port()))
        # Addresses 0 .. D-1 the live states, D .. 2D-1 the seed copy that a reset writes back.
        seed_words = [sum(seed_of(d * S + k) << (k * W) for k in range(S)) for d in range(D)]
        # With one beat per slot (D == 1) the next slot's read of address 0 shares the clock edge with the
        # write-back of the slot's leap: read through it. Otherwise the write-back of address c precedes
        # the next slot's read of c by D - 1 >= 1 pipeline cycles (see the timing in the docstring), and
        # the re-seeding reads D + i while it writes i - 2: the read never meets the write, so the block
        # RAM needs no cross-port bypass (`no_rw_check`: Yosys would emulate one in fabric otherwise).
        st_mem = Memory(shape=S * W, depth=2 * D, init=seed_words * 2,
                        attrs={"ram_style": "block", **({} if D == 1 else {"no_rw_check": 1})})
        m.submodules.st = st_mem
        ws = st_mem.write_port()
        rs = st_mem.read_port(transparent_for=(ws,) if D == 1 else ())
        # Re-seeding after reset, from registers only (they feed the read addresses): read D .. 2D-1 in
        # cycles 0 .. D-1 (`reading`); the word read in cycle t reaches the read data register st_q in
        # t + 2 and is written from it at address t (the slot's write-back path: no memory-output-to-
        # memory-input path), cycles 2 .. D+1. No slot can be presented before cycle D + 2 (the update
        # loads for >= D cycles, then the set-up's), so nothing else waits on `seeding` (a gate on the
        # read addresses was the 100x784 ECP5 critical path).
        reading, seeding = Signal(init=1), Signal(init=1)
        seed_addr = Signal(range(2 * D), init=D)
        with m.If(reading):
            m.d.sync += [seed_addr.eq(seed_addr + 1), reading.eq(seed_addr != 2 * D - 1)]
        seed_rd, seed_we = Signal(), Signal()           # the word read in the cycle before / before that
        m.d.sync += [seed_rd.eq(reading), seed_we.eq(seed_rd)]
        seed_wa = Signal(range(D), init=0)              # the address it is written to
        with m.If(seed_we):
            m.d.sync += seed_wa.eq(seed_wa + 1)
            with m.If(~seed_rd):                        # the last seed word
                m.d.sync += seeding.eq(0)

        # -- loading, two registered stages after the beat: lane l -> line base + l -> bank (b0 + l) mod S
        # Per vector a position: the base bank one-hot (lane l hits bank k iff bit (k - l) mod S is set;
        # it wraps to the next address iff k < l), the address and the address + 1, and the lines left
        # (lane l is written iff more than l are left). Rewound at every update's end.
        ld, ld_x = Signal(), Signal()
        ld_mag, ld_sgn = Signal(L * P), Signal(L)
        m.d.sync += [ld.eq(self.load), ld_x.eq(self.vec_x), ld_mag.eq(self.in_mag), ld_sgn.eq(self.in_sgn)]
        AW = range(D + 2)
        # `rewind` (the controller's done: combinational from o.ready through `drained`) is registered
        # before it resets the positions (the ECP5 maps that reset to the LSR of every position flip-flop:
        # o.ready -> done -> row_left was the 100 x 784 critical path, 8.14 ns). In time: the next
        # update's first beat is taken the cycle after done at the earliest and reaches the positions
        # (`ld`) one cycle later, after the registered rewind.
        rewind = Signal()
        m.d.sync += rewind.eq(self.rewind)
        pos = {}
        for side, (line0, count) in (("row", (0, a)), ("col", (a, b))):
            oh = Signal(S, init=1 << (line0 % S), name=f"{side}_oh")
            ad = Signal(AW, init=line0 // S, name=f"{side}_addr")
            ad1 = Signal(AW, init=line0 // S + 1, name=f"{side}_addr1")
            left = Signal(range(-L - 1, n + 1), init=count, name=f"{side}_left")
            pos[side] = (oh, ad, ad1, left)
            with m.If(rewind):
                m.d.sync += [oh.eq(1 << (line0 % S)), ad.eq(line0 // S), ad1.eq(line0 // S + 1), left.eq(count)]
            with m.Elif(ld & (ld_x == (side == "col"))):
                wrap = oh[S - L:].any()                  # b0 + L >= S
                m.d.sync += [oh.eq(Cat(oh[S - L:], oh[:S - L]) if L < S else oh),
                             ad.eq(Mux(wrap, ad1, ad)), ad1.eq(Mux(wrap, ad1 + 1, ad1)),
                             left.eq(Mux(left > -L, left - L, left))]
        # the beat's position and which lanes it writes, registered (the beat's second load stage), so
        # the per-bank write below is a mux of registers
        oh, ad, ad1 = (Signal.like(x, name=f"cur_{x.name}") for x in pos["row"][:3])
        with m.If(ld):
            for x, r, c_ in zip((oh, ad, ad1), pos["row"], pos["col"]):
                m.d.sync += x.eq(Mux(ld_x, c_, r))
        left = Signal.like(pos["row"][3], name="cur_left")
        m.d.comb += left.eq(Mux(ld_x, pos["col"][3], pos["row"][3]))
        lane_ok = [Signal(name=f"lane{l}_ok") for l in range(L)]
        for l in range(L):
            m.d.sync += lane_ok[l].eq(ld & (left > l))
        ld_mag2, ld_sgn2 = Signal(L * P), Signal(L)
        m.d.sync += [ld_mag2.eq(ld_mag), ld_sgn2.eq(ld_sgn)]
        ld_mag, ld_sgn = ld_mag2, ld_sgn2
        for k in range(S):                              # per bank: the write, registered once more
            _, wp = mags[k]
            we, wa, wd = Signal(name=f"we{k}"), Signal(AW, name=f"wa{k}"), Signal(P + 1, name=f"wd{k}")
            m.d.sync += we.eq(0)
            for l in range(L):
                with m.If(lane_ok[l] & oh[(k - l) % S]):
                    m.d.sync += [we.eq(1), wa.eq(ad1 if k < l else ad),
                                 wd.eq(Cat(ld_mag[l * P:(l + 1) * P], ld_sgn[l]))]
            m.d.comb += [wp.en.eq(we), wp.addr.eq(wa), wp.data.eq(wd)]

        # -- slots: four stages, one beat per cycle: read address c of every bank (the memories' address
        # register), the read data register (DP16KD OUTREG style: no memory-output-to-logic path),
        # compute beat c, the output register. The read side runs one beat ahead of the compute side and
        # across slot boundaries: address c is read two pipeline moves before beat c is computed, so the
        # last beat of a slot reads the next slot's address 0 and the capture cycle its address 1; while
        # no slot is computed address 0 is read every cycle. A stall freezes every stage.
        busy = Signal()                                 # beat cnt's data is in the read data register
        cnt = Signal(range(D))
        # cnt == D - 1 and the address read beside beat cnt (cnt + 2, or the next slot's 0 at the last
        # beat) as registers kept with cnt: no compare or adder between the counter and the read address
        # (it fans out to every bank's memories) or `taken`.
        last = Signal(init=D == 1)
        ra = Signal(range(D + 2), init=0 if D == 1 else 2)
        out_valid = Signal()                            # the output register holds a beat
        out_fire, out_pol, out_last = Signal(S), Signal(S), Signal()
        step = Signal()                                 # beat cnt moves into the output register
        m.d.comb += [
            step.eq(busy & (~out_valid | self.o.ready)),
            self.o.valid.eq(out_valid), self.o.payload.fire.eq(out_fire), self.o.payload.pol.eq(out_pol),
            self.o.payload.last.eq(out_last), self.taken.eq(step & last),
            self.drained.eq(~out_valid | self.o.ready),
        ]
        adv = Signal()                                  # the read stages move (every cycle but a stall)
        rd_addr = Signal(range(D + 2))
        m.d.comb += [adv.eq(~busy | step),              # capture: address 1 (address 0 is in flight)
                     rd_addr.eq(Mux(busy, ra, self.present))]
        # The LFSR block RAM (its own address register at the port) reads the same address, from the
        # register ra too (`no_rw_check` above: no fabric bypass for the write-back of cnt in the same
        # cycle, which the timing above rules out; the form cnt == D - 1 ? 0 : cnt + 2 put a compare and
        # an adder in front of the 28 DP16KDs' addresses at 100 x 784).
        st_addr = Signal(range(max(D + 2, 2 * D)))    # 0 .. D + 1, and the seeds D .. 2D - 1
        m.d.comb += st_addr.eq(Mux(busy, ra, Mux(reading, seed_addr, self.present)))
        first = [cnt.eq(0), last.eq(D == 1), ra.eq(0 if D == 1 else 2)]     # cnt = 0
        with m.If(~busy & self.present):
            m.d.sync += [busy.eq(1), *first]
        with m.Elif(step):
            if D >= 2:                                  # cnt + 1 (D == 1: always the last beat)
                m.d.sync += [cnt.eq(cnt + 1), last.eq(cnt == D - 2), ra.eq(Mux(cnt == D - 2, 0, cnt + 3))]
            with m.If(last):
                m.d.sync += [busy.eq(0), *first]
        # the address read in the cycle after rd_addr (the memories' address register stage) and of the
        # data then in the read data registers
        addr1 = Signal(range(D + 2))
        with m.If(adv):
            m.d.sync += addr1.eq(rd_addr)
        st_q = Signal(S * W)
        with m.If(adv):
            m.d.sync += st_q.eq(rs.data)
        leap = Signal()                                 # this slot's last phase of a stochastic slot
        m.d.comb += leap.eq(~self.det & ~(self.two_phase & ~self.phase))
        fires, pols = [], []
        m.d.comb += [rs.en.eq(adv), rs.addr.eq(st_addr), ws.en.eq(Mux(seeding, seed_we, step & leap)),
                     ws.addr.eq(Mux(seeding, seed_wa, cnt))]
        for k in range(S):
            # The magnitude memories are read asynchronously from the register addr1 (the address one
            # move after rd_addr): the same data in the same cycle as a synchronous read of rd_addr (they
            # are written only while loading), without the mux of rd_addr and its route in front of the
            # reads of all S banks (busy -> rd_addr -> mag17's read -> its read data register was the
            # 100 x 784 ECP5 critical path, 7.9 ns; the memories' own data registers, 544 flip-flops
            # at 100 x 784, go with it).
            rm, _ = mags[k]
            mag_q = Signal(P + 1, name=f"mag_q{k}")
            with m.If(adv):
                m.d.sync += mag_q.eq(rm.data)
            st = st_q[k * W:(k + 1) * W]
            m.d.comb += [rm.addr.eq(addr1),
                         ws.data[k * W:(k + 1) * W].eq(Mux(seeding, st, leap_value(st, W, LS)))]
            rows_here = max(0, -(-(a - k) // S))        # addresses of bank k that hold row lines
            lines_here = max(0, -(-(n - k) // S))
            is_row = Signal(name=f"is_row{k}")          # registered with the read data: no compare of
            valid = Signal(name=f"valid{k}")            # cnt on the beat's path
            rmask = Signal(P, name=f"mask{k}")          # the line's random-number mask, chosen here too: no
            rdet = Signal(P, name=f"det{k}")            # is_row fan-out on the compare's path (masks are
            with m.If(adv):                             # set in PLAN); likewise the line's ramp value
                m.d.sync += [is_row.eq(addr1 < rows_here), valid.eq(addr1 < lines_here),
                             rmask.eq(Mux(addr1 < rows_here, self.mask_u, self.mask_v)),
                             rdet.eq(Mux(addr1 < rows_here, self.det_row, self.det_col))]
            # (the ECP5 critical path was the sequencer's det_col -> row/column mux -> every bank's compare).
            # Banks with the same rows_here hold equal registers, which Yosys merges (two copies at
            # 100 x 784, S = 32). The ramps change at the slot boundary (the edge of `taken`); the
            # capture cycle that follows is a read move (adv, not busy) that loads the next slot's values
            # with its address 0, in time for beat 0.
            mag, sgn = mag_q[:P], mag_q[P]
            value = Mux(self.det, rdet, st[:P] & rmask)
            phase_ok = is_row | ~self.two_phase | (self.phase ^ ~sgn)
            f, p = Signal(name=f"fire{k}"), Signal(name=f"pol{k}")
            m.d.comb += [f.eq(valid & self.gate & phase_ok & (value < mag)),
                         p.eq(valid & (sgn ^ (is_row & self.row_pol_flip)))]
            fires.append(f), pols.append(p)
        with m.If(step):
            m.d.sync += [out_valid.eq(1), out_fire.eq(Cat(*fires)), out_pol.eq(Cat(*pols)), out_last.eq(last)]
        with m.Elif(self.o.ready):
            m.d.sync += out_valid.eq(0)
        return m
