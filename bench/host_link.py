"""`make bench` entry for the host link (contract/host_protocol.py): link-bound throughput of a board
against the engine's own rate.

Link bound: the host driver (host/driver.py) streams recorded digits-trainer batches (a=100, b=784, 32
samples, golden/link/recorded_batches.py) to the golden board model (golden/link/board_model.py) over
an in-process transport; the bytes it exchanges per batch are counted (SAMPLE frames with their
COBS/CRC/delimiter and replies, the STATUS poll and READ_UPDATE with its reply), and at 8N1 (10 bit
times per byte) and BAUD give the time the wire needs per batch: samples/s = 32 / that time. The driver
is stop-and-wait (one request at a time), so the two directions do not overlap; board turnaround and,
on a real FTDI link, USB latency come on top (the measured figure below shows the turnaround in
simulation).

Engine rate: cycles per sample of the engine at the top's clock (hdl/board/*.py CLK_HZ, 12 MHz on both): the measured figure of bench.engine
(build/bench.json "engine", L1) when that file holds one, else the streaming/scalar-chain bound
max(ceil((a+b)/L), len(CHAIN)); both are reported.

Measured in simulation: the cocotb host-link bench (tb/benches/host_link_tb.py) on the "host_top" block
when the flow has one (else the golden board behind a wire stub): samples/s in simulated time against the
byte-count bound of the same traffic (the wire's utilisation).

    python -m bench host_link              (or: python -m bench.host_link)
"""
from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

from contract import microcode as P
from contract.engine_config import EngineConfig
from contract.host_protocol import BAUD

A, B, N = 100, 784, 32
#: The boards' oscillators, used when hdl/board/ has no top for a board: iCEBreaker 12 MHz, ULX3S 25 MHz.
BOARD_CLOCKS = {"icebreaker": 12_000_000, "ulx3s": 25_000_000}


def link_bytes(a: int, b: int, n: int, batches: int = 2, baud: int = BAUD) -> dict:
    """Bytes both ways per batch of n recorded samples, driver <-> golden board (see the docstring)."""
    from golden.link.board_model import BoardModel
    from golden.link.recorded_batches import recorded_batches
    from host import CallbackTransport, SBEBoard
    cfg = EngineConfig(a=a, b=b)
    bts = recorded_batches(cfg, batches, batch_size=n)
    t = CallbackTransport(BoardModel(a, b, baud=baud))
    bd = SBEBoard(t, baud=baud)
    bd.identify()
    out, s0, r0 = [], t.sent, t.received
    for bt in bts:
        bd.batch(*bt)
        out.append((t.sent - s0, t.received - r0))
        s0, r0 = t.sent, t.received
    to_board = sum(o[0] for o in out) / len(out)
    from_board = sum(o[1] for o in out) / len(out)
    secs = (to_board + from_board) * 10 / baud
    return {"bytes_to_board_per_batch": to_board, "bytes_from_board_per_batch": from_board,
            "bytes_per_sample": (to_board + from_board) / n, "wire_s_per_batch": secs,
            "link_samples_per_s": n / secs}


def engine_cycles(a: int, b: int, lanes: int = 1) -> dict:
    bound = max(math.ceil((a + b) / lanes), len(P.CHAIN))
    out = {"bound_cycles_per_sample": bound, "source": "bound max(ceil((a+b)/L), len(CHAIN))",
           "cycles_per_sample": bound}
    try:
        from flow.verilog_out import BUILD
        eng = json.loads((BUILD / "bench.json").read_text())["engine"][f"L{lanes}"]
        out.update(cycles_per_sample=eng["cycles_per_sample"], source="build/bench.json engine (measured)")
    except (OSError, KeyError, ValueError):
        pass
    return out


def top_clocks() -> dict:
    """board -> the clock (Hz) its top runs at (hdl/board/<board>.py CLK_HZ; BOARD_CLOCKS, the boards'
    oscillators, when there is no such module)."""
    import importlib
    out = {}
    for board, osc in BOARD_CLOCKS.items():
        try:
            out[board] = importlib.import_module(f"hdl.board.{board}").CLK_HZ
        except (ImportError, AttributeError):
            out[board] = osc
    return out


def sim_measure(sim: str = "icarus") -> dict:
    """The cocotb host-link bench on the host_top block (or the golden board behind a wire stub)."""
    from flow.generate import BLOCKS
    from tb.runner import run_bench
    res = Path(tempfile.mkdtemp()) / "res.json"
    board = dict(a=6, b=10, clk_hz=12_000_000)
    params = {"batches": 3, "batch_size": 8, "errors": False, "results": str(res)}
    t0 = time.perf_counter()
    if "host_top" in BLOCKS:
        from flow.generate import CONFIG_DIR, build_component, load_config
        cfg = load_config(CONFIG_DIR / "host_top_a8_b12_l1.json")
        board = cfg["params"]
        run_bench(sim, build_component("host_top", board), toplevel="host_top", module="host_link_tb",
                  build_name="bench_host_link", params={**params, "board": board})
        what = f"host_top ({cfg['name']})"
    else:
        from tb.benches.host_link_tb import UartWireStub
        run_bench(sim, UartWireStub(), toplevel="uart_wire_stub", module="host_link_tb", build_name="bench_host_link_stub",
                  params={**params, "board": board, "golden_board": True})
        what = "golden board behind a wire stub (no host_top block yet)"
    r = json.loads(res.read_text())
    n = sum(x["samples"] for x in r["batches"][1:])
    secs = sum(x["sim_s"] for x in r["batches"][1:])           # the first batch includes ID and set-up
    wire = (r["bytes_to_board"] + r["bytes_from_board"]) * 10 / board.get("baud", BAUD)
    return {"top": what, "a": board["a"], "b": board["b"], "clk_hz": board["clk_hz"],
            "samples_per_s_simulated": n / secs, "wire_utilisation": wire / r["total_sim_s"],
            "transient_status_replies": r["transient_status"], "wall_s": time.perf_counter() - t0}


def run(sim: bool = True) -> dict:
    link = link_bytes(A, B, N)
    eng = engine_cycles(A, B)
    out = {"config": {"a": A, "b": B, "batch": N, "baud": BAUD, "bits_per_byte": 10}, "link": link,
           "engine": eng}
    for board, clk in top_clocks().items():
        rate = clk / eng["cycles_per_sample"]
        out[board] = {"clock_hz": clk, "engine_samples_per_s": rate,
                      "link_samples_per_s": link["link_samples_per_s"],
                      "ratio_link_vs_engine": link["link_samples_per_s"] / rate}
    if sim:
        out["simulated"] = sim_measure()
    return out


if __name__ == "__main__":
    import sys

    from bench.cli import run_alone
    run_alone("python -m bench.host_link", __doc__, run, sys.argv[1:])
