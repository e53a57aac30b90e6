"""Bit-exact golden twins of the RTL blocks, one file per block and named like its hdl/ file (dot_product,
lfsr, scalar_unit, sbe_engine, sbe_layer, update_controller): the specification each block is tested
against, bit for bit. The twins of hdl/fixed_point.py and hdl/engine/float_alu.py are the primitives of
contract/fixed_point.py (rshift_round, saturate, FloatFormat), shared with the RTL."""
