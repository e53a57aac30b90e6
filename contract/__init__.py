"""The contract layer: everything the golden models and the RTL must agree on, defined once.

Configurations (validated frozen dataclasses), stream and register layouts, enums (vector tags, status
bits, microcode segments), constants (LFSR taps and seeds, format limits), the fixed-point primitives and
the engine's microcode. This package imports nothing else of the project; `golden` and `hdl` both import
it and never each other (tests/project/test_layering.py enforces the direction).
"""
