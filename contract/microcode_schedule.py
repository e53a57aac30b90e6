"""Static schedule of the microcode (contract/microcode.py) for a pipelined ALU of fixed latency LAT.

The sequential segments are the specification; the scalar unit (golden/rtl/scalar_unit.py and
hdl/engine/scalar_unit.py) runs their schedule for its ALU latency, one slot per cycle:

    issue at cycle t: the operands (registers, k_v, the dot-product latches) are read at t; the result
    (a register or k_v) becomes visible to what issues at t + LAT, a hand-over word of COEF/OUTC/SOUT at
    t + LAT + HANDOVER_EXTRA.
    REL, RDY and DONE act at their issue cycle (pulses). LAT = 1 is the unpipelined unit.

How a segment is scheduled (`schedule_segment`)
    1. Renaming. The architectural registers (`ARCH`: read by some segment before it writes them, plus
       the constants) keep their names at their last write in the segment; every other write (the
       temporaries t0/t1/t2/ah/y, the per-sample dot products, earlier writes of an architectural
       register) gets a fresh virtual register, so independent work (the two rsqrt chains, the _coef and
       _outscale parts) no longer shares t0/t1/t2 and interleaves.
    2. Dependences (i before j in program order): true (j reads what i writes): t_j >= t_i + LAT;
       anti (j writes what i reads) and output (both write): t_j >= t_i + 1, so no read ever meets a
       pending write (the golden model asserts that). Side effects are resources: KSEL v writes k_v (read
       by SCLK and COEF of v); LDI reads the latches, REL "writes" them (REL after every LDI); COEF/OUTC
       write their hand-over word, SOUT writes s; RDY v reads OUTC v's word and s (so the read-out starts
       with its scale and s in place) and RDY X follows RDY D; DONE issues last, when every result is
       visible to the next segment (t_DONE >= t_i + LAT - 1). In LAST (microcode.LAST) RDY v also
       waits for COEF v's word (the read-out applies it).
    3. List scheduling, one instruction per cycle, priority = longest latency-weighted path to the end
       (ties: program order), the LDIs and REL before everything else (the latches are released as early
       as they can be: the next sample's pass waits for them); a cycle with nothing ready holds a NOP.
    4. Register allocation of the virtual registers onto the temporaries (`TEMPS`, the non-architectural
       registers of microcode.REGS), linear scan: a register is busy from the issue of its write to the
       last read of that value.

Results are bit-exact with the sequential program (tests/golden/test_microcode_schedule.py): every
operation sees the same operand values, so the architectural registers, k, the hand-over words and the
sticky flag end equal; the temporaries end differently (nothing reads them across segments).
"""
from __future__ import annotations

from functools import lru_cache

from . import microcode as P

#: Latencies the scheduler supports (the temporaries suffice for all of them; tested).
MIN_LATENCY, MAX_LATENCY = 1, 10
#: The hand-over words (COEF, OUTC, SOUT: rounding to their widths and clamps) take this many cycles
#: more than the ALU results: visible at t + LAT + HANDOVER_EXTRA (to RDY, to the next segment).
HANDOVER_EXTRA = 1
_HANDOVER = ("COEF", "OUTC", "SOUT")


def result_latency(op: str, lat: int) -> int:
    """Cycles from the issue of `op` to its result being visible."""
    return lat + HANDOVER_EXTRA if op in _HANDOVER else lat

NOP = ("NOP", None, None, None)

_REG3 = ("MUL", "ADD", "SUB")
_REG1 = ("SCL", "MOV", "SEED", "SCLK")
_EFFECT_READS_A = ("KSEL", "COEF", "OUTC", "SOUT")


def reg_fields(ins: tuple) -> tuple[str | None, tuple[str, ...]]:
    """(destination register or None, register operands read) of one instruction (names)."""
    op, d, a, b = ins
    if op in _REG3:
        return d, (a, b)
    if op in _REG1:
        return d, (a,)
    if op == "LDI":
        return d, ()
    if op in _EFFECT_READS_A:
        return None, (a,)
    return None, ()


def _resources(ins: tuple) -> tuple[set[str], set[str]]:
    """(reads, writes) of the side-effect resources (names starting with '@')."""
    op, d, _, b = ins
    if op == "LDI":
        return {"@lat"}, set()
    if op == "REL":
        return set(), {"@lat"}
    if op == "KSEL":
        return set(), {f"@k{int(d)}"}
    if op == "SCLK":
        return {f"@k{int(b[0])}"}, set()
    if op == "COEF":
        return {f"@k{int(d)}"}, {f"@coef{int(d)}"}
    if op == "OUTC":
        return set(), {f"@out{int(d)}"}
    if op == "SOUT":
        return set(), {"@s"}
    if op == "RDY":
        return {f"@out{int(d)}", "@s", f"@coef{int(d)}"}, {"@rdy"}
    return set(), set()


def _arch_registers() -> frozenset[str]:
    """Registers live into some segment (read there before written), and the constants."""
    live = {"ZERO", "C15"}
    for seg in P.SEGMENTS.values():
        written: set[str] = set()
        for ins in seg:
            d, srcs = reg_fields(ins)
            live |= {r for r in srcs if r not in written}
            if d is not None:
                written.add(d)
    return frozenset(live)


ARCH = _arch_registers()
#: Registers free for renamed values (in REGS order).
TEMPS = tuple(n for n in P.REGS if n not in ARCH)


def _rename(seg: list[tuple]) -> list[tuple]:
    """The segment with every non-final or temporary write renamed to a virtual register '%i'."""
    last = {}
    for i, ins in enumerate(seg):
        d, _ = reg_fields(ins)
        if d is not None:
            last[d] = i
    cur: dict[str, str] = {}
    out, nv = [], 0
    for i, ins in enumerate(seg):
        op, d, a, b = ins
        dest, srcs = reg_fields(ins)
        a2 = cur.get(a, a) if srcs else a
        b2 = cur.get(b, b) if len(srcs) == 2 else b
        if dest is not None:
            if dest in ARCH and last[dest] == i:
                new = dest
            else:
                new, nv = f"%{nv}", nv + 1
            cur[dest] = new
            d = new
        out.append((op, d, a2, b2))
    return out


def _edges(seg: list[tuple], lat: int) -> list[list[tuple[int, int]]]:
    """preds[j] = [(i, minimum distance t_j - t_i)] of the renamed segment."""
    n = len(seg)
    info = []
    for ins in seg:
        d, srcs = reg_fields(ins)
        rr, rw = _resources(ins)
        info.append((set(srcs) | rr, ({d} if d is not None else set()) | rw))
    preds: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for j in range(n):
        rj, wj = info[j]
        if seg[j][0] == "DONE":
            for i in range(j):
                effect = bool(info[i][1]) and seg[i][0] not in ("REL", "RDY")
                preds[j].append((i, max(1, result_latency(seg[i][0], lat) - 1) if effect else 1))
            continue
        for i in range(j):
            ri, wi = info[i]
            dist = 0
            if wi & rj:
                dist = result_latency(seg[i][0], lat)
            if ri & wj or wi & wj:
                dist = max(dist, 1)
            if dist:
                preds[j].append((i, dist))
    return preds


def schedule_segment(seg: list[tuple], lat: int) -> list[tuple]:
    """The scheduled segment for ALU latency `lat`: one instruction (or NOP) per cycle, physical
    register names; DONE last. ValueError if `lat` is out of range or the temporaries run out."""
    if not (isinstance(lat, int) and MIN_LATENCY <= lat <= MAX_LATENCY):
        raise ValueError(f"ALU latency must be an integer in [{MIN_LATENCY}, {MAX_LATENCY}], not {lat!r}")
    if not seg or seg[-1][0] != "DONE" or any(ins[0] == "DONE" for ins in seg[:-1]):
        raise ValueError("a segment ends with its only DONE")
    ren = _rename(list(seg))
    n = len(ren)
    preds = _edges(ren, lat)
    succs: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for j in range(n):
        for i, dist in preds[j]:
            succs[i].append((j, dist))
    prio = [0] * n
    for i in reversed(range(n)):
        prio[i] = max((dist + prio[j] for j, dist in succs[i]), default=0)
    # The latches' reads (LDI) and their release (REL) first: the next sample's pass cannot end while its
    # vector's latches are held, so a late REL stalls the vector stream (at ALU latency 3 the list
    # scheduler left REL at slot 82 of an 87-slot CHAIN: every sample waited for it)
    # (just below the segment's most critical operations, which still issue first)
    top = max(prio, default=0)
    for j, ins in enumerate(ren):
        if ins[0] in ("LDI", "REL"):
            prio[j] = max(prio[j], top - 1)
    t = [None] * n
    slots: list[int | None] = []
    left = set(range(n))
    while left:
        cyc = len(slots)
        ready = [j for j in left if all(t[i] is not None and t[i] + dist <= cyc for i, dist in preds[j])]
        if ready:
            j = max(ready, key=lambda k: (prio[k], -k))
            t[j] = cyc
            left.discard(j)
            slots.append(j)
        else:
            slots.append(None)
    return _allocate(ren, t, slots)


def _allocate(ren: list[tuple], t: list[int], slots: list[int | None]) -> list[tuple]:
    """Map the virtual registers onto TEMPS (linear scan over the issue order)."""
    start, end = {}, {}
    for j, ins in enumerate(ren):
        d, srcs = reg_fields(ins)
        if d is not None and d.startswith("%"):
            start[d] = t[j]
            end.setdefault(d, t[j])
        for r in srcs:
            if r.startswith("%"):
                end[r] = max(end[r], t[j])
    phys: dict[str, str] = {}
    free_at = {name: -1 for name in TEMPS}          # cycle from which a temporary may be written again
    for v in sorted(start, key=lambda v: start[v]):
        cand = [name for name in TEMPS if free_at[name] <= start[v]]
        if not cand:
            raise ValueError(f"the {len(TEMPS)} temporary registers do not suffice for this schedule")
        name = cand[0]
        phys[v] = name
        free_at[name] = end[v]
    out = []
    for j in slots:
        if j is None:
            out.append(NOP)
            continue
        op, d, a, b = ren[j]
        dest, srcs = reg_fields(ren[j])
        if dest is not None:
            d = phys.get(d, d)
        if srcs:
            a = phys.get(a, a)
        if len(srcs) == 2:
            b = phys.get(b, b)
        out.append((op, d, a, b))
    return out


@lru_cache(maxsize=None)
def scheduled_segments(lat: int) -> dict[str, tuple[tuple, ...]]:
    """Segment name -> scheduled instructions for ALU latency `lat` (enums.Segment order, then LAST, the
    fused CHAIN + FINAL of a batch's last sample)."""
    segs = {**P.SEGMENTS, "LAST": P.LAST}
    return {name: tuple(schedule_segment(seg, lat)) for name, seg in segs.items()}


def rom(lat: int) -> tuple[list[tuple], dict[str, int]]:
    """All scheduled segments in one list (enums.Segment order) and the start address of each."""
    out, start = [], {}
    for name, seg in scheduled_segments(lat).items():
        start[name] = len(out)
        out += seg
    return out, start


def rdy_index(vec: int, lat: int, segment: str = "LAST") -> int:
    """Cycle of `RDY vec` inside a scheduled segment (LAST or FINAL): its latency from the segment start."""
    return next(i for i, ins in enumerate(scheduled_segments(lat)[segment]) if ins[0] == "RDY" and ins[1] == vec)


def segment_lengths(lat: int) -> dict[str, int]:
    """Cycles of each scheduled segment (DONE included)."""
    return {name: len(seg) for name, seg in scheduled_segments(lat).items()}
