"""docs/host-protocol.md's sequence example is the exchange this code produces: the host driver and the
golden board model (a 2 x 3 board with controller) regenerate it byte for byte. UPDATE_DOC=1 rewrites the
block in the document instead of failing."""
from __future__ import annotations

import os
import re
from pathlib import Path

from contract.host_protocol import Cmd, Err
from golden.link.board_model import BoardModel
from host import CallbackTransport, SBEBoard
from host import errors as E
from host.driver import Mode
from host.frames import decode_reply, decode_request

DOC = Path(__file__).resolve().parents[2] / "docs" / "host-protocol.md"
BEGIN, END = "<!-- sequence-example:begin -->", "<!-- sequence-example:end -->"


class Recorder(CallbackTransport):
    def __init__(self, device):
        super().__init__(device)
        self.log = []

    def write(self, data):
        self.log.append(("host -> board", bytes(data)))
        before = len(self._rx)
        super().write(data)
        if len(self._rx) > before:
            self.log.append(("board -> host", bytes(self._rx[before:])))


def describe(direction: str, wire: bytes) -> str:
    if wire == b"\x00":
        return f"{direction}  00                        (a lone delimiter: ends any partial frame)"
    if direction.startswith("host"):
        cmd, seq, payload = decode_request(wire)
        what = f"{Cmd(cmd).name} seq={seq} payload={payload.hex(' ') or '-'}"
    else:
        r = decode_reply(wire)
        what = f"{Err(r.status).name} {Cmd(r.cmd).name} seq={r.seq} payload={r.payload.hex(' ') or '-'}"
    return f"{direction}  {what}\n    wire: {wire.hex(' ')}"


def example() -> str:
    t = Recorder(BoardModel(2, 3, controller=True, clk_hz=12_000_000))
    bd = SBEBoard(t)
    bd.identify()
    bd.configure(bl=15, mode=Mode.BL_MGMT)
    bd.batch([[8192, -4096, 0], [100, 200, -300]], [[16384, -2], [5, 7]], x_exps=[0, -1], delta_exps=[-3, -3])
    try:
        bd.request(Cmd.SAMPLE, bytes(3 + 2 * 4))          # one element short: BAD_LENGTH
    except E.BadLengthError:
        pass
    lines = [describe(d, w) for d, w in t.log]
    return "```text\n" + "\n".join(lines) + "\n```"


def test_the_documented_sequence_is_what_the_code_sends():
    text = DOC.read_text()
    m = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    assert m, f"{DOC} has no {BEGIN} ... {END} block"
    want = example()
    if os.environ.get("UPDATE_DOC") == "1":
        DOC.write_text(text[:m.start(1)] + want + text[m.end(1):])
        return
    assert m.group(1) == want, "docs/host-protocol.md's example is stale: rerun with UPDATE_DOC=1\n" + want
