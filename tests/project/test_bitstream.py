"""flow/bitstream.py without running the tools: argument checks (one line, exit 2), `program` saying
clearly that there is no bitstream or no loader, the ULX3S line pins, the board tops' clock/baud checks.
The full build is `make bitstream BOARD=...` (minutes; the slow test below runs the ULX3S one)."""
from __future__ import annotations

import json

import pytest

import flow.bitstream as fb
from hdl.board.ulx3s import ULX3STop, line_resources


def test_cli_rejects_a_parameter_of_the_other_board(monkeypatch, capsys):
    monkeypatch.setattr(fb, "build", lambda *a, **k: pytest.fail("built before rejecting the arguments"))
    with pytest.raises(SystemExit) as e:
        fb.main(["ulx3s", "--a", "8"])
    assert e.value.code == 2
    assert "ulx3s takes no --a" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        fb.main(["icebreaker", "--device", "85F"])
    assert "icebreaker takes no --device" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        fb.main(["nexys"])
    assert e.value.code == 2


def test_program_says_what_is_missing(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(fb, "BUILD", tmp_path)
    assert fb.program("ulx3s") == 2
    assert "make bitstream BOARD=ulx3s" in capsys.readouterr().err
    (tmp_path / "bitstream" / "ulx3s").mkdir(parents=True)
    (tmp_path / "bitstream" / "ulx3s" / "top.bit").write_bytes(b"\xff")
    monkeypatch.setattr(fb.shutil, "which", lambda name: None)
    assert fb.program("ulx3s") == 3
    err = capsys.readouterr().err
    assert "openFPGALoader is not installed" in err and "nothing was loaded" in err


def test_ulx3s_lines_use_distinct_header_pins():
    (res,) = line_resources(8)
    pins = []
    for sub in res.ios:
        if hasattr(sub, "ios"):
            for io in sub.ios:
                if hasattr(io, "names"):
                    pins += list(io.names)
    assert len(pins) == 4 * 8 + 3 == len(set(pins))
    with pytest.raises(ValueError, match="lines"):
        ULX3STop(lines=20)


@pytest.mark.slow
def test_ulx3s_bitstream_builds_and_meets_its_clock(monkeypatch, tmp_path):
    monkeypatch.setattr(fb, "BUILD", tmp_path)
    entry = fb.build("ulx3s")
    assert entry["bitstream"] and entry["verdict"] == "meets", entry
    summary = json.loads((tmp_path / "bitstream" / "ulx3s" / "summary.json").read_text())
    assert list(summary.values())[0]["ecp5"]["clock_mhz"] == 12


def test_host_top_configs_construct():
    """flow/configs/host_top_*.json (the cocotb host-driver benches' tops) are valid configurations."""
    from flow.generate import CONFIG_DIR, check, load_config
    files = sorted(CONFIG_DIR.glob("host_top_*.json"))
    assert len(files) >= 2
    for f in files:
        top = check(load_config(f))
        assert top.divisor == 4                 # short simulations: 4 clocks per UART bit
    assert any(load_config(f)["params"].get("controller") for f in files)


from amaranth import Elaboratable  # noqa: E402


class _Blinky(Elaboratable):
    """A tiny board top (LED counter) to run the whole tool flow in seconds."""
    clk_hz = 12_000_000
    led = "led"             # the iCEBreaker's platform names its LEDs led_g / led_r

    def __init__(self, **params):
        pass

    def elaborate(self, platform):
        from amaranth import Module, Signal
        m = Module()
        led = platform.request(self.led, 0)
        count = Signal(20)
        m.d.sync += count.eq(count + 1)
        m.d.comb += led.o.eq(count[-1])
        return m


@pytest.mark.parametrize("board", ["ulx3s", "icebreaker"])
def test_flow_runs_the_tools_and_writes_the_report(monkeypatch, tmp_path, board):
    """The flow itself (plan, Yosys, nextpnr, pack, report) on a tiny top: a bitstream and a 'meets'."""
    real = fb._boards

    def boards(device="25F"):
        spec = real(device)
        spec[board] = {**spec[board], "top": _Blinky}
        return spec

    monkeypatch.setattr(fb, "_boards", boards)
    monkeypatch.setattr(fb, "BUILD", tmp_path)
    if board == "icebreaker":
        monkeypatch.setattr(_Blinky, "led", "led_g")
    entry = fb.build(board)
    assert entry["verdict"] == "meets" and entry["bitstream"], entry
    md = (tmp_path / "bitstream" / board / "summary.md").read_text()
    assert "| meets |" in md and "Clock 12 MHz" in md



def test_engine_only_host_top_config_is_the_icebreaker_build():
    """flow/configs/host_top_a8_b12_l1.json (the engine-only top of the cocotb host-link test and the
    bench) carries the iCEBreaker top's engine formats and HDL options, so the test runs the board's build."""
    from flow.generate import CONFIG_DIR, load_config
    from hdl.board.icebreaker import ENGINE_FORMATS, ENGINE_OPTIONS
    p = load_config(CONFIG_DIR / "host_top_a8_b12_l1.json")["params"]
    assert {k: p[k] for k in ENGINE_FORMATS} == ENGINE_FORMATS
    assert p["engine_options"] == ENGINE_OPTIONS
    assert {k: p[k] for k in fb.ICEBREAKER_DEFAULT} == fb.ICEBREAKER_DEFAULT
