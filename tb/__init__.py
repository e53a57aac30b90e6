"""cocotb (2.x) testbenches and the glue that runs them on Icarus and Verilator."""
