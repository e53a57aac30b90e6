"""Amaranth RTL of the SBE hardware, one block per file: the SBE engine and its parts (scalar unit, float
ALU, fixed-point helpers), the crossbar update controller and its parts, LFSRs, the layer/network tops.
Imports only `contract`; the Verilog/lint/synthesis flow around these blocks lives in flow/."""
