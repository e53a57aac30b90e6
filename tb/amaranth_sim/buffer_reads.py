"""Amaranth-simulator check of block RAMs built with Yosys's `no_rw_check` (no read-during-write bypass):
the link's buffers (hdl/link/command_processor.py, cobs_encoder.py: their `buffer_ports`)."""
from __future__ import annotations


def watch_buffer_reads(dut, seen):
    """Testbench for a block whose block RAMs are built with no_rw_check (Yosys leaves out the
    read-during-write bypass, so a read that meets a write of its word returns undefined data on the
    board while the simulator returns the old word): for each (name, read port, write port, data used) of
    `dut.buffer_ports`, counts in seen[name] the cycles whose read data is used and the reads among them
    that met a write of their word in the cycle before (must stay 0)."""
    async def bench(ctx):
        ports = dut.buffer_ports
        sigs = [s for _, rd, wr, used in ports for s in (rd.addr, wr.en, wr.addr, used)]
        for name, *_ in ports:
            seen[name] = {"used": 0, "hazards": 0}
        prev = None
        async for _, _, *vals in ctx.tick().sample(*sigs):
            for j, (name, *_) in enumerate(ports):
                used = vals[4 * j + 3]
                if used and prev is not None:
                    raddr, wen, waddr, _ = prev[4 * j:4 * j + 4]
                    seen[name]["used"] += 1
                    seen[name]["hazards"] += int(bool(wen) and waddr == raddr)
            prev = vals
    return bench
