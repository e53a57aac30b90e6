"""cocotb regression of the host link: the host driver (host/driver.py) streams recorded training batches
and injects every bad-input case through a simulated UART into the board top's generated Verilog, on
Icarus and Verilator; every reply is checked byte for byte against the golden command processor and
every update against the golden engine/layer (tb/benches/host_link_tb.py).

`test_host_link_golden_board` runs the same bench with the golden board model on the far side of a wire
stub: it checks the bench, the UART transport and the thread bridge on their own."""
import json

import pytest

from tb.benches.host_link_tb import UartWireStub
from tb.runner import run_bench

CLOCK_HZ = 12_000_000


@pytest.mark.cocotb
def test_host_link_golden_board(sim):
    board = dict(a=6, b=10, controller=True, clk_hz=CLOCK_HZ)
    out = run_link(sim, UartWireStub(), "uart_wire_stub", "host_link_golden_board",
                   {"board": board, "golden_board": True, "batches": 3, "batch_size": 2, "errors": True})
    assert out["transient_status"] == 0          # the golden board is untimed: no busy STATUS


def run_link(sim, top, toplevel, build_name, params) -> dict:
    """Run the bench, check that it streamed every batch and injected every case; return its results."""
    from golden.link.bad_requests import bad_requests
    from tb.runner import BUILD
    res = BUILD / "sim" / build_name / f"{sim}.results.json"
    res.unlink(missing_ok=True)
    run_bench(sim, top, toplevel=toplevel, module="host_link_tb", build_name=build_name,
              params={**params, "results": str(res)})
    out = json.loads(res.read_text())
    b = params["board"]
    assert [r["samples"] for r in out["batches"]] == [params["batch_size"]] * params["batches"]
    if params.get("errors"):
        cases = bad_requests(b["a"], b["b"], controller=b.get("controller", False))
        # each case in each of the three states (idle, batch open, update waiting) but NOT_READY with an update
        assert params["batches"] >= 3 and params["batch_size"] >= 2, "three batches of two samples cover every state"
        assert out["errors_injected"] == 3 * len(cases) - 1
    assert out["checked_replies"] > 0
    return out
