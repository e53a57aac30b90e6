"""Amaranth-simulator drivers for hdl/controller/update_controller.py and the blocks that contain it (shared by tests
and bench/): a producer that sets the registers and streams updates, a monitor of the slot outputs, and
`run_amaranth`, which runs both. Updates are the dicts of tb/stimulus.py.

Checks that do not lean on the golden twin (golden/rtl/update_controller.py), shared with the cocotb bench
(tb/benches/update_controller_tb.py): `formula_plan`, the plan of one update written directly from the
definitions of the scheme in exact rational arithmetic (`reference_plan`, also the reference of
tests/properties/test_pulse_planner.py), and `ControllerInvariants`, which watches the
controller's own outputs cycle by cycle and asserts properties any correct controller has.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from contract.enums import Status
from tb.stimulus import bits, update_beats_of

#: Cycles the producer waits for the controller to take one input beat before it gives up.
BEAT_WAIT_CYCLES = 100_000


@dataclass(frozen=True)
class FormulaPlan:
    """The plan of one update by the direct formula: status, slot count BL (0: nothing written), gate G."""

    status: int
    bl: int
    g: int
    ku: int
    phases: int

    @property
    def slots(self) -> int:
        """Slots the controller presents: BL per phase, 0 when flagged or zero."""
        return self.bl * self.phases


def reference_plan(u, v, s_mant: int, s_exp: int, lr_mant: int, lr_exp: int, bl: int, det: bool, bl_mgmt: bool,
                   *, elem_width: int = 16) -> dict:
    """The scalars of one update written directly from the scheme's definitions, independently of the golden
    twin's integer shifts: dict(status, bl, g, ku, kv, E, ghat, zero). Ghat = lr_mant*|s_mant| * 2**E,
    E = lr_exp + s_exp + ku + kv - 2F, as an exact fraction; BL_ZERO when bl == 0, BL_POW2 when det and bl
    is not a power of two; a zero update (Ghat, u or v zero) writes nothing and is not flagged; BL = bl,
    or with BL management min(max(ceil(Ghat), 1) (rounded up to a power of two when det), bl); OVERFLOW
    when Ghat > BL; G = floor(Ghat * 2**P / BL)."""
    P, F = elem_width, elem_width - 1
    mu = int(np.abs(np.asarray(u, dtype=np.int64)).max())
    mv = int(np.abs(np.asarray(v, dtype=np.int64)).max())
    ku, kv = mu.bit_length(), mv.bit_length()
    E = int(lr_exp) + int(s_exp) + ku + kv - 2 * F
    ghat = Fraction(int(lr_mant) * abs(int(s_mant))) * Fraction(2) ** E
    status = Status.BL_ZERO if bl == 0 else Status.BL_POW2 if det and bin(bl).count("1") != 1 else 0
    out = dict(status=int(status), bl=0, g=0, ku=ku, kv=kv, E=E, ghat=ghat, zero=ghat == 0 or mu == 0 or mv == 0)
    if status or out["zero"]:
        return out
    if bl_mgmt:
        want = max(math.ceil(ghat), 1)
        n = min(1 << (want - 1).bit_length() if det else want, bl)
    else:
        n = bl
    if ghat > n:
        out["status"] = int(Status.OVERFLOW)
        return out
    out.update(bl=n, g=math.floor(ghat * 2 ** P / n))
    return out


def formula_plan(upd: dict, *, elem_width: int = 16) -> FormulaPlan:
    """`reference_plan` of update `upd` (a tb/stimulus.py dict)."""
    r = reference_plan(upd["u"], upd["v"], upd["s_mant"], upd["s_exp"], upd["lr_mant"], upd["lr_exp"], int(upd["bl"]),
                       bool(upd["det"]), bool(upd["bl_mgmt"]), elem_width=elem_width)
    return FormulaPlan(status=r["status"], bl=r["bl"], g=r["g"], ku=r["ku"], phases=2 if upd["two_phase"] else 1)


def ramp_count(bl: int, mag: int, k: int) -> int:
    """Slots of a BL-slot deterministic train whose row ramp passes magnitude `mag` (bit length bound k):
    round(BL * mag / 2**k), ties rounded down (the ramp samples slot centres, (t + 1/2) / BL)."""
    return max(0, math.ceil(Fraction(bl * mag, 2 ** k) - Fraction(1, 2)))


class ControllerInvariants:
    """Invariants of the controller's outputs, fed cycle by cycle (Amaranth sim or cocotb), checked with
    assertions that name the update. Independent of the golden twin: the plan is `formula_plan`.

    Per update (`updates` in the order they are streamed, `elem_width` = P):
    * the slots taken equal the plan's BL (x2 two-phase), or 0 when the status is not 0 or the
      update is zero; a flagged update (status != 0) presents no slot;
    * no slot is presented from a `done` strobe until the next update's first input beat;
    * no device (i, j) sees more than BL coincidences (row i and column j firing in one slot);
    * deterministic mode: row i fires exactly phases * round(BL*|u_i|/2**ku) times when the gate passes
      every slot (G = 2**P), and never more than that otherwise.

    Call `cycle(...)` once per clock cycle with the values of that cycle, then `status(value)` with the
    status register on the cycle after each `done`; `finish()` at the end (all updates seen).
    """

    def __init__(self, updates: list[dict], *, a: int, b: int, elem_width: int = 16):
        self.updates, self.a, self.b, self.P = list(updates), a, b, elem_width
        self.k = 0                      # the update whose slots are being counted
        self.idle = False               # between a done strobe and the next update's first beat
        self.awaiting_status = False
        self.checked = 0
        self._new()

    def _new(self):
        self.taken = 0
        self.coinc = np.zeros((self.a, self.b), dtype=np.int64)
        self.row_fires = np.zeros(self.a, dtype=np.int64)

    def cycle(self, *, beat: bool, slot: bool, taken: bool, row_fire, col_fire, done: bool) -> None:
        """One clock cycle: an input beat transferred, a slot presented, a slot taken (slot & slot_ready,
        with its fire vectors as bool arrays), the done strobe."""
        if beat:
            self.idle = False
        if slot:
            assert not self.idle, (f"a slot is presented after the done strobe of update {self.k - 1} "
                                   "and before the next update's first beat")
            assert self.k < len(self.updates), f"a slot after the last of {len(self.updates)} updates"
        if taken:
            rf, cf = np.asarray(row_fire, bool), np.asarray(col_fire, bool)
            self.taken += 1
            self.coinc += np.outer(rf, cf)
            self.row_fires += rf
        if done:
            assert not self.awaiting_status, f"two done strobes without a status read (update {self.k})"
            assert self.k < len(self.updates), f"a done strobe after the last of {len(self.updates)} updates"
            self.idle, self.awaiting_status = True, True

    def status(self, status: int) -> None:
        """The status register in the cycle after a done strobe: check the update that just finished."""
        assert self.awaiting_status, "status() without a done strobe"
        k, upd = self.k, self.updates[self.k]
        fp = formula_plan(upd, elem_width=self.P)
        status = int(status)
        want = 0 if status else fp.slots
        assert self.taken == want, (f"update {k}: {self.taken} slots with status {status}; the plan "
                                    f"(BL {fp.bl} x {fp.phases} phases, status {fp.status}) needs {want}")
        if status:
            assert self.taken == 0, f"update {k}: flagged (status {status}) but {self.taken} slots written"
        if fp.bl:
            worst = int(self.coinc.max())
            assert worst <= fp.bl, f"update {k}: a device saw {worst} coincidences in a {fp.bl}-slot train"
            if upd["det"]:
                umag = np.abs(np.asarray(upd["u"], dtype=np.int64))
                ramp = np.array([ramp_count(fp.bl, int(x), fp.ku) for x in umag]) * fp.phases
                if fp.g == 1 << self.P:
                    assert np.array_equal(self.row_fires, ramp), (
                        f"update {k}: det row fires {self.row_fires.tolist()} != ramp {ramp.tolist()}")
                else:
                    assert np.all(self.row_fires <= ramp), (
                        f"update {k}: det row fires {self.row_fires.tolist()} exceed ramp {ramp.tolist()}")
        self.awaiting_status = False
        self.checked += 1
        self.k += 1
        self._new()

    def finish(self) -> int:
        """After the run: every update was checked. Returns the number checked."""
        assert not self.awaiting_status, "the run ended between a done strobe and its status"
        assert self.checked == len(self.updates), f"{self.checked} of {len(self.updates)} updates checked"
        return self.checked


def set_registers(ctx, dut, regs: dict) -> None:
    """Amaranth sim: drive the controller's register inputs (lr_mant, lr_exp, bl, mode) from an update dict."""
    ctx.set(dut.lr_mant, regs["lr_mant"])
    ctx.set(dut.lr_exp, regs["lr_exp"])
    ctx.set(dut.bl, regs["bl"])
    ctx.set(dut.mode, {"det": int(regs["det"]), "bl_mgmt": int(regs["bl_mgmt"]),
                       "two_phase": int(regs["two_phase"])})


def amaranth_producer(dut, updates: list[dict], *, rin: random.Random | None = None, p_gap: float = 0.0,
                      beat_lists: list | None = None):
    """Amaranth-sim testbench coroutine: set each update's registers on its first beat and stream its
    beats to dut.i, with seeded idle cycles before beats when `rin` is given (p_gap < 1). Each beat waits
    at most BEAT_WAIT_CYCLES cycles for dut.i.ready. `beat_lists` (one list per update, None entries
    for the regular beats) replaces an update's beats, e.g. by a stream against the contract."""
    if not 0 <= p_gap < 1:
        raise ValueError(f"p_gap must be in [0, 1), not {p_gap}")

    async def producer(ctx):
        for k, upd in enumerate(updates):
            first = True
            beats = beat_lists[k] if beat_lists is not None and beat_lists[k] is not None else None
            for beat in beats if beats is not None else update_beats_of(upd, dut.lanes):
                while rin is not None and rin.random() < p_gap:
                    ctx.set(dut.i.valid, 0)
                    await ctx.tick()
                if first:
                    set_registers(ctx, dut, upd)
                    first = False
                ctx.set(dut.i.payload, dut.in_layout.const(beat))
                ctx.set(dut.i.valid, 1)
                await wait_ready(ctx, dut.i.ready, f"the controller to take a beat of update {k}")
            ctx.set(dut.i.valid, 0)
    return producer


async def wait_ready(ctx, ready, what: str, limit: int = BEAT_WAIT_CYCLES) -> None:
    """Tick until `ready` is high at a clock edge (the beat is transferred), at most `limit` cycles."""
    for _ in range(limit):
        _, _, r = await ctx.tick().sample(ready)
        if r:
            return
    raise TimeoutError(f"waited {limit} cycles for {what}")


class UpdateStarts:
    """The cycles at which updates began on the controller's input (their first beat transferred): an
    update may begin while the one before it still plays (the engine's read-out can overlap), so the
    monitors pair each done strobe with the oldest start not yet paired."""

    def __init__(self):
        self.cycles: list[int] = []
        self.first = True                       # the next beat transferred begins an update

    def take(self, cyc: int, transferred: bool, payload) -> None:
        if transferred:
            if self.first:
                self.cycles.append(cyc)
            self.first = bool(payload.last and payload.vec)     # the last beat of Xhat ends an update

    def pop(self) -> int:
        return self.cycles.pop(0)


def slot_monitor(dut, count: int, results: list[dict], *, rout: random.Random, p_stall: float = 0.0,
                 max_cycles: int = 1_000_000, watch=(), on_cycle=None,
                 invariants: ControllerInvariants | None = None, tail: int = 8):
    """Amaranth-sim testbench coroutine for a block with the controller's slot outputs: drives slot_ready
    with seeded stalls and appends {"slots": [(row_fire, row_pol, col_fire, col_pol), ...], "status",
    "cycles"} to `results` per finished update until `count` have finished. cycles counts from the first
    beat transferred on dut.i to the done strobe, both inclusive. The `watch` signals are sampled every
    cycle and passed to on_cycle(*values). With `invariants` (a ControllerInvariants of the same updates)
    every cycle is fed to it, and `tail` more cycles are watched after the last update (no slot then).
    Raises TimeoutError after max_cycles cycles, naming the update whose done strobe it waited for."""
    a, b = dut.a, dut.b

    async def monitor(ctx):
        slots = []
        pending = None
        starts = UpdateStarts()
        for n in range(max_cycles):
            ready = not (rout.random() < p_stall)
            ctx.set(dut.slot_ready, int(ready))
            _, _, slot, rf, rp, cf, cp, done, status, iv, ir, ip, *extra = await ctx.tick().sample(
                dut.slot, dut.row_fire, dut.row_pol, dut.col_fire, dut.col_pol, dut.done, dut.status,
                dut.i.valid, dut.i.ready, dut.i.payload, *watch)
            if on_cycle is not None:
                on_cycle(*extra)
            starts.take(n, iv and ir, ip)
            if pending is not None:            # status is registered at the done edge
                pending["status"] = int(status)
                results.append(pending)
                pending = None
                if invariants is not None:
                    invariants.status(status)
                if len(results) == count:
                    if invariants is not None:
                        for _ in range(tail):
                            _, _, slot, d = await ctx.tick().sample(dut.slot, dut.done)
                            invariants.cycle(beat=False, slot=bool(slot), taken=False, row_fire=None,
                                             col_fire=None, done=bool(d))
                        invariants.finish()
                    return
            if invariants is not None:
                invariants.cycle(beat=bool(iv and ir), slot=bool(slot), taken=bool(slot and ready),
                                 row_fire=bits(rf, a), col_fire=bits(cf, b), done=bool(done))
            if slot and ready:
                slots.append((bits(rf, a), bits(rp, a), bits(cf, b), bits(cp, b)))
            if done:
                pending = {"slots": slots, "cycles": n - starts.pop() + 1}
                slots = []
        raise TimeoutError(f"waited {max_cycles} cycles for the done strobe (and status) of update "
                           f"{len(results)} of {count}")
    return monitor


def run_amaranth(dut, updates: list[dict], *, seed: int = 0, p_gap: float = 0.0, p_stall: float = 0.0,
                 max_cycles: int = 1_000_000, check_invariants: bool = True) -> list[dict]:
    """Simulate `dut` (parallel outputs) on `updates`; per update return
    {"slots": [(row_fire, row_pol, col_fire, col_pol), ...], "status": int, "cycles": int}, where
    cycles counts from the cycle the first beat is transferred to the done strobe, both inclusive.
    With check_invariants, ControllerInvariants asserts on the outputs as they are simulated."""
    from amaranth.sim import Simulator

    rin, rout = random.Random(seed), random.Random(seed + 1)
    results: list[dict] = []
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(amaranth_producer(dut, updates, rin=rin, p_gap=p_gap), background=True)
    inv = ControllerInvariants(updates, a=dut.a, b=dut.b, elem_width=dut.elem_width) if check_invariants else None
    sim.add_testbench(slot_monitor(dut, len(updates), results, rout=rout, p_stall=p_stall, max_cycles=max_cycles,
                                   invariants=inv))
    sim.run()
    return results


def serial_slot_monitor(dut, count: int, results: list[dict], *, rout: random.Random, p_stall: float = 0.0,
                        max_cycles: int = 1_000_000, watch=(), on_cycle=None):
    """slot_monitor for a block with the controller's serial slot stream `o` (serial_width S > 0): drives
    o.ready with seeded stalls, gathers each slot's ceil((a+b)/S) beats (each beat's `last` flag checked
    against the count) and appends {"slots": [(row_fire, row_pol, col_fire, col_pol), ...], "status",
    "cycles"} to `results` per finished update until `count` have finished. `watch`/`on_cycle` as in
    slot_monitor. Raises TimeoutError after max_cycles cycles."""
    a, b, S = dut.a, dut.b, dut.o.payload.fire.shape().width
    n, nch = a + b, -(-(a + b) // S)

    async def monitor(ctx):
        fire = pol = k = 0
        slots, pending, starts = [], None, UpdateStarts()
        for cyc in range(max_cycles):
            ready = not (rout.random() < p_stall)
            ctx.set(dut.o.ready, int(ready))
            _, _, valid, payload, done, status, iv, ir, ip, *extra = await ctx.tick().sample(
                dut.o.valid, dut.o.payload, dut.done, dut.status, dut.i.valid, dut.i.ready, dut.i.payload,
                *watch)
            if on_cycle is not None:
                on_cycle(*extra)
            starts.take(cyc, iv and ir, ip)
            if pending is not None:                     # status is registered at the done edge
                pending["status"] = int(status)
                results.append(pending)
                pending = None
                if len(results) == count:
                    return
            if valid and ready:
                fire |= payload.fire << (S * k)
                pol |= payload.pol << (S * k)
                k += 1
                assert bool(payload.last) == (k == nch), f"beat {k} of {nch}: last = {payload.last}"
                if payload.last:
                    f, p = bits(fire, n), bits(pol, n)
                    slots.append((f[:a], p[:a], f[a:], p[a:]))
                    fire = pol = k = 0
            if done:
                pending = {"slots": slots, "cycles": cyc - starts.pop() + 1}
                slots = []
        raise TimeoutError(f"waited {max_cycles} cycles for update {len(results)} of {count}")
    return monitor


def run_amaranth_serial(dut, updates: list[dict], *, seed: int = 0, p_gap: float = 0.0, p_stall: float = 0.0,
                        max_cycles: int = 1_000_000, beat_lists: list | None = None) -> list[dict]:
    """Simulate `dut` (serial output, serial_width S > 0) on `updates` with seeded input gaps and o.ready
    stalls; per update return {"slots": [(row_fire, row_pol, col_fire, col_pol), ...], "status", "cycles"}
    like run_amaranth (serial_slot_monitor)."""
    from amaranth.sim import Simulator

    rin, rout = random.Random(seed), random.Random(seed + 1)
    results: list[dict] = []
    consumer = serial_slot_monitor(dut, len(updates), results, rout=rout, p_stall=p_stall, max_cycles=max_cycles)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(amaranth_producer(dut, updates, rin=rin, p_gap=p_gap, beat_lists=beat_lists), background=True)
    sim.add_testbench(consumer)
    sim.run()
    return results
