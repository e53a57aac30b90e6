"""Bit-exact golden twins of the RTL blocks, one file per block and named like its hdl/ file: the
specification each block is tested against, bit for bit."""
