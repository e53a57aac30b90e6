"""cocotb regression of the host link: the host driver (host/driver.py) streams recorded training batches
and injects every bad-input case through a simulated UART into the board top's generated Verilog, on
Icarus and Verilator; every reply is checked byte for byte against the golden command processor and
every update against the golden engine/layer (tb/benches/host_link_tb.py).

`test_host_link_golden_board` runs the same bench with the golden board model on the far side of a wire
stub: it checks the bench, the UART transport and the thread bridge on their own."""
import json

import pytest

from tb.benches.host_link_tb import UartWireStub, board_params
from tb.runner import SIMULATORS, run_bench

CLOCK_HZ = 12_000_000
#: The board tops of the flow (flow/configs): with controller (the default run) and engine only (the
#: iCEBreaker's build: hdl/board/icebreaker.py ENGINE_FORMATS and ENGINE_OPTIONS).
TOPS = {"ctrl": "host_top_ctrl_a8_b8_l1", "engine": "host_top_a8_b12_l1"}


def top_params(name: str) -> dict:
    from flow.generate import CONFIG_DIR, load_config
    return load_config(CONFIG_DIR / f"{TOPS[name]}.json")["params"]


#: The default run: each simulator on one top (together both tops), a short case each; the other pairs
#: in `make test-all`.
DEFAULT = {("icarus", "ctrl"), ("verilator", "engine")}
SHORT = [pytest.param(sim, top, id=f"{top}-{sim}", marks=[] if (sim, top) in DEFAULT else [pytest.mark.slow])
         for top in TOPS for sim in SIMULATORS]


@pytest.mark.cocotb
@pytest.mark.parametrize("sim,top", SHORT)
def test_host_link_top(sim, top):
    """Short case: two recorded batches of three samples and every bad request once (the board states
    taking turns)."""
    from flow.generate import build_component
    params = top_params(top)
    out = run_link(sim, build_component("host_top", params), "host_top", f"host_link_{top}",
                   {"board": params, "batches": 2, "batch_size": 3, "errors": "rotate"})
    assert out["retries"] == 0


@pytest.mark.slow
@pytest.mark.cocotb
@pytest.mark.parametrize("top", list(TOPS))
def test_host_link_top_long(sim, top):
    """Long case: 40 recorded batches of 16 samples; every bad request in each board state."""
    from flow.generate import build_component
    params = top_params(top)
    run_link(sim, build_component("host_top", params), "host_top", f"host_link_{top}_long",
             {"board": params, "batches": 40, "batch_size": 16, "errors": "all"})


@pytest.mark.slow
@pytest.mark.cocotb
def test_host_link_golden_board(sim):
    """The bench, the UART transport and the bridge on their own: the golden board behind a wire stub."""
    board = dict(a=6, b=10, controller=True, clk_hz=CLOCK_HZ)
    out = run_link(sim, UartWireStub(), "uart_wire_stub", "host_link_golden_board",
                   {"board": board, "golden_board": True, "batches": 3, "batch_size": 2, "errors": "all"})
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
    b = board_params(params)
    assert [r["samples"] for r in out["batches"]] == [params["batch_size"]] * params["batches"]
    if params.get("errors"):
        from golden.link.board_model import BoardModel
        cases = bad_requests(b["a"], b["b"], controller=BoardModel(**b).ctrl_cfg)
        # each case in each of the three states (idle, batch open, update waiting) but NOT_READY where an update is held
        assert out["cases_injected"] == sorted(cases)
        if params["errors"] == "all":   # each case in each of the three states (NOT_READY twice when idle)
            assert out["errors_injected"] == 3 * len(cases)
    assert out["checked_replies"] > 0
    return out
