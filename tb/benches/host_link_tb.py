"""cocotb (2.x) bench: the host driver (host/driver.py, unchanged) talks through a simulated UART
(tb/drivers/uart_transport.py, cocotbext-uart) to a board top's generated Verilog, and every reply the
top sends is checked byte for byte against the golden command processor (golden/link/board_model.py)
fed the same bytes; updates are checked against the golden engine / layer.

Configuration (bench_params):
    board         the top's parameters (hdl/link/host_top.py HostTop: a, b, lanes, controller, seed, clk_hz,
                  baud, led_stretch, engine and ctrl_ parameters) = BoardModel's
    pins          {"clk", "rst", "rx", "tx"}: the top's port names (default clk, rst, rx, tx); a
                  `slot_ready` input (controller tops) is held at 1
    golden_board  true: the DUT is UartWireStub (below) and the board is the golden model on its
                  board_rx/board_tx pins (checks the bench, the UART transport and the bridge on their own)
    batches, batch_size   recorded digits-trainer batches to stream (golden/link/recorded_batches.py)
    errors        inject every case of golden/link/bad_requests.py, each answered with its error and
                  changing nothing: "all" each case in each board state (idle, batch open, update
                  waiting; needs 3 batches of >= 2 samples), "rotate" (or true) each case once, the
                  states taking turns (NOT_READY only where no update is held: with a batch open)
    registers     controller tops: register values per batch, cycled ([lr_mant, lr_exp, bl, mode], ...)
    timeout       the driver's per-attempt timeout (s of simulated time)
    results       write a JSON file there: simulated seconds and samples per batch, bytes each way

Twin rule for STATUS: the golden model finishes a batch's read-out (and a controller write) inside the
SAMPLE that closes it; the RTL takes cycles, during which its counters (BATCHES, WRITES), sample count
and controller status may lag. A STATUS reply of the top that differs from the model's is accepted only
when it shows ENGINE_BUSY or CONTROLLER_BUSY and the model's does not, with the same ERRORS count
(counted as `transient`); before each injected bad request the bench polls STATUS until the top's reply
equals the model's byte for byte (settled), and every other reply must always be equal.
"""
import json
import struct

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotb.utils import get_sim_time
from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from cocotbext.uart import UartSink, UartSource

from contract.host_protocol import STATUS_FORMAT, Cmd, Err, Reg, StatusFlag
from golden.link.bad_requests import bad_requests
from golden.link.board_model import BoardModel
from golden.link.recorded_batches import recorded_batches
from golden.rtl.sbe_engine import SBEFixedEngine
from golden.rtl.sbe_layer import SBELayer
from host.driver import SBEBoard
from host.frames import decode_reply
from host.transport import DELIMITER, Transport
from tb.drivers.reset import reset
from tb.drivers.uart_transport import UartTransport, run_blocking
from tb.runner import bench_params


class UartWireStub(wiring.Component):
    """The DUT of golden_board runs: two registered wires, host rx -> board_rx and board_tx -> host tx
    (idle high), the port names of the board top."""
    rx: In(1, init=1)
    tx: Out(1, init=1)
    board_rx: Out(1, init=1)
    board_tx: In(1, init=1)

    def elaborate(self, platform):
        m = Module()
        m.d.sync += [self.board_rx.eq(self.rx), self.tx.eq(self.board_tx)]
        return m


class TwinCheck(Transport):
    """A transport wrapper: every byte written also goes to the golden board model; every frame read
    must equal the model's next reply (the STATUS twin rule above)."""

    def __init__(self, inner: Transport, model: BoardModel):
        self.inner, self.model = inner, model
        self.expected: list[bytes] = []
        self.transient = 0
        self.checked = 0
        self.last_exact = True

    def write(self, data: bytes) -> None:
        out = self.model.feed(data)
        while out:
            k = out.index(DELIMITER[0])
            self.expected.append(out[:k + 1])
            out = out[k + 1:]
        self.inner.write(data)

    def read_frame(self, timeout: float):
        got = self.inner.read_frame(timeout)
        if got is None:
            return None
        assert self.expected, f"the top sent a frame the golden board did not: {got.hex()}"
        want = self.expected.pop(0)
        self.checked += 1
        self.last_exact = got == want
        if got != want:
            g, w = decode_reply(got), decode_reply(want)
            if (g.status, g.cmd, g.seq) == (w.status, w.cmd, w.seq) == (Err.OK, Cmd.STATUS, w.seq):
                gf, *_, ge = struct.unpack(STATUS_FORMAT, g.payload)
                wf, *_, we = struct.unpack(STATUS_FORMAT, w.payload)
                busy = StatusFlag.ENGINE_BUSY | StatusFlag.CONTROLLER_BUSY
                if gf & busy & ~wf and ge == we:
                    self.transient += 1
                    return got
            raise AssertionError(f"reply differs from the golden board's:\n  top    {got.hex()} {g}\n"
                                 f"  golden {want.hex()} {w}")
        return got

    def pause(self, seconds: float) -> None:
        self.inner.pause(seconds)

    def discard_input(self) -> None:
        self.inner.discard_input()


def board_params(p: dict) -> dict:
    """The board model's parameters: the top's, without SBEEngine's HDL-only `engine_options` (the golden
    model has none: the results and the ID payload do not depend on them)."""
    return {k: v for k, v in p["board"].items() if k != "engine_options"}


def session(transport: UartTransport, p: dict) -> dict:
    """The host side, blocking (runs in a cocotb bridge thread)."""
    bp = board_params(p)
    t_start = get_sim_time("ns")
    twin = TwinCheck(transport, BoardModel(**bp))
    clk_s = 1 / bp["clk_hz"]
    bd = SBEBoard(twin, timeout=p.get("timeout", 4000 * clk_s), poll_interval=200 * clk_s, ready_timeout=0.2,
                  baud=bp.get("baud", 3_000_000), retries=1)
    info = bd.identify()
    cfg = twin.model.cfg
    assert (info.a, info.b, info.has_controller) == (cfg.a, cfg.b, twin.model.layer is not None)
    controller = info.has_controller
    core = {k: v for k, v in bp.items() if k not in ("controller", "clk_hz", "baud", "led_stretch")}
    golden = SBELayer(**core) if controller else SBEFixedEngine(cfg)
    batches = recorded_batches(cfg, p.get("batches", 2), batch_size=p.get("batch_size", 4))
    regs = p.get("registers", [[200, -14, 15, 2]])
    per_batch = []
    errors_seen = 0
    cases = bad_requests(cfg.a, cfg.b, 0x55, controller=twin.model.ctrl_cfg) if p.get("errors") else {}

    def settle():
        """Poll STATUS until the top's reply equals the golden board's (read-out and write finished)."""
        for _ in range(10_000):
            st = bd.status()
            if twin.last_exact:
                return st
            transport.pause(bd.poll_interval)
        raise AssertionError(f"the top never settled to the golden board's STATUS ({st})")

    injected, deferred = [], []
    rounds = 3 if p.get("errors") == "all" else 1

    def inject(names):
        nonlocal errors_seen
        for name in names:
            wire, err, echo = cases[name]
            if err == Err.NOT_READY and twin.model.update is not None:
                deferred.append(name)           # READ_UPDATE succeeds while an update waits or is held
                continue                        # (until the next SAMPLE): later, with a batch open
            injected.append(name)
            before, st0 = twin.model.snapshot(), settle()
            twin.write(wire)
            got = twin.read_frame(bd.timeout + 20 * len(wire) / bd.baud)
            assert got is not None, f"{name}: no reply"
            r = decode_reply(got)
            assert (r.status, r.cmd, r.seq) == (err, *echo), f"{name}: {r}"
            errors_seen += 1
            assert twin.model.snapshot() == before, name
            st1 = settle()
            assert st1 == type(st0)(**{**st0.__dict__, "errors": st0.errors + 1}), f"{name}: {st0} -> {st1}"

    names = list(cases)
    for k, (xs, ds, xe, de) in enumerate(batches):
        if controller:
            lr_mant, lr_exp, bl, mode = regs[k % len(regs)]
            bd.configure(lr_mant=lr_mant, lr_exp=lr_exp, bl=bl, mode=mode)
        t0 = get_sim_time("ns")
        n = len(xs)
        for j in range(n):
            if cases and j == 1 and k < rounds:
                again, deferred[:] = list(deferred), []
                inject(names[k::3] + again)               # with a batch open (ERRORS +1 each)
            bd.sample(xs[j], ds[j], int(xe[j]), int(de[j]), last=j == n - 1)
        bd.wait_update()
        if cases and k < rounds:
            inject(names[(k + 1) % 3::3])                 # with the update waiting
        up = bd.read_update()
        t1 = get_sim_time("ns")
        if controller:
            want, wr = golden.batch(zip(xs, ds, xe, de), lr_mant=lr_mant, lr_exp=lr_exp, bl=bl, det=bool(mode & 1),
                                    bl_mgmt=bool(mode & 2), two_phase=bool(mode & 4))
        else:
            for s in zip(xs, ds, xe, de):
                golden.sample(*s)
            want = golden.end_batch()
        assert up.as_dict() == want, f"batch {k}: update differs from the golden engine's"
        if cases and k < rounds:
            inject(names[(k + 2) % 3::3])                 # idle (the update held for re-reading)
        per_batch.append({"samples": n, "sim_s": (t1 - t0) * 1e-9})
    st = settle()
    assert st.batches == len(batches) and st.errors == errors_seen, st
    if cases:
        # driver-level: BUSY (register write with a batch open, on controller tops), NOT_READY
        xs, ds, xe, de = batches[0]
        bd.sample(xs[0], ds[0], int(xe[0]), int(de[0]))
        again, deferred[:] = list(deferred), []
        inject(again)                                     # NOT_READY cases still owed: a batch is open
        if controller:
            try:
                bd.write_reg(Reg.BL, 3)
                raise AssertionError("WRITE_REG with a batch open was accepted")
            except Exception as e:  # noqa: BLE001 - the exception type is the check
                assert type(e).__name__ == "BusyError", e
        bd.clear()
        assert bd.status().samples == 0
    return {"batches": per_batch, "checked_replies": twin.checked, "transient_status": twin.transient,
            "errors_injected": errors_seen, "cases_injected": sorted(set(injected)), "bytes_to_board": transport.sent, "bytes_from_board": transport.received,
            "retries": bd.stats.retries, "total_sim_s": (get_sim_time("ns") - t_start) * 1e-9}


async def golden_board(dut, model: BoardModel, baud: int):
    """The golden board on the stub's board_rx (bytes from the host) / board_tx (replies) pins."""
    sink = UartSink(dut.board_rx, baud=baud)
    source = UartSource(dut.board_tx, baud=baud)
    for side in (sink, source):
        side.log.setLevel("WARNING")
    while True:
        data = await sink.read()
        out = model.feed(bytes(data))
        if out:
            await source.write(out)


@cocotb.test()
async def host_driver_against_top(dut):
    p = bench_params()
    bp = board_params(p)
    pins = {"clk": "clk", "rst": "rst", "rx": "rx", "tx": "tx", **p.get("pins", {})}
    clk = getattr(dut, pins["clk"])
    baud = bp.get("baud", 3_000_000)
    cocotb.start_soon(Clock(clk, 2 * round(0.5e12 / bp["clk_hz"]), unit="ps").start())   # even: 50 % duty
    transport = UartTransport(getattr(dut, pins["rx"]), getattr(dut, pins["tx"]), baud)
    if p.get("golden_board"):
        cocotb.start_soon(golden_board(dut, BoardModel(**bp), baud))
    if hasattr(dut, "slot_ready"):
        dut.slot_ready.value = 1          # the line drivers take every slot at once
    if hasattr(dut, pins["rst"]):
        await reset(dut)
    await ClockCycles(clk, 10)
    out = await run_blocking(session, transport, p)
    dut._log.info("host link: %s", out)
    if p.get("results"):
        with open(p["results"], "w") as f:
            json.dump(out, f)
