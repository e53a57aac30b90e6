"""cocotb benches (`*_tb.py`), run on the generated Verilog by tb/runner.py."""
