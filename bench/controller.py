"""Bench: cycles of one rank-1 crossbar write by hdl/controller/update_controller.py against a*b element writes.

`run()` simulates the controller (Amaranth simulator, full size: the 784-input, 100-output layer, so
a = 100 row lines and b = 784 column lines) on a few updates with an input that never pauses and line
drivers that take one slot per cycle, checks the measured cycles against the documented formula
UpdateController.cycles_per_update, and reports the ratio against writing the a*b devices one element
at a time (one write per cycle, the optimistic element-serial bound). With simulate=False only the
formula is reported: no field is named "measured" and formula_matches_simulation is None.

    python -m bench controller        (or: python -m bench.controller)
"""
from __future__ import annotations

import sys
import time

import numpy as np

from bench.cli import run_alone


def run(*, a: int = 100, b: int = 784, lanes: int = 4, simulate: bool = True) -> dict:
    from hdl.controller.update_controller import UpdateController, update_cycles
    from tb.amaranth_sim.update_controller import run_amaranth
    from tb.stimulus import random_update

    cases = [(8, False), (32, False), (32, True)]               # (BL, two_phase)
    rows = []
    measured = {}
    if simulate:
        dut = UpdateController(a=a, b=b, lanes=lanes)
        rng = np.random.default_rng(0)
        updates = []
        for bl, tp in cases:
            up = random_update(rng, a, b, det=False, bl_mgmt=False, two_phase=tp)
            up.update(bl=bl, lr_mant=1, lr_exp=-20)                  # small scale: always fits BL
            updates.append(up)
        t0 = time.perf_counter()
        res = run_amaranth(dut, updates, seed=0, max_cycles=10 * sum(
            update_cycles(a=a, b=b, lanes=lanes, bl=bl, phases=2 if tp else 1) for bl, tp in cases))
        sim_s = time.perf_counter() - t0
        for (bl, tp), r in zip(cases, res):
            if r["status"] != 0 or len(r["slots"]) != bl * (2 if tp else 1):
                raise RuntimeError(f"unexpected result for BL={bl}: status {r['status']}, "
                                   f"{len(r['slots'])} slots")
            measured[(bl, tp)] = (r["cycles"], len(r["slots"]))
    for bl, tp in cases:
        phases = 2 if tp else 1
        formula = update_cycles(a=a, b=b, lanes=lanes, bl=bl, phases=phases)
        row = {"bl": bl, "phases": phases, "formula_cycles": formula, "element_serial_cycles": a * b,
               "formula_speedup_vs_element_serial": round(a * b / formula, 1)}
        if (bl, tp) in measured:                      # fields named "measured" exist only when simulated
            cyc, slots = measured[(bl, tp)]
            row.update(measured_cycles=cyc, measured_slots=slots,
                       measured_speedup_vs_element_serial=round(a * b / cyc, 1))
        rows.append(row)
    out = {
        "layer": f"{b}x{a} (a={a} rows, b={b} columns)",
        "lanes": lanes,
        "load_cycles": -(-a // lanes) + -(-b // lanes),
        "setup_and_done_cycles": update_cycles(a=a, b=b, lanes=lanes, bl=0) - (-(-a // lanes) + -(-b // lanes)),
        "writes": rows,
        # None when nothing was simulated: there is nothing the formula could match.
        "formula_matches_simulation": (all(r["measured_cycles"] == r["formula_cycles"] for r in rows)
                                       if simulate else None),
    }
    if simulate:
        out["simulation_seconds"] = round(sim_s, 1)
    # Formula-only views (the formula is what the simulation, when run, confirmed).
    out["by_lanes_bl32"] = {L: update_cycles(a=a, b=b, lanes=L, bl=32) for L in (1, 2, 4, 8)}
    out["serial32_bl32_cycles"] = update_cycles(a=a, b=b, lanes=lanes, bl=32, serial_width=32)
    if simulate:
        out["ram_serial32"] = _ram_serial(a, b, lanes)
    return out


def _ram_serial(a: int, b: int, lanes: int, bl: int = 8, S: int = 32) -> dict:
    """The line state in S memory banks (line_store="ram", serial output, S compare units): measured
    cycles of one written update against the formula (the register store's cycles)."""
    from hdl.controller.update_controller import UpdateController, update_cycles
    from tb.amaranth_sim.update_controller import run_amaranth_serial
    from tb.stimulus import random_update

    up = random_update(np.random.default_rng(1), a, b, det=False, bl_mgmt=False, two_phase=False)
    up.update(bl=bl, lr_mant=1, lr_exp=-20)
    formula = update_cycles(a=a, b=b, lanes=lanes, bl=bl, serial_width=S)
    r = run_amaranth_serial(UpdateController(a=a, b=b, lanes=lanes, serial_width=S, line_store="ram"), [up],
                            max_cycles=10 * formula)[0]
    return {"serial_width": S, "bl": bl, "formula_cycles": formula, "measured_cycles": r["cycles"],
            "measured_slots": len(r["slots"]), "cycles_per_slot": -(-(a + b) // S) + 1}


def main(argv=None) -> dict:
    return run_alone("python -m bench.controller", __doc__, run, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
