"""Amaranth HDL of the SBE hardware: engine, update controller, tops, Verilog generation."""
